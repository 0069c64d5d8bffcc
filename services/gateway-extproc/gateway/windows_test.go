package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/windows"
)

func windowSpec() routes.Spec {
	s := testSpec()
	s.Windows = windows.Settings{Enabled: true, Windows: []time.Duration{time.Minute, 5 * time.Minute},
		UpdateInterval: 0, PerModel: true, QueueDepth: true, MaxModels: 10}
	return s
}

func statsOf(t *testing.T, g *Gateway, model string) windows.ModelReport {
	t.Helper()
	r := g.ModelStats()
	if r == nil {
		t.Fatal("no model stats with windowed_metrics on")
	}
	for _, m := range r.Models {
		if m.Model == model {
			return m
		}
	}
	t.Fatalf("no %s in %+v", model, r.Models)
	return windows.ModelReport{}
}

// TestWindowsFollowExchange: the ext_proc-shaped sequence (body → response
// headers → streamed body → Finish → End) counts the request in flight
// between RequestBody and End and records its latency, TTFT and TPOT.
func TestWindowsFollowExchange(t *testing.T) {
	clk := &manualClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	g := newGateway(t, windowSpec(), Stages{}, WithClock(clk.Now))
	x, imm, fwd := chat(g, noHeaders, `{"model":"qwen3-8b","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if imm != nil || fwd == nil {
		t.Fatalf("not forwarded: %+v", imm)
	}
	if n := *statsOf(t, g, "qwen3-8b").InFlight; n != 1 {
		t.Fatalf("in flight after RequestBody = %d, want 1", n)
	}
	clk.Advance(100 * time.Millisecond)
	x.ResponseHeaders(200, "text/event-stream")
	clk.Advance(100 * time.Millisecond)
	x.ResponseBody([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"), false)
	clk.Advance(800 * time.Millisecond)
	x.ResponseBody([]byte("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5,\"total_tokens\":8}}\n\ndata: [DONE]\n\n"), true)
	x.Finish(context.Background())
	x.End(0)
	x.End(0) // idempotent: counted once
	clk.Advance(2 * time.Second)
	m := statsOf(t, g, "qwen3-8b")
	if *m.InFlight != 0 {
		t.Errorf("in flight after End = %d", *m.InFlight)
	}
	w := m.Windows[0]
	if w.Requests != 1 || w.Errors != 0 || w.Latency == nil || w.TTFT == nil || w.TPOT == nil {
		t.Fatalf("1m window %+v", w)
	}
	within := func(name string, got, want float64) {
		if got < want*(1-windows.RelativeError) || got > want*(1+windows.RelativeError) {
			t.Errorf("%s = %v, want %v ± %.2f%%", name, got, want, windows.RelativeError*100)
		}
	}
	within("latency p50", w.Latency.P50, 1.0)
	within("TTFT p50", w.TTFT.P50, 0.2)
	within("TPOT p50", w.TPOT.P50, 0.2) // (1s − 0.2s) / (5 − 1)
	if w.CompletionTokensPerSecond <= 0 {
		t.Errorf("tokens/s %v", w.CompletionTokensPerSecond)
	}
}

// TestWindowsNotCountedWhenAnsweredLocally: a blocked/fast/refused request
// never goes upstream, so it is neither in flight nor recorded.
func TestWindowsNotCountedWhenAnsweredLocally(t *testing.T) {
	g := newGateway(t, windowSpec(), Stages{})
	x, imm, _ := chat(g, noHeaders, `{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}`)
	if imm == nil {
		t.Fatal("unknown model forwarded")
	}
	x.End(imm.Status)
	if r := g.ModelStats(); len(r.Models) != 0 {
		t.Errorf("models tracked for a refused request: %+v", r.Models)
	}
}

// TestWindowsRetarget: failover to another model moves the in-flight
// count and the request is recorded for the model that served it.
func TestWindowsRetarget(t *testing.T) {
	g := newGateway(t, windowSpec(), Stages{})
	x, _, fwd := chat(g, noHeaders, `{"model":"qwen3-8b","messages":[{"role":"user","content":"hi"}]}`)
	plain, ok := g.Routes().Model("plain")
	if fwd == nil || !ok {
		t.Fatal("setup")
	}
	x.UseTarget(Target{Model: plain})
	if a, b := *statsOf(t, g, "qwen3-8b").InFlight, *statsOf(t, g, "plain").InFlight; a != 0 || b != 1 {
		t.Errorf("in flight after failover: qwen3-8b %d plain %d, want 0 and 1", a, b)
	}
	x.End(502)
	if w := statsOf(t, g, "plain").Windows[0]; w.Requests != 1 || w.Errors != 1 || w.Latency != nil {
		t.Errorf("plain window %+v (a 502 before any upstream response: an error, no latency)", w)
	}
	if n := *statsOf(t, g, "plain").InFlight; n != 0 {
		t.Errorf("in flight after End = %d", n)
	}
}

// TestWindowsAcrossRevisions: the same settings keep the windows, new
// settings start new ones (in-flight carried), disabled turns them off.
func TestWindowsAcrossRevisions(t *testing.T) {
	g := newGateway(t, windowSpec(), Stages{})
	x, _, _ := chat(g, noHeaders, `{"model":"qwen3-8b","messages":[{"role":"user","content":"hi"}]}`)
	swap := func(edit func(*routes.Spec)) {
		s := windowSpec()
		s.Revision = "r2"
		if edit != nil {
			edit(&s)
		}
		tbl, err := routes.Compile(s)
		if err != nil {
			t.Fatal(err)
		}
		g.Swap(tbl)
	}
	before := g.win.tracker.Load()
	swap(nil)
	if g.win.tracker.Load() != before {
		t.Error("an unchanged windowed_metrics block restarted the windows")
	}
	swap(func(s *routes.Spec) { s.Windows.Windows = []time.Duration{30 * time.Second} })
	if *statsOf(t, g, "qwen3-8b").InFlight != 1 {
		t.Error("in-flight count lost across a reconfiguration")
	}
	if r := g.ModelStats(); len(r.Windows) != 1 || r.Windows[0] != "30s" {
		t.Errorf("windows %v after the change", r.Windows)
	}
	x.End(200)
	if *statsOf(t, g, "qwen3-8b").InFlight != 0 {
		t.Error("a request that started before the change did not end its count")
	}
	swap(func(s *routes.Spec) { s.Windows = windows.Settings{} })
	if g.ModelStats() != nil {
		t.Error("stats with windowed_metrics off")
	}
	x2, _, _ := chat(g, noHeaders, `{"model":"qwen3-8b","messages":[{"role":"user","content":"hi"}]}`)
	if x2.win != nil {
		t.Error("a request is tracked with windowed_metrics off")
	}
	x2.End(200)
}

// BenchmarkWindowsExchange is the gateway's per-request windows work:
// in flight at RequestBody, Done and Record at End.
func BenchmarkWindowsExchange(b *testing.B) {
	g := newGateway(b, windowSpec(), Stages{})
	m, _ := g.Routes().Model("qwen3-8b")
	fwd := &Forward{Targets: []Target{{Model: m}}}
	obs := &LatencyObservation{Total: time.Second, TTFT: 100 * time.Millisecond, TPOT: 10 * time.Millisecond, Streamed: true, CompletionTokens: 64}
	x := &Exchange{g: g}
	x.routed.path = "upstream"
	x.resp.obs = obs
	b.ReportAllocs()
	for b.Loop() {
		x.windowStart(fwd)
		x.windowEnd("qwen3-8b", "")
	}
}
