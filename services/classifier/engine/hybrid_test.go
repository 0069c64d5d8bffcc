package engine

import (
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

func TestHybridThroughEngine(t *testing.T) {
	two := []ModelRef{{Model: "qwen3-8b"}, {Model: "qwen3-32b", UseReasoning: true, ReasoningEffort: "high"}}
	quality := func(v float64) *float64 { return &v }
	models := []ModelInfo{
		{Name: "qwen3-8b", QualityScore: quality(0.83), PromptPer1M: 0.18, CompletionPer1M: 0.42, HasPricing: true},
		{Name: "qwen3-32b", QualityScore: quality(0.96), PromptPer1M: 1.2, CompletionPer1M: 3.4, HasPricing: true},
	}
	emb := map[string][]float32{"qwen3-8b": {1, 0}, "qwen3-32b": {0.1, 1}}
	hybrid := func(w selection.HybridWeights) *Algorithm {
		return &Algorithm{Type: selection.Hybrid, Hybrid: &selection.HybridConfig{Weights: w}}
	}
	tests := []struct {
		name         string
		alg          *Algorithm
		query        []float32
		wantModel    string
		wantAlg      string
		wantDetail   string
		wantFallback string
	}{
		{"description and quality pick the big model", hybrid(selection.HybridWeights{RouterDC: 0.5, AutoMix: 0.5}), []float32{0, 1},
			"qwen3-32b", selection.Hybrid, "router_dc+automix", ""},
		{"cost-heavy weights pick the cheap model", hybrid(selection.HybridWeights{RouterDC: 0.2, Cost: 0.8}), []float32{0, 1},
			"qwen3-8b", selection.Hybrid, "router_dc+cost", ""},
		// default weights; no knn data and no query: automix and cost remain
		{"defaults degrade to automix and cost", &Algorithm{Type: selection.Hybrid}, nil,
			"qwen3-8b", selection.Hybrid, "automix+cost", "left out experience (no pretrained data), router_dc (no query embedding)"},
		{"nothing to score uses the first modelRef", hybrid(selection.HybridWeights{Experience: 1}), []float32{0, 1},
			"qwen3-8b", selection.Static, "", "no component left, used the first modelRef"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile(Spec{DefaultModel: "qwen3-8b", Models: models, Routing: Routing{Signals: testSignals,
				Decisions: []Decision{{Name: "route", Rules: leafRule(signal.Keyword, "kw_a"), ModelRefs: two, Algorithm: tc.alg}}}},
				Options{ModelEmbeddings: emb})
			if err != nil {
				t.Fatal(err)
			}
			res := evalT(t, e, Request{Selection: selection.Input{Query: tc.query}}, match(signal.Keyword, "kw_a", 1))
			if res.Model != tc.wantModel || res.Algorithm != tc.wantAlg || res.SelectionDetail != tc.wantDetail ||
				!strings.Contains(res.Fallback, tc.wantFallback) || (tc.wantFallback == "" && res.Fallback != "") {
				t.Fatalf("model %q alg %q detail %q fallback %q; want %q %q %q %q", res.Model, res.Algorithm, res.SelectionDetail, res.Fallback,
					tc.wantModel, tc.wantAlg, tc.wantDetail, tc.wantFallback)
			}
			if res.Model == "qwen3-32b" && (!res.UseReasoning || res.ReasoningEffort != "high") {
				t.Fatalf("modelRef fields lost: %+v", res)
			}
		})
	}
	t.Run("bad weights are a compile error with the path", func(t *testing.T) {
		_, err := Compile(Spec{Models: models, Routing: Routing{Signals: testSignals, Decisions: []Decision{{Name: "route",
			Rules: leafRule(signal.Keyword, "kw_a"), ModelRefs: two, Algorithm: hybrid(selection.HybridWeights{Cost: -1})}}}}, Options{})
		if err == nil || !strings.Contains(err.Error(), "routing.decisions[0].algorithm.hybrid: cost_weight must be a non-negative number") {
			t.Fatalf("err %v", err)
		}
	})
}
