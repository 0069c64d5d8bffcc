package apimode

// The backends here are real servers on loopback: fakeLLM (an httptest
// server imitating an LLM, see fakes_test.go), resetServer (a TCP listener
// that accepts and drops every connection, like a crashed backend whose port
// is still bound) and closed httptest servers (connection refused).

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// resetServer accepts connections and closes them at once, counting them.
type resetServer struct {
	ln      net.Listener
	accepts atomic.Int64
	wg      sync.WaitGroup
}

func newResetServer(t *testing.T) *resetServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &resetServer{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepts.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *resetServer) endpoint() string { return s.ln.Addr().String() }

// closedAddr is the address of an httptest server that was started and
// closed: connections are refused.
func closedAddr() string {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type failoverFixture struct {
	url   string
	reg   *prometheus.Registry
	clock *clock
	srv   *Server
}

// newFailoverFixture serves spec (weighted choice: always the first
// backend in rotation) with a settable clock and a real metrics registry.
func newFailoverFixture(t *testing.T, spec routes.Spec, st gateway.Stages, timeout time.Duration) *failoverFixture {
	t.Helper()
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	gm, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	gw := gateway.New(tbl, st, log, gateway.WithMetrics(gm))
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	srv := New(gw, log, WithRandom(func(int) int { return 0 }), WithClock(clk.now), WithUpstreamObserver(gm))
	hs := httptest.NewServer(srv.Handler(timeout))
	t.Cleanup(hs.Close)
	t.Cleanup(gw.Wait)
	return &failoverFixture{url: hs.URL, reg: reg, clock: clk, srv: srv}
}

// chat sends a chat request for model and returns the status and body.
func (f *failoverFixture) chat(t *testing.T, model string, stream bool) (int, string) {
	t.Helper()
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"q"}]`
	if stream {
		body += `,"stream":true`
	}
	resp, err := http.Post(f.url+"/v1/chat/completions", "application/json", strings.NewReader(body+"}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return resp.StatusCode, string(out)
}

// metric returns the value of the series name{labels} (0 when absent).
func (f *failoverFixture) metric(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		v, ok := want[lp.GetName()]
		if !ok {
			continue
		}
		if v != lp.GetValue() {
			return false
		}
		n++
	}
	return n == len(want)
}

func TestFailedEndpointNotRetriedWithinRequest(t *testing.T) {
	// The QA case: the fallback model shares the dead server. Model m:
	// dead, then a backend answering 500; fallback small: the same dead
	// server, then a live one. The dead server must be tried once.
	dead := newResetServer(t)
	sick := newFakeLLM(t, "sick", "status:500")
	live := newFakeLLM(t, "live", "ok")
	spec := baseSpec()
	spec.Models = []routes.Model{
		{Name: "m", RetryCount: 5, Backends: []routes.Backend{{Name: "dead", Endpoint: dead.endpoint(), Weight: 1}, backend("sick", sick)}},
		{Name: "small", Backends: []routes.Backend{{Name: "dead-too", Endpoint: dead.endpoint(), Weight: 1}, backend("live", live)}},
	}
	spec.Decisions = []routes.Decision{{Name: "d", ModelRefs: []routes.ModelRef{{Model: "m"}}}}
	fx := newFailoverFixture(t, spec, gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "d"}}}, 10*time.Second)
	status, body := fx.chat(t, "auto", false)
	if status != http.StatusOK || !strings.Contains(body, "answer from live") {
		t.Fatalf("%d %s", status, body)
	}
	if n := dead.accepts.Load(); n != 1 {
		t.Fatalf("dead server accepted %d connections in one request, want 1", n)
	}
	if n := len(sick.requests()); n != 1 {
		t.Fatalf("sick backend got %d requests, want 1", n)
	}
	if got := fx.metric(t, metrics.GatewayAttemptFailures, map[string]string{"model": "m", "backend": "dead", "reason": metrics.ReasonUpstreamFailed}); got != 1 {
		t.Errorf("attempt failures {m,dead,upstream_unreachable} = %v, want 1", got)
	}
	if got := fx.metric(t, metrics.GatewayAttemptFailures, map[string]string{"model": "m", "backend": "sick", "reason": metrics.ReasonUpstream5xx}); got != 1 {
		t.Errorf("attempt failures {m,sick,upstream_5xx} = %v, want 1", got)
	}
}

func TestOutlierEjectionAcrossRequests(t *testing.T) {
	dead := newResetServer(t)
	live := newFakeLLM(t, "live", "ok")
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", RetryCount: 1,
		Outlier:  routes.Outlier{Consecutive5xx: 3, BaseEjectionTime: 30 * time.Second},
		Backends: []routes.Backend{{Name: "dead", Endpoint: dead.endpoint(), Weight: 1}, backend("live", live)}}}
	fx := newFailoverFixture(t, spec, gateway.Stages{}, 10*time.Second)
	labels := map[string]string{"model": "small", "backend": "dead"}
	send := func(n int) {
		t.Helper()
		for range n {
			if status, body := fx.chat(t, "small", false); status != http.StatusOK || !strings.Contains(body, "answer from live") {
				t.Fatalf("%d %s", status, body)
			}
		}
	}
	steps := []struct {
		name        string
		advance     time.Duration
		requests    int
		wantAccepts int64
		wantEjected float64
		wantCount   float64
	}{
		{"three failures eject the dead backend", 0, 10, 3, 1, 1},
		{"still ejected just before the ejection ends", 30*time.Second - time.Nanosecond, 5, 3, 1, 1},
		{"back in rotation, ejected again after three failures", time.Nanosecond, 5, 6, 1, 2},
		{"the second ejection lasts twice as long", 30 * time.Second, 5, 6, 1, 2},
		{"back after 60s", 30 * time.Second, 1, 7, 0, 2},
	}
	for _, st := range steps {
		fx.clock.advance(st.advance)
		send(st.requests)
		if n := dead.accepts.Load(); n != st.wantAccepts {
			t.Fatalf("%s: dead backend accepted %d connections, want %d", st.name, n, st.wantAccepts)
		}
		if got := fx.metric(t, metrics.GatewayEjected, labels); got != st.wantEjected {
			t.Errorf("%s: ejected gauge = %v, want %v", st.name, got, st.wantEjected)
		}
		if got := fx.metric(t, metrics.GatewayEjections, labels); got != st.wantCount {
			t.Errorf("%s: ejections = %v, want %v", st.name, got, st.wantCount)
		}
	}
	if n := len(live.requests()); n != 26 {
		t.Errorf("live backend got %d requests, want 26", n)
	}
}

func TestLastHealthyBackendNeverEjected(t *testing.T) {
	a, b := newResetServer(t), newResetServer(t)
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", RetryCount: 1,
		Outlier: routes.Outlier{Consecutive5xx: 2, MaxEjectionPercent: 100},
		Backends: []routes.Backend{{Name: "a", Endpoint: a.endpoint(), Weight: 1},
			{Name: "b", Endpoint: b.endpoint(), Weight: 1}}}}
	fx := newFailoverFixture(t, spec, gateway.Stages{}, 10*time.Second)
	for i := range 6 {
		if status, body := fx.chat(t, "small", false); status != http.StatusBadGateway {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	ejections := fx.metric(t, metrics.GatewayEjections, map[string]string{"model": "small", "backend": "a"}) +
		fx.metric(t, metrics.GatewayEjections, map[string]string{"model": "small", "backend": "b"})
	if ejections != 1 {
		t.Fatalf("%v ejections, want exactly 1 (the last backend in rotation stays)", ejections)
	}
	// a is ejected after request 2; b, the last one in rotation, takes
	// every later request.
	if na, nb := a.accepts.Load(), b.accepts.Load(); na != 2 || nb != 6 {
		t.Fatalf("accepts a=%d b=%d, want 2 and 6", na, nb)
	}
	if got := fx.metric(t, metrics.RequestErrors, map[string]string{"model": "small", "reason": metrics.ReasonUpstreamFailed}); got != 6 {
		t.Errorf("llm_request_errors_total{small,upstream_unreachable} = %v, want 6", got)
	}
}

func TestSlowBackendFailsOverBeforeListenerTimeout(t *testing.T) {
	// retry_count 1: two attempts, so the first gets a third of the 3s
	// listener timeout for its first byte.
	slow := newFakeLLM(t, "slow", "hang")
	fast := newFakeLLM(t, "fast", "ok")
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", RetryCount: 1, Backends: []routes.Backend{backend("slow", slow), backend("fast", fast)}}}
	fx := newFailoverFixture(t, spec, gateway.Stages{}, 3*time.Second)
	status, body := fx.chat(t, "small", false)
	if status != http.StatusOK || !strings.Contains(body, "answer from fast") {
		t.Fatalf("%d %s", status, body)
	}
	if n := len(slow.requests()); n != 1 {
		t.Fatalf("slow backend got %d requests, want 1", n)
	}
	if got := fx.metric(t, metrics.GatewayAttemptFailures, map[string]string{"model": "small", "backend": "slow", "reason": metrics.ReasonTimeout}); got != 1 {
		t.Errorf("attempt failures {small,slow,timeout} = %v, want 1", got)
	}
	if got := fx.metric(t, metrics.RequestErrors, map[string]string{"model": "small"}); got != 0 {
		t.Errorf("a request that succeeded counted %v errors", got)
	}
}

// pausedStream streams its first chunk at once and the rest once release
// is closed (an LLM pausing between tokens).
type pausedStream struct {
	release chan struct{}
	reqs    atomic.Int64
}

func (p *pausedStream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.reqs.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "text/event-stream")
	chunk := func(s string) {
		_, _ = io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"small","choices":[{"index":0,"delta":{"content":"`+s+`"},"finish_reason":null}]}`+"\n\n")
		w.(http.Flusher).Flush()
	}
	chunk("first")
	select {
	case <-p.release:
	case <-r.Context().Done():
		return
	}
	chunk("second")
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}

