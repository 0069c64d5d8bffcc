package engine

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// referenceSpec mirrors the projections and a slice of the decisions of the
// upstream reference config (/work/shared/upstream/reference-config.yaml),
// written by hand the way the config adapter will produce it.
func referenceSpec() Spec {
	decl := func(f signal.Family, names ...string) []SignalDecl {
		out := make([]SignalDecl, len(names))
		for i, n := range names {
			out[i] = SignalDecl{Family: f, Name: n, MMLUCategories: []string{n}}
		}
		return out
	}
	var signals []SignalDecl
	signals = append(signals, decl(signal.Embedding, "technical_support", "account_management", "clinical_query_intent")...)
	signals = append(signals, decl(signal.Domain, "business", "law", "psychology", "health", "computer science", "other")...)
	signals = append(signals, decl(signal.FactCheck, "needs_fact_check", "no_fact_check_needed")...)
	signals = append(signals, decl(signal.Complexity, "needs_reasoning")...)
	signals = append(signals, decl(signal.Context, "long_context")...)
	signals = append(signals, decl(signal.Structure, "first_then_flow")...)
	signals = append(signals, decl(signal.Keyword, "urgent_keywords")...)
	signals = append(signals, decl(signal.Jailbreak, "prompt_injection")...)
	qwen := func(model string, reasoning bool, effort string) ModelRef {
		return ModelRef{Model: model, UseReasoning: reasoning, ReasoningEffort: effort}
	}
	return Spec{
		DefaultModel: "qwen3-8b",
		Routing: Routing{
			Strategy: "priority",
			Signals:  signals,
			Projections: Projections{
				Partitions: []Partition{{Name: "support_intents", Semantics: "exclusive", Temperature: 0.3,
					Members: []string{"technical_support", "account_management"}, Default: "technical_support"}},
				Scores: []Score{
					{Name: "request_difficulty", Method: "weighted_sum", Inputs: []ScoreInput{
						{Type: "embedding", Name: "technical_support", Weight: 0.18, ValueSource: "confidence", Match: ptr(1)},
						{Type: "embedding", Name: "account_management", Weight: -0.08, ValueSource: "confidence"},
						{Type: "complexity", Name: "needs_reasoning:medium", Weight: 0.18},
						{Type: "complexity", Name: "needs_reasoning:hard", Weight: 0.36},
						{Type: "context", Name: "long_context", Weight: 0.18},
						{Type: "structure", Name: "first_then_flow", Weight: 0.12},
					}},
					{Name: "privacy_kb_bias", Method: "weighted_sum", Inputs: []ScoreInput{
						{Type: "kb_metric", KB: "privacy_kb", Metric: "private_vs_public", Weight: 1, ValueSource: "score"},
					}},
				},
				Mappings: []Mapping{{Name: "request_band", Source: "request_difficulty", Method: "threshold_bands",
					Calibration: &Calibration{Method: "sigmoid_distance", Slope: 10},
					Outputs: []Band{
						{Name: "support_fast", LTE: ptr(0.20)},
						{Name: "support_balanced", GT: ptr(0.20), LT: ptr(0.45)},
						{Name: "support_escalated", GTE: ptr(0.45)},
					}}},
			},
			Decisions: []Decision{
				{Name: "static_business_route", Priority: 200, Tier: 2, Rules: and(leafRule(signal.Domain, "business")),
					ModelRefs: []ModelRef{qwen("qwen3-8b", false, "")}, Algorithm: &Algorithm{Type: "static"},
					Plugins: []Plugin{{Type: "system_prompt", Configuration: map[string]any{"enabled": true, "mode": "insert"}}}},
				{Name: "legal_confidence_route", Priority: 190,
					Rules:     or(leafRule(signal.Domain, "law"), leafRule(signal.FactCheck, "needs_fact_check")),
					ModelRefs: []ModelRef{qwen("qwen3-8b", true, "medium"), qwen("qwen3-32b", true, "high")}, Algorithm: &Algorithm{Type: "confidence"}},
				{Name: "computer-science-remom-route", Priority: 170,
					Rules:     and(leafRule(signal.Domain, "computer science"), leafRule(signal.Complexity, "needs_reasoning:hard")),
					ModelRefs: []ModelRef{{Model: "qwen3-32b", UseReasoning: true, ReasoningEffort: "high", LoRAName: "computer-science-expert"}}, Algorithm: &Algorithm{Type: "remom"}},
				{Name: "support_router_dc_route", Priority: 150,
					Rules:     and(leafRule(signal.Embedding, "technical_support"), Rule{Type: "projection", Name: "support_escalated"}),
					ModelRefs: []ModelRef{qwen("qwen3-8b", false, ""), qwen("qwen3-32b", true, "")}, Algorithm: &Algorithm{Type: "router_dc"},
					Plugins: []Plugin{{Type: "header_mutation", Configuration: map[string]any{"delete": []any{"X-Debug-Trace"}}}}},
				{Name: "safe_hybrid_route", Priority: 140,
					Rules: and(leafRule(signal.Domain, "business"),
						or(leafRule(signal.Keyword, "urgent_keywords"), leafRule(signal.Complexity, "needs_reasoning:hard")),
						not(leafRule(signal.Jailbreak, "prompt_injection"))),
					ModelRefs: []ModelRef{qwen("qwen3-8b", true, ""), qwen("qwen3-32b", true, "")}, Algorithm: &Algorithm{Type: "hybrid"}},
				{Name: "long_context_latency_route", Priority: 125, Rules: and(leafRule(signal.Context, "long_context")),
					ModelRefs: []ModelRef{qwen("qwen3-32b", true, "")}, Algorithm: &Algorithm{Type: "latency_aware"}},
				{Name: "safe_only_svm_route", Priority: 110, Rules: not(leafRule(signal.Jailbreak, "prompt_injection")),
					ModelRefs: []ModelRef{qwen("qwen3-8b", false, "")}, Algorithm: &Algorithm{Type: "svm"}},
			},
		},
	}
}

