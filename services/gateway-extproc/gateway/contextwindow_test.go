package gateway

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/pkg/metrics"
)

func TestEstimateTokens(t *testing.T) {
	tests := []struct {
		name string
		text string
		want int
	}{
		{name: "empty", text: "", want: 0},
		{name: "ascii rounds up", text: "hello", want: 2},
		{name: "four bytes a token", text: strings.Repeat("a", 400), want: 100},
		{name: "cjk rune is a token", text: "日本語", want: 3},
		{name: "mixed", text: "ab日本", want: 3},
		{name: "other multibyte counts bytes", text: "éé", want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EstimateTokens(tc.text); got != tc.want {
				t.Errorf("EstimateTokens(%q) = %d, want %d", tc.text, got, tc.want)
			}
		})
	}
}

// TestContextWindowSkipsModels routes decision "complex" (modelRefs
// qwen3-32b, plain; default qwen3-8b; request_params max_tokens_limit 100)
// with small context windows and checks that models whose window cannot
// hold the request are skipped for the next candidate.
func TestContextWindowSkipsModels(t *testing.T) {
	msg := func(tokens int) string { return strings.Repeat("a", 4*tokens) }
	body := func(prompt int, extra string) string {
		return `{"model":"auto"` + extra + `,"messages":[{"role":"user","content":"` + msg(prompt) + `"}]}`
	}
	tests := []struct {
		name       string
		windows    map[string]int
		body       string
		wantOrder  string // targets in order; "" for the 400
		wantLargst string
	}{
		{name: "fits the selection", windows: map[string]int{"qwen3-32b": 50, "plain": 200, "qwen3-8b": 1000},
			body: body(10, ""), wantOrder: "qwen3-32b,plain,qwen3-8b"},
		{name: "skips the selection for the next modelRef", windows: map[string]int{"qwen3-32b": 50, "plain": 200, "qwen3-8b": 1000},
			body: body(100, ""), wantOrder: "plain,qwen3-8b"},
		{name: "completion tokens count (clamped by max_tokens_limit)", windows: map[string]int{"qwen3-32b": 50, "plain": 200, "qwen3-8b": 1000},
			body: body(100, `,"max_completion_tokens":100000`), wantOrder: "qwen3-8b"},
		{name: "max_tokens below the limit counts as asked", windows: map[string]int{"qwen3-32b": 50, "plain": 200, "qwen3-8b": 1000},
			body: body(100, `,"max_tokens":90`), wantOrder: "plain,qwen3-8b"},
		{name: "unknown window always fits", windows: map[string]int{"qwen3-32b": 50, "plain": 200},
			body: body(5000, ""), wantOrder: "qwen3-8b"},
		{name: "nothing fits: 400 naming the largest window", windows: map[string]int{"qwen3-32b": 50, "plain": 200, "qwen3-8b": 1000},
			body: body(2000, ""), wantLargst: "1000 tokens"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := testSpec()
			for i := range spec.Models {
				spec.Models[i].ContextWindow = tc.windows[spec.Models[i].Name]
			}
			cls := &fakeClassifier{dec: &Decision{Name: "complex", Model: "qwen3-32b"}}
			reg := prometheus.NewRegistry()
			gm, err := metrics.NewGateway(reg)
			if err != nil {
				t.Fatal(err)
			}
			g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: cls}, WithMetrics(gm))
			x, imm, fwd := chat(g, noHeaders, tc.body)
			if tc.wantOrder == "" {
				if imm == nil || imm.Status != 400 {
					t.Fatalf("want a 400, got immediate %+v forward %+v", imm, fwd)
				}
				if c := gjson.GetBytes(imm.Body, "error.code").Str; c != CodeContextLengthExceeded {
					t.Errorf("code %q in %s", c, imm.Body)
				}
				if m := gjson.GetBytes(imm.Body, "error.message").Str; !strings.Contains(m, tc.wantLargst) {
					t.Errorf("message %q does not name %q", m, tc.wantLargst)
				}
				if headerMap(x.ResponseHeaders(400, "application/json"))["x-vsr-response-path"] != PathRejected {
					t.Errorf("response path not %q", PathRejected)
				}
				x.End(imm.Status)
				g.Wait()
				if got := exposition(t, reg, metrics.RequestErrors); !strings.Contains(got, `reason="request_rejected"} 1`) {
					t.Errorf("rejection not counted as request_rejected:\n%s", got)
				}
				return
			}
			if imm != nil {
				t.Fatalf("immediate %s", imm.Body)
			}
			var order []string
			for _, tg := range fwd.Targets {
				order = append(order, tg.Model.Name)
			}
			if got := strings.Join(order, ","); got != tc.wantOrder {
				t.Fatalf("targets %s, want %s", got, tc.wantOrder)
			}
			first := strings.SplitN(tc.wantOrder, ",", 2)[0]
			if sel := headerMap(fwd.SetHeaders)["x-selected-model"]; sel != first {
				t.Errorf("x-selected-model %q, want %q", sel, first)
			}
			m, _ := g.table.Load().Model(first)
			if id := gjson.GetBytes(fwd.Body, "model").Str; id != m.UpstreamModelID() {
				t.Errorf("body model %q, want %q", id, m.UpstreamModelID())
			}
		})
	}
}

func BenchmarkFitContext(b *testing.B) {
	spec := testSpec()
	for i := range spec.Models {
		spec.Models[i].ContextWindow = 4096
	}
	g := newGateway(b, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "complex"}}})
	x, _, _ := chat(g, noHeaders, `{"model":"auto","max_tokens":50,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"`+strings.Repeat("word ", 500)+`"}]}`)
	targets := append([]Target(nil), x.routed.targets...)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		x.routed.targets = append(x.routed.targets[:0], targets...)
		if imm := x.fitContext(); imm != nil {
			b.Fatal("unexpected rejection")
		}
	}
}