// manualTimers replaces the per-attempt timers; fireAll fires every timer
// started so far (a stopped one does nothing, like time.Timer).
type manualTimers struct {
	mu     sync.Mutex
	timers []*manualTimer
}

type manualTimer struct {
	mu            sync.Mutex
	f             func()
	fired, stoppd bool
}

func (m *manualTimers) afterFunc(_ time.Duration, f func()) func() bool {
	t := &manualTimer{f: f}
	m.mu.Lock()
	m.timers = append(m.timers, t)
	m.mu.Unlock()
	return func() bool {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.fired {
			return false
		}
		t.stoppd = true
		return true
	}
}

func (m *manualTimers) fireAll() int {
	m.mu.Lock()
	ts := append([]*manualTimer(nil), m.timers...)
	m.mu.Unlock()
	for _, t := range ts {
		t.mu.Lock()
		run := !t.fired && !t.stoppd
		t.fired = t.fired || run
		t.mu.Unlock()
		if run {
			t.f()
		}
	}
	return len(ts)
}

func TestStreamPastFirstByteIsNotFailedOver(t *testing.T) {
	// Once the first byte came the per-attempt deadline no longer applies:
	// the client reads the first chunk, the per-attempt deadline passes,
	// then the stream finishes, from the same backend.
	p := &pausedStream{release: make(chan struct{})}
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	other := newFakeLLM(t, "other", "stream")
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", RetryCount: 1, Backends: []routes.Backend{
		{Name: "paused", Endpoint: hs.Listener.Addr().String(), Weight: 1}, backend("other", other)}}}
	fx := newFailoverFixture(t, spec, gateway.Stages{}, 10*time.Second)
	timers := &manualTimers{}
	fx.srv.afterFunc = timers.afterFunc
	resp, err := http.Post(fx.url+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"small","stream":true,"messages":[{"role":"user","content":"q"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	line, err := rd.ReadString('\n')
	if err != nil || !strings.Contains(line, "first") {
		t.Fatalf("first line %q: %v", line, err)
	}
	if n := timers.fireAll(); n != 1 {
		t.Fatalf("%d per-attempt timers started, want 1", n)
	}
	close(p.release)
	rest, err := io.ReadAll(rd)
	if err != nil || !strings.Contains(string(rest), "second") || !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Fatalf("rest %q: %v", rest, err)
	}
	if n := len(other.requests()); n != 0 {
		t.Fatalf("other backend got %d requests after the stream started", n)
	}
}

func TestFirstByteTimeoutFailsOver(t *testing.T) {
	// The per-attempt deadline fires while the first backend holds the
	// request: the attempt is cancelled and the second backend answers.
	hold := newFakeLLM(t, "hold", "hang")
	fast := newFakeLLM(t, "fast", "ok")
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", RetryCount: 1, Backends: []routes.Backend{backend("hold", hold), backend("fast", fast)}}}
	fx := newFailoverFixture(t, spec, gateway.Stages{}, 10*time.Second)
	timers := &manualTimers{}
	fx.srv.afterFunc = timers.afterFunc
	arrived := make(chan struct{})
	hold.mu.Lock()
	hold.onRequest = func() { close(arrived) }
	hold.mu.Unlock()
	go func() {
		<-arrived
		timers.fireAll()
	}()
	status, body := fx.chat(t, "small", false)
	if status != http.StatusOK || !strings.Contains(body, "answer from fast") {
		t.Fatalf("%d %s", status, body)
	}
	if n := timers.fireAll(); n != 1 {
		t.Fatalf("%d per-attempt timers, want 1 (none on the last attempt)", n)
	}
	if got := fx.metric(t, metrics.GatewayAttemptFailures, map[string]string{"model": "small", "backend": "hold", "reason": metrics.ReasonTimeout}); got != 1 {
		t.Errorf("attempt failures {small,hold,timeout} = %v, want 1", got)
	}
}

func TestRequestErrorReasonOfLastTriedModel(t *testing.T) {
	// Every backend refuses: the request error is upstream_unreachable,
	// counted against the model tried last (the default model after the
	// decision's model), not upstream_5xx against the first.
	spec := baseSpec()
	spec.Models = []routes.Model{
		{Name: "large", RetryCount: 3, Backends: []routes.Backend{{Name: "l", Endpoint: closedAddr(), Weight: 1}}},
		{Name: "small", Backends: []routes.Backend{{Name: "s", Endpoint: closedAddr(), Weight: 1}}},
	}
	spec.Decisions = []routes.Decision{{Name: "d", ModelRefs: []routes.ModelRef{{Model: "large"}}}}
	fx := newFailoverFixture(t, spec, gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "d"}}}, 10*time.Second)
	if status, body := fx.chat(t, "auto", false); status != http.StatusBadGateway {
		t.Fatalf("%d %s", status, body)
	}
	cases := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"request error of the last model", map[string]string{"model": "small", "reason": metrics.ReasonUpstreamFailed}, 1},
		{"no 5xx error", map[string]string{"reason": metrics.ReasonUpstream5xx}, 0},
		{"nothing against the first model", map[string]string{"model": "large", "reason": metrics.ReasonUpstreamFailed}, 0},
	}
	for _, tc := range cases {
		if got := fx.metric(t, metrics.RequestErrors, tc.labels); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, b := range []map[string]string{{"model": "large", "backend": "l"}, {"model": "small", "backend": "s"}} {
		b["reason"] = metrics.ReasonUpstreamFailed
		if got := fx.metric(t, metrics.GatewayAttemptFailures, b); got != 1 {
			t.Errorf("attempt failures %v = %v, want 1", b, got)
		}
	}
}
