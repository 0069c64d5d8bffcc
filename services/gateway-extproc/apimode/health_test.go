package apimode

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

func TestMaxEjected(t *testing.T) {
	cases := []struct {
		name     string
		percent  int
		backends int
		want     int
	}{
		{"one backend is never ejected", 100, 1, 0},
		{"default 10% still ejects one of two", 0, 2, 1},
		{"100% keeps the last one", 100, 4, 3},
		{"50% of four", 50, 4, 2},
		{"10% of thirty", 10, 30, 3},
		{"rounded down but at least one", 30, 3, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := policyOf(&routes.Model{Outlier: routes.Outlier{MaxEjectionPercent: tc.percent}})
			if got := p.maxEjected(tc.backends); got != tc.want {
				t.Fatalf("maxEjected(%d) at %d%% = %d, want %d", tc.backends, tc.percent, got, tc.want)
			}
		})
	}
}

// recordingObserver records ejection events.
type recordingObserver struct{ events []string }

func (r *recordingObserver) UpstreamAttemptFailed(model, backend, reason string) {}
func (r *recordingObserver) UpstreamEjected(model, backend string, ejected bool) {
	r.events = append(r.events, fmt.Sprintf("%s/%s=%v", model, backend, ejected))
}

var _ UpstreamObserver = (*recordingObserver)(nil)

func TestOutliers(t *testing.T) {
	m := &routes.Model{Name: "m", Outlier: routes.Outlier{Consecutive5xx: 2, BaseEjectionTime: 100 * time.Second},
		Backends: []routes.Backend{{Name: "a", Endpoint: "a:1"}, {Name: "b", Endpoint: "b:1"}, {Name: "c", Endpoint: "c:1"}}}
	a, b := &m.Backends[0], &m.Backends[1]
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	obs := &recordingObserver{}
	o := newOutliers(clk.now, slog.New(slog.DiscardHandler), obs)
	t.Run("a success resets the consecutive count", func(t *testing.T) {
		o.failure(m, a)
		o.success(m, a)
		if o.failure(m, a) {
			t.Fatal("ejected after one failure since the last success")
		}
		o.success(m, a)
		if o.tracked.Load() != 0 {
			t.Fatalf("%d backends tracked after recovering", o.tracked.Load())
		}
	})
	t.Run("ejection grows and is capped", func(t *testing.T) {
		for i, want := range []time.Duration{100 * time.Second, 200 * time.Second, 300 * time.Second, 300 * time.Second} {
			o.failure(m, a)
			if !o.failure(m, a) {
				t.Fatalf("ejection %d did not happen", i+1)
			}
			clk.advance(want - time.Nanosecond)
			if !o.isEjected(m, a, clk.now()) {
				t.Fatalf("ejection %d ended before %v", i+1, want)
			}
			clk.advance(time.Nanosecond)
			if o.isEjected(m, a, clk.now()) {
				t.Fatalf("ejection %d lasted past %v", i+1, want)
			}
		}
	})
	t.Run("max ejection percent: only one of three at the default", func(t *testing.T) {
		o.failure(m, a)
		o.failure(m, a)
		o.failure(m, b)
		if o.failure(m, b) {
			t.Fatal("b ejected while a is: the default 10% allows one")
		}
		if !o.isEjected(m, a, clk.now()) || o.isEjected(m, b, clk.now()) {
			t.Fatal("want a ejected, b in rotation")
		}
	})
	t.Run("a revision without the backend ends its ejection", func(t *testing.T) {
		tbl, err := routes.Compile(routes.Spec{DefaultModel: "m", Models: []routes.Model{{Name: "m", Backends: m.Backends[1:]}}})
		if err != nil {
			t.Fatal(err)
		}
		o.prune(tbl)
		if o.ejected.Load() != 0 {
			t.Fatalf("%d ejected after prune", o.ejected.Load())
		}
	})
	want := "m/a=true m/a=false m/a=true m/a=false m/a=true m/a=false m/a=true m/a=false m/a=true m/a=false"
	if got := fmt.Sprint(obs.events); got != "["+want+"]" {
		t.Errorf("events %s, want [%s]", got, want)
	}
}

// BenchmarkPlan measures the endpoint pick on the request path: a decision
// with two models of three backends each, with nothing ejected and with one
// backend ejected.
func BenchmarkPlan(b *testing.B) {
	models := []routes.Model{
		{Name: "large", Backends: []routes.Backend{{Name: "l1", Endpoint: "10.0.0.1:8000", Weight: 3}, {Name: "l2", Endpoint: "10.0.0.2:8000", Weight: 1}, {Name: "l3", Endpoint: "10.0.0.3:8000", Weight: 1}}},
		{Name: "small", Backends: []routes.Backend{{Name: "s1", Endpoint: "10.0.1.1:8000", Weight: 1}, {Name: "s2", Endpoint: "10.0.1.2:8000", Weight: 1}, {Name: "s3", Endpoint: "10.0.1.3:8000", Weight: 1}}},
	}
	targets := []gateway.Target{{Model: &models[0]}, {Model: &models[1]}}
	for _, eject := range []bool{false, true} {
		b.Run(fmt.Sprintf("ejected=%v", eject), func(b *testing.B) {
			s := New(nil, slog.New(slog.DiscardHandler))
			if eject {
				for range DefaultConsecutiveFailures {
					s.health.failure(&models[0], &models[0].Backends[1])
				}
				if s.health.ejected.Load() != 1 {
					b.Fatal("backend not ejected")
				}
			}
			var buf [8]candidate
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				plan := s.plan(buf[:0], targets, now)
				if len(plan) == 0 {
					b.Fatal("empty plan")
				}
			}
		})
	}
	b.Run("success", func(b *testing.B) {
		s := New(nil, slog.New(slog.DiscardHandler))
		s.health.failure(&models[1], &models[1].Backends[2])
		b.ReportAllocs()
		for b.Loop() {
			s.health.success(&models[0], &models[0].Backends[0])
		}
	})
}
