package gateway

import (
	"fmt"
	"testing"
	"time"
)

// TestServedReportPause: each refusal in a row doubles the pause up to
// MaxProbeAfter; a refusal of a report sent before the pause began does
// not extend it; a delivered report ends the backoff.
func TestServedReportPause(t *testing.T) {
	var s servedReports
	s.policy = ServedReportPolicy{ProbeAfter: 15 * time.Second, MaxProbeAfter: time.Minute}
	s.policy.defaults()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	steps := []struct {
		name       string
		advance    time.Duration
		event      string // "refused", "delivered" or "" (only look)
		wantPause  time.Duration
		wantWanted bool // after the event
	}{
		{"reports are wanted at first", 0, "", 0, true},
		{"a refusal pauses for ProbeAfter", 0, "refused", 15 * time.Second, false},
		{"a late refusal does not extend the pause", 10 * time.Second, "refused", 0, false},
		{"the pause ends on time", 5 * time.Second, "", 0, true},
		{"a refusal in a row doubles", 0, "refused", 30 * time.Second, false},
		{"and again", 30 * time.Second, "refused", time.Minute, false},
		{"capped at MaxProbeAfter", time.Minute, "refused", time.Minute, false},
		{"still paused just before the end", time.Minute - time.Nanosecond, "", 0, false},
		{"a delivered report ends the backoff", time.Nanosecond, "delivered", 0, true},
		{"the next refusal pauses for ProbeAfter again", 0, "refused", 15 * time.Second, false},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		var pause time.Duration
		switch st.event {
		case "refused":
			pause = s.refused(now)
		case "delivered":
			s.delivered()
		}
		if pause != st.wantPause {
			t.Fatalf("%s: pause %v, want %v", st.name, pause, st.wantPause)
		}
		if got := s.wanted(clock); got != st.wantWanted {
			t.Fatalf("%s: reports wanted %v, want %v", st.name, got, st.wantWanted)
		}
	}
}

// TestServedReportPolicyDefaults: zero fields take the defaults; a
// maximum below the first pause is raised to it.
func TestServedReportPolicyDefaults(t *testing.T) {
	cases := []struct {
		name string
		in   ServedReportPolicy
		want ServedReportPolicy
	}{
		{"zero", ServedReportPolicy{}, ServedReportPolicy{ProbeAfter: DefaultReportProbeAfter, MaxProbeAfter: DefaultMaxReportProbeAfter,
			RetryBuffer: DefaultReportRetryBuffer, RetryDelay: DefaultReportRetryDelay, RetryWindow: DefaultReportRetryWindow}},
		{"max below the first pause", ServedReportPolicy{ProbeAfter: 10 * time.Minute, MaxProbeAfter: time.Minute, RetryBuffer: 4},
			ServedReportPolicy{ProbeAfter: 10 * time.Minute, MaxProbeAfter: 10 * time.Minute,
				RetryBuffer: 4, RetryDelay: DefaultReportRetryDelay, RetryWindow: DefaultReportRetryWindow}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in
			got.defaults()
			if got.After == nil {
				t.Fatal("no After")
			}
			got.After = nil
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
				t.Fatalf("%+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestServedReportFollowsItsLookup: a report is sent exactly when its
// speculative lookup asked for one, whatever the pause state when the
// request is answered, so that a lookup is counted once.
func TestServedReportFollowsItsLookup(t *testing.T) {
	cases := []struct {
		name      string
		paused    bool           // reports are paused when the lookup starts
		meanwhile func(*Gateway) // between the lookup and the answer
		want      bool           // asked and reported
	}{
		{"a pause that began after the lookup asked: reported", false, func(g *Gateway) { g.served.refused(g.now()) }, true},
		{"a pause that ended after the lookup did not ask: not reported", true, func(g *Gateway) { g.served.delivered() }, false},
		{"no change: reported", false, func(*Gateway) {}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakePartitionsCache(&fakeCache{})
			gate := make(chan struct{})
			spec := testSpec()
			spec.StageTimeout = 10 * time.Second // the gate, not a deadline, orders the test
			g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Cache: c,
				Classifier: gatedClassifier{&fakeClassifier{dec: &Decision{Name: "business"}}, gate}})
			if tc.paused {
				g.served.refused(g.now())
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"q"}]}`)
			}()
			<-c.arrived
			tc.meanwhile(g)
			close(gate)
			<-done
			g.Wait()
			c.mu.Lock()
			defer c.mu.Unlock()
			if asked := c.specQ[0].ReportServed; asked != tc.want {
				t.Fatalf("the lookup asked for a report: %v, want %v", asked, tc.want)
			}
			if got := len(c.reports) == 1; got != tc.want || len(c.reports) > 1 {
				t.Fatalf("%d served reports, want reported %v", len(c.reports), tc.want)
			}
		})
	}
}
