package gateway

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/sse"
)

// refPricing is the reference config's qwen3-8b block.
var refPricing = routes.Pricing{Currency: "USD", Prompt: 0.18, CachedInput: 0.04, CacheWrite: 0.225, Completion: 0.42}

func TestPriceUsage(t *testing.T) {
	noCache := routes.Pricing{Currency: "EUR", Prompt: 2, CachedInput: 2, CacheWrite: 2, Completion: 8}
	cases := []struct {
		name string
		p    routes.Pricing
		u    sse.Usage
		want float64
	}{
		{"prompt and completion", refPricing, sse.Usage{PromptTokens: 1000, CompletionTokens: 500}, (1000*0.18 + 500*0.42) / 1e6},
		{"cached prompt tokens at the cached price", refPricing, sse.Usage{PromptTokens: 1000, CachedTokens: 800, CompletionTokens: 10},
			(200*0.18 + 800*0.04 + 10*0.42) / 1e6},
		{"cache writes at the write price", refPricing, sse.Usage{PromptTokens: 1000, CacheWriteTokens: 600, CachedTokens: 300, CompletionTokens: 0},
			(100*0.18 + 300*0.04 + 600*0.225) / 1e6},
		{"reasoning is part of completion_tokens, counted once", refPricing,
			sse.Usage{PromptTokens: 10, CompletionTokens: 1000, ReasoningTokens: 900}, (10*0.18 + 1000*0.42) / 1e6},
		{"cached beyond the prompt is clamped", refPricing, sse.Usage{PromptTokens: 100, CachedTokens: 500, CacheWriteTokens: 50},
			100 * 0.04 / 1e6},
		{"negative counts count as zero", refPricing, sse.Usage{PromptTokens: -5, CompletionTokens: -1}, 0},
		{"cache prices fall back to the prompt price", noCache, sse.Usage{PromptTokens: 1000, CachedTokens: 500, CompletionTokens: 100},
			(1000*2 + 100*8) / 1e6},
		{"zero usage costs nothing", refPricing, sse.Usage{}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := PriceUsage(&tc.p, tc.u); math.Abs(got-tc.want) > 1e-15 {
				t.Fatalf("PriceUsage = %.12g, want %.12g", got, tc.want)
			}
		})
	}
}

func TestAppendMoney(t *testing.T) {
	cases := []struct {
		name string
		in   []Money
		want string
	}{
		{"one currency", []Money{{"USD", 0.000123}}, "0.000123 USD"},
		{"float noise is rounded away", []Money{{"USD", 0.1 + 0.2}}, "0.3 USD"},
		{"zero", []Money{{"USD", 0}}, "0 USD"},
		{"two currencies", []Money{{"USD", 1.5}, {"EUR", 0.25}}, "1.5 USD, 0.25 EUR"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(appendMoney(nil, tc.in)); got != tc.want {
				t.Fatalf("appendMoney = %q, want %q", got, tc.want)
			}
		})
	}
}

// pricedSpec is testSpec with qwen3-8b priced as in the reference config
// (qwen3-32b and plain stay unpriced).
func pricedSpec() routes.Spec {
	s := testSpec()
	p := refPricing
	s.Models[0].Pricing = &p
	return s
}