// hardSupportRequest is a long, multi-step technical-support prompt.
func hardSupportRequest() []signal.Outcome {
	return []signal.Outcome{
		{Family: signal.Embedding, Matches: []signal.Match{
			{Name: "technical_support", Confidence: 0.86, Value: 0.86},
			{Name: "account_management", Confidence: 0.74, Value: 0.74},
		}, Scores: map[string]float64{"clinical_query_intent": 0.21}},
		{Family: signal.Domain, Matches: []signal.Match{{Name: "other", Confidence: 0.61}}},
		{Family: signal.Complexity, Matches: []signal.Match{{Name: "needs_reasoning:hard", Confidence: 0.8}}},
		{Family: signal.Context, Matches: []signal.Match{{Name: "long_context", Confidence: 1, Value: 48000}}},
		{Family: signal.Structure, Matches: []signal.Match{{Name: "first_then_flow", Confidence: 1}}},
		{Family: signal.Jailbreak, Scores: map[string]float64{"prompt_injection": 0.03}},
		{Family: signal.KB, Scores: map[string]float64{"privacy_kb:private_vs_public": -0.2}},
	}
}

func TestReferenceRouting(t *testing.T) {
	e, err := Compile(referenceSpec(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		outcomes []signal.Outcome
		golden   string
	}{
		{"hard support request", hardSupportRequest(), "reference_hard_support.golden.json"},
		{"jailbreak family failed", append(hardSupportRequest()[:5:5], failed(signal.Jailbreak),
			signal.Outcome{Family: signal.Embedding, Matches: []signal.Match{{Name: "account_management", Confidence: 0.99}}}),
			"reference_jailbreak_failed.golden.json"},
		{"business and urgent", []signal.Outcome{match(signal.Domain, "business", 0.9), match(signal.Keyword, "urgent_keywords", 0.7)},
			"reference_business.golden.json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := evalT(t, e, Request{}, tc.outcomes...)
			got, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run with -update to create): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("result differs from %s:\n%s", path, got)
			}
		})
	}
}

// TestConcurrentEvaluate shares one Engine across goroutines with different
// signal sets; each must see its own answer (pooled scratch must not leak).
func TestConcurrentEvaluate(t *testing.T) {
	e, err := Compile(referenceSpec(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		outcomes []signal.Outcome
		want     string
	}{
		{hardSupportRequest(), "support_router_dc_route"},
		{[]signal.Outcome{match(signal.Domain, "law", 0.9)}, "legal_confidence_route"},
		{[]signal.Outcome{match(signal.Jailbreak, "prompt_injection", 0.99)}, ""},
	}
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			var res Result
			for i := 0; i < 300; i++ {
				c := cases[(g+i)%len(cases)]
				if err := e.Evaluate(signal.NewSet(c.outcomes...), Request{}, &res); err != nil {
					done <- err
					return
				}
				if res.Decision != c.want {
					done <- fmt.Errorf("goroutine %d iteration %d: decision %q, want %q", g, i, res.Decision, c.want)
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
