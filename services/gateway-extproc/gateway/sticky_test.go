package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/sticky"
)

// stickySpec is testSpec with protection on; decision complex has two
// modelRefs (qwen3-32b, plain).
func stickySpec() routes.Spec {
	sp := testSpec()
	sp.NeedsEmbedding = false
	sp.Sticky = routes.Sticky{Enabled: true, Scope: routes.StickyScopeConversation, ConversationHeader: "x-conversation-id",
		SessionHeader: "x-session-id", IdleTimeout: time.Minute, StabilityWeight: 1,
		Store: routes.StickyStore{Backend: routes.StickyBackendMemory, TTL: time.Hour}}
	return sp
}

type stickyRun struct {
	sticky, model string
	targets       []string
	imm           *Immediate
}

func runSticky(t *testing.T, g *Gateway, body string, hdr map[string]string) stickyRun {
	t.Helper()
	x := g.NewExchange()
	x.RequestHeaders("POST", "/v1/chat/completions", func(n string) string { return hdr[n] })
	imm, fwd := x.RequestBody(context.Background(), []byte(body))
	if imm != nil {
		return stickyRun{imm: imm}
	}
	h := headerMap(x.ResponseHeaders(200, "application/json"))
	x.End(200)
	run := stickyRun{sticky: h[HeaderSticky], model: h[HeaderSelectedModel]}
	for _, tg := range fwd.Targets {
		run.targets = append(run.targets, tg.Model.Name)
	}
	return run
}