// gathered reads one series of reg (0 and false when absent).
func gathered(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

// TestCostRecorded runs exchanges through FAKE stages (embedder,
// classifier, cache; the upstream answer is fed in as bytes) with a real
// Prometheus registry and checks the cost series, the header, the stream
// comment and what is left unpriced.
func TestCostRecorded(t *testing.T) {
	jsonAnswer := `{"id":"c1","object":"chat.completion","model":"qwen3-8b-instruct","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,"prompt_tokens_details":{"cached_tokens":800}}}`
	streamUsage := "data: {\"id\":\"u1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"}}]}\n\n" +
		"data: {\"id\":\"u1\",\"choices\":[],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":200,\"total_tokens\":1200,\"cache_creation_input_tokens\":400}}\n\n" +
		"data: [DONE]\n\n"
	streamNoUsage := "data: {\"id\":\"u1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hello\"}}]}\n\n" +
		"data: [DONE]\n\n"
	jsonCost := (200*0.18 + 800*0.04 + 200*0.42) / 1e6
	streamCost := (600*0.18 + 400*0.225 + 200*0.42) / 1e6
	cases := []struct {
		name     string
		decision string
		body     string
		ctype    string
		answer   string
		// want is the cost recorded (-1: none); header is x-vsr-cost of
		// CostHeaders (JSON) or the stream comment ("" none).
		want    float64
		header  string
		unknown bool
	}{
		{"json with cached tokens", "business", `{"model":"auto","messages":[{"role":"user","content":"q"}]}`, "application/json",
			jsonAnswer, jsonCost, "0.000152 USD", false},
		{"stream with usage and cache writes", "business", `{"model":"auto","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"q"}]}`,
			"text/event-stream", streamUsage, streamCost, ": x-vsr-cost 0.000282 USD\n\ndata: [DONE]", false},
		{"stream without usage is unknown", "business", `{"model":"auto","stream":true,"messages":[{"role":"user","content":"q"}]}`,
			"text/event-stream", streamNoUsage, -1, "", true},
		{"unpriced model records nothing", "complex", `{"model":"auto","messages":[{"role":"user","content":"q"}]}`, "application/json",
			jsonAnswer, -1, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, err := metrics.NewGateway(reg)
			if err != nil {
				t.Fatal(err)
			}
			g := newGateway(t, pricedSpec(), Stages{Embedder: &fakeEmbedder{},
				Classifier: &fakeClassifier{dec: &Decision{Name: tc.decision}}, Cache: &fakeCache{}}, WithMetrics(m))
			x, imm, _ := chat(g, noHeaders, tc.body)
			if imm != nil {
				t.Fatalf("immediate %s", imm.Body)
			}
			var header string
			if tc.ctype == "application/json" {
				if h := headerMap(x.CostHeaders(200, []byte(tc.answer))); h[HeaderCost] != "" {
					header = h[HeaderCost] + " " + h[HeaderCostCurrency]
				}
			}
			x.ResponseHeaders(200, tc.ctype)
			var out strings.Builder
			// Two chunks, split inside the first event.
			out.Write(x.ForwardChunk([]byte(tc.answer[:20]), false))
			out.Write(x.ForwardChunk([]byte(tc.answer[20:]), true))
			x.Finish(context.Background())
			g.Wait()
			if tc.ctype == "text/event-stream" && strings.Contains(out.String(), ": x-vsr-cost") {
				i := strings.Index(out.String(), ": x-vsr-cost")
				header = out.String()[i:]
				header = strings.TrimSuffix(header, "\n\n")
			}
			if header != tc.header {
				t.Fatalf("cost header/comment = %q, want %q (client got %q)", header, tc.header, out.String())
			}
			model := x.routed.target.Model.Name
			got, ok := gathered(t, reg, metrics.ModelCost, map[string]string{"model": model, "currency": "USD"})
			dec, dok := gathered(t, reg, metrics.GatewayDecisionCost, map[string]string{"decision_name": tc.decision, "currency": "USD"})
			if tc.want < 0 {
				if ok || dok {
					t.Fatalf("cost recorded: model %v, decision %v", got, dec)
				}
				if total, _ := x.Cost(); total != nil {
					t.Fatalf("Cost() = %v, want none", total)
				}
			} else {
				if !ok || math.Abs(got-tc.want) > 1e-15 || !dok || math.Abs(dec-tc.want) > 1e-15 {
					t.Fatalf("llm_model_cost_total = %v (%v), decision cost = %v (%v), want %v", got, ok, dec, dok, tc.want)
				}
				if total, _ := x.Cost(); len(total) != 1 || total[0].Currency != "USD" || math.Abs(total[0].Amount-tc.want) > 1e-15 {
					t.Fatalf("Cost() = %v", total)
				}
			}
			u, _ := gathered(t, reg, metrics.GatewayCostUnknown, map[string]string{"model": model})
			if tc.unknown != (u == 1) {
				t.Fatalf("semrouter_gateway_cost_unknown_total = %v, want unknown=%v", u, tc.unknown)
			}
		})
	}
}

// TestCacheHitSavedCost: a hit costs 0 upstream and records what its
// answer cost when it was generated.
func TestCacheHitSavedCost(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	answer := `{"id":"c1","object":"chat.completion","model":"qwen3-8b-instruct","choices":[{"index":0,"message":{"role":"assistant","content":"cached answer"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":1000,"completion_tokens":1000,"total_tokens":2000}}`
	g := newGateway(t, pricedSpec(), Stages{Embedder: &fakeEmbedder{},
		Classifier: &fakeClassifier{dec: &Decision{Name: "business"}},
		Cache:      &fakeCache{hits: []CachedResponse{{Decision: "business", Exact: true, Body: []byte(answer)}}}}, WithMetrics(m))
	x, imm, _ := chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"q"}]}`)
	if imm == nil {
		t.Fatal("want a cache hit")
	}
	h := headerMap(imm.Headers)
	if h[HeaderCost] != "0" || h[HeaderCostSaved] != "0.0006" || h[HeaderCostCurrency] != "USD" {
		t.Fatalf("cost headers %q, %q", h[HeaderCost], h[HeaderCostSaved])
	}
	saved, ok := gathered(t, reg, metrics.GatewayCacheSavedCost, map[string]string{"decision_name": "business", "currency": "USD"})
	if !ok || math.Abs(saved-0.0006) > 1e-15 {
		t.Fatalf("semrouter_gateway_cache_saved_cost_total = %v (%v)", saved, ok)
	}
	if _, ok := gathered(t, reg, metrics.ModelCost, nil); ok {
		t.Fatal("a cache hit added to llm_model_cost_total")
	}
	total, sv := x.Cost()
	if len(total) != 1 || total[0].Amount != 0 || len(sv) != 1 || math.Abs(sv[0].Amount-0.0006) > 1e-15 {
		t.Fatalf("Cost() = %v, %v", total, sv)
	}
}

// BenchmarkPriceUsage is the per-request cost computation.
func BenchmarkPriceUsage(b *testing.B) {
	p := refPricing
	u := sse.Usage{PromptTokens: 1200, CachedTokens: 800, CacheWriteTokens: 100, CompletionTokens: 350, ReasoningTokens: 120}
	b.ReportAllocs()
	var sink float64
	for b.Loop() {
		sink += PriceUsage(&p, u)
	}
	if sink <= 0 {
		b.Fatal("no cost")
	}
}

func TestCostHeadersShape(t *testing.T) {
	tests := []struct {
		name             string
		ms               []Money
		amount, currency string
	}{
		{"one currency", []Money{{"USD", 0.000123}}, "0.000123", "USD"},
		{"two currencies in order", []Money{{"USD", 0.5}, {"EUR", 0.25}}, "0.5, 0.25", "USD, EUR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := headerMap(costHeaders(HeaderCost, tt.ms))
			if h[HeaderCost] != tt.amount || h[HeaderCostCurrency] != tt.currency {
				t.Fatalf("headers %v, want %s=%q %s=%q", h, HeaderCost, tt.amount, HeaderCostCurrency, tt.currency)
			}
		})
	}
}