// TestStickyGateway covers the gateway hook: failover order, metrics,
// replay record, and the requests protection leaves alone.
func TestStickyGateway(t *testing.T) {
	const turn = `{"model":"auto","messages":[{"role":"user","content":"hello"}]}`
	conv := map[string]string{"x-conversation-id": "c"}
	t.Run("pin first, then the others in order; metrics and replay", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		m, err := metrics.NewGateway(reg)
		if err != nil {
			t.Fatal(err)
		}
		sp := stickySpec()
		sp.Decisions[1].Plugins.RouterReplay = &routes.RouterReplayPlugin{MaxRecords: 10, MaxBodyBytes: 1024}
		cls := &fakeClassifier{dec: &Decision{Name: "complex", Model: "qwen3-32b"}}
		g := newGateway(t, sp, Stages{Classifier: cls}, WithMetrics(m))
		if r := runSticky(t, g, turn, conv); r.sticky != "new" || r.model != "qwen3-32b" {
			t.Fatalf("turn 1 %+v", r)
		}
		cls.dec = &Decision{Name: "complex", Model: "plain", Scores: map[string]float64{"plain": 0.45, "qwen3-32b": 0.5}}
		r := runSticky(t, g, turn, conv)
		if r.sticky != "pinned" || r.model != "qwen3-32b" || strings.Join(r.targets, ",") != "qwen3-32b,plain,qwen3-8b" {
			t.Fatalf("turn 2 %+v", r)
		}
		recs := g.Replay().List(ReplayFilter{})
		if len(recs) != 2 || recs[0].Sticky != "pinned" || recs[0].SelectedModel != "qwen3-32b" || recs[1].Sticky != "new" ||
			len(recs[0].SelectionScores) != 2 || recs[0].SelectionScores["plain"] != 0.45 || recs[1].SelectionScores != nil {
			t.Errorf("replay records %+v", recs)
		}
		want := `
# HELP semrouter_gateway_sticky_total Model switch protection per routed turn, by decision and outcome (new, pinned, switched, store_error).
# TYPE semrouter_gateway_sticky_total counter
semrouter_gateway_sticky_total{decision_name="complex",outcome="new"} 1
semrouter_gateway_sticky_total{decision_name="complex",outcome="pinned"} 1
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), metrics.GatewaySticky); err != nil {
			t.Error(err)
		}
	})
	t.Run("context window rules the pinned model out", func(t *testing.T) {
		sp := stickySpec()
		sp.Models[1].ContextWindow = 50 // qwen3-32b
		cls := &fakeClassifier{dec: &Decision{Name: "complex", Model: "qwen3-32b"}}
		g := newGateway(t, sp, Stages{Classifier: cls})
		if r := runSticky(t, g, turn, conv); r.sticky != "new" || r.model != "qwen3-32b" {
			t.Fatalf("turn 1 %+v", r)
		}
		long := `{"model":"auto","messages":[{"role":"user","content":"` + strings.Repeat("word ", 100) + `"}]}`
		if r := runSticky(t, g, long, conv); r.sticky != "switched" || r.model != "plain" {
			t.Fatalf("turn 2 %+v", r)
		}
		if r := runSticky(t, g, turn, conv); r.sticky != "pinned" || r.model != "plain" {
			t.Fatalf("turn 3 stays on the new pin: %+v", r)
		}
	})
	for _, tc := range []struct {
		name string
		edit func(*routes.Spec)
		dec  *Decision
		body string
	}{
		{name: "single modelRef", dec: &Decision{Name: "business"}, body: turn},
		{name: "no decision", dec: &Decision{}, body: turn},
		{name: "protection off", edit: func(sp *routes.Spec) { sp.Sticky.Enabled = false }, dec: &Decision{Name: "complex"}, body: turn},
		{name: "multi-call algorithm", edit: func(sp *routes.Spec) { sp.Decisions[1].Algorithm = &config.Algorithm{Type: "confidence"} },
			dec: &Decision{Name: "complex"}, body: turn},
		{name: "named model", dec: &Decision{Name: "complex"}, body: `{"model":"plain","messages":[{"role":"user","content":"hello"}]}`},
	} {
		t.Run("untouched: "+tc.name, func(t *testing.T) {
			sp := stickySpec()
			if tc.edit != nil {
				tc.edit(&sp)
			}
			g := newGateway(t, sp, Stages{Classifier: &fakeClassifier{dec: tc.dec}})
			if r := runSticky(t, g, tc.body, conv); r.imm != nil || r.sticky != "" {
				t.Errorf("x-vsr-sticky %q (immediate %v)", r.sticky, r.imm)
			}
			if n := g.stickyStoreFor(g.Routes()).(*sticky.MemoryStore).Len(); n != 0 {
				t.Errorf("%d pins written", n)
			}
		})
	}
}

// failingStore is a FAKE pin store that is down.
type failingStore struct{}

func (failingStore) Get(context.Context, string) (sticky.Pin, bool, error) {
	return sticky.Pin{}, false, sticky.ErrStore
}

func (failingStore) Put(context.Context, string, sticky.Pin) error { return sticky.ErrStore }

// TestStickyStoreDown: a store that fails routes by the classifier,
// counted and named in x-vsr-degraded.
func TestStickyStoreDown(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	sp := stickySpec()
	g := newGateway(t, sp, Stages{Classifier: &fakeClassifier{dec: &Decision{Name: "complex", Model: "plain"}}}, WithMetrics(m))
	g.sticky.cfg, g.sticky.store = sp.Sticky.Store, failingStore{}
	x := g.NewExchange()
	x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
	if imm, _ := x.RequestBody(context.Background(), []byte(`{"model":"auto","messages":[{"role":"user","content":"hi"}]}`)); imm != nil {
		t.Fatalf("immediate %s", imm.Body)
	}
	h := headerMap(x.ResponseHeaders(200, "application/json"))
	if h[HeaderSelectedModel] != "plain" || h[HeaderSticky] != "" || h[HeaderDegraded] != StageSticky {
		t.Errorf("headers %v", h)
	}
	want := `
# HELP semrouter_gateway_sticky_total Model switch protection per routed turn, by decision and outcome (new, pinned, switched, store_error).
# TYPE semrouter_gateway_sticky_total counter
semrouter_gateway_sticky_total{decision_name="complex",outcome="store_error"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), metrics.GatewaySticky); err != nil {
		t.Error(err)
	}
}
