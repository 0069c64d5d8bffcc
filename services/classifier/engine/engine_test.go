package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

func TestModelSelectionThroughEngine(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	window := selection.NewWindow(time.Minute, 32)
	window.Record(selection.Observation{Model: "qwen3-8b", TTFT: 900 * time.Millisecond, TPOT: 80 * time.Millisecond, At: t0})
	window.Record(selection.Observation{Model: "qwen3-32b", TTFT: 300 * time.Millisecond, TPOT: 40 * time.Millisecond, At: t0})
	plugins := []Plugin{{Type: "system_prompt", Configuration: map[string]any{"enabled": true}}}
	two := []ModelRef{
		{Model: "qwen3-8b", UseReasoning: false, Weight: 0.4},
		{Model: "qwen3-32b", UseReasoning: true, ReasoningEffort: "high", LoRAName: "cs-expert", Weight: 0.6},
	}
	dec := func(alg *Algorithm) []Decision {
		return []Decision{{Name: "route", Rules: leafRule(signal.Keyword, "kw_a"), ModelRefs: two, Algorithm: alg, Plugins: plugins}}
	}
	quality := func(v float64) *float64 { return &v }
	models := []ModelInfo{
		{Name: "qwen3-8b", QualityScore: quality(0.83), PromptPer1M: 0.18, CompletionPer1M: 0.42, HasPricing: true},
		{Name: "qwen3-32b", QualityScore: quality(0.96), PromptPer1M: 1.2, CompletionPer1M: 3.4, HasPricing: true},
	}
	tests := []struct {
		name         string
		alg          *Algorithm
		in           selection.Input
		wantModel    string
		wantAlg      string
		wantFallback string
	}{
		{"no algorithm is static", nil, selection.Input{}, "qwen3-8b", "static", ""},
		{"unsupported upstream algorithm falls back to static", &Algorithm{Type: "remom"}, selection.Input{}, "qwen3-8b", "static", `algorithm "remom" is not supported`},
		{"latency_aware picks the faster model", &Algorithm{Type: "latency_aware", LatencyAware: &selection.LatencyAwareConfig{TPOTPercentile: 90, TTFTPercentile: 95}},
			selection.Input{Now: t0.Add(time.Second)}, "qwen3-32b", "latency_aware", ""},
		{"latency_aware with an expired window", &Algorithm{Type: "latency_aware"},
			selection.Input{Now: t0.Add(time.Hour)}, "qwen3-8b", "static", "no latency observations"},
		{"multi_factor with a cost ceiling", &Algorithm{Type: "multi_factor", MultiFactor: &selection.MultiFactorConfig{
			Weights: selection.FactorWeights{Quality: 1}, SLO: selection.SLO{MaxCostPer1M: 1}}},
			selection.Input{Now: t0}, "qwen3-8b", "multi_factor", ""},
		{"router_dc by description similarity", &Algorithm{Type: "router_dc"}, selection.Input{Query: []float32{0, 1}}, "qwen3-32b", "router_dc", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Compile(Spec{DefaultModel: "qwen3-8b", Models: models, Routing: Routing{Signals: testSignals, Decisions: dec(tc.alg)}},
				Options{Latency: window, ModelEmbeddings: map[string][]float32{"qwen3-8b": {1, 0}, "qwen3-32b": {0.1, 1}}})
			if err != nil {
				t.Fatal(err)
			}
			res := evalT(t, e, Request{Selection: tc.in}, match(signal.Keyword, "kw_a", 1))
			if res.Model != tc.wantModel || res.Algorithm != tc.wantAlg || !strings.Contains(res.Fallback, tc.wantFallback) || (tc.wantFallback == "" && res.Fallback != "") {
				t.Fatalf("model %q alg %q fallback %q; want %q %q %q", res.Model, res.Algorithm, res.Fallback, tc.wantModel, tc.wantAlg, tc.wantFallback)
			}
			if len(res.Plugins) != 1 || res.Plugins[0].Type != "system_prompt" {
				t.Fatalf("plugins = %+v", res.Plugins)
			}
			if res.Model == "qwen3-32b" && (!res.UseReasoning || res.ReasoningEffort != "high" || res.LoRAName != "cs-expert") {
				t.Fatalf("modelRef fields lost: %+v", res)
			}
		})
	}
	t.Run("weighted is deterministic per request hash", func(t *testing.T) {
		e := compileT(t, Spec{Routing: Routing{Decisions: dec(&Algorithm{Type: "weighted"})}})
		seen := map[string]int{}
		for h := uint64(0); h < 2000; h++ {
			a := evalT(t, e, Request{Selection: selection.Input{Hash: h}}, match(signal.Keyword, "kw_a", 1))
			b := evalT(t, e, Request{Selection: selection.Input{Hash: h}}, match(signal.Keyword, "kw_a", 1))
			if a.Model != b.Model {
				t.Fatalf("hash %d: %q then %q", h, a.Model, b.Model)
			}
			seen[a.Model]++
		}
		if share := float64(seen["qwen3-32b"]) / 2000; share < 0.55 || share > 0.65 {
			t.Fatalf("qwen3-32b share %.3f, want about 0.6", share)
		}
	})
	t.Run("multi_factor fail surfaces an error", func(t *testing.T) {
		e := compileT(t, Spec{Models: models, Routing: Routing{Decisions: dec(&Algorithm{Type: "multi_factor", MultiFactor: &selection.MultiFactorConfig{
			SLO: selection.SLO{MaxCostPer1M: 0.01}, OnNoCandidates: "fail"}})}})
		var res Result
		err := e.Evaluate(signal.NewSet(match(signal.Keyword, "kw_a", 1)), Request{}, &res)
		if !errors.Is(err, selection.ErrNoCandidates) {
			t.Fatalf("err = %v, want ErrNoCandidates", err)
		}
	})
}

func TestEntrypointsSelectRecipes(t *testing.T) {
	spec := Spec{
		DefaultModel: "gpt-oss-20b",
		Routing: Routing{Signals: testSignals, Decisions: []Decision{
			{Name: "general_decision", Priority: 50, Rules: leafRule(signal.Domain, "other"), ModelRefs: refs("gpt-oss-20b")},
		}},
		Recipes: []Recipe{{Name: "metadata-policy", Routing: Routing{
			Signals: []SignalDecl{{Family: signal.Metadata, Name: "canary_cohort"}},
			Decisions: []Decision{{Name: "metadata_recipe_decision", Priority: 100,
				Rules: and(leafRule(signal.Metadata, "canary_cohort")), ModelRefs: refs("canary-model")}},
		}}},
		Entrypoints: []Entrypoint{
			{ModelNames: []string{"vllm-sr/metadata-policy"}, Recipe: "metadata-policy"},
			{ModelNames: []string{"vllm-sr/default"}, Recipe: "default"},
		},
	}
	e, err := Compile(spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := []signal.Outcome{match(signal.Metadata, "canary_cohort", 1), match(signal.Domain, "other", 0.9)}
	tests := []struct {
		model, wantRecipe, wantDecision string
	}{
		{"vllm-sr/metadata-policy", "metadata-policy", "metadata_recipe_decision"},
		{"vllm-sr/default", "", "general_decision"},
		{"auto", "", "general_decision"},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			res := evalT(t, e, Request{Model: tc.model}, outcomes...)
			if res.Recipe != tc.wantRecipe || res.Decision != tc.wantDecision {
				t.Fatalf("recipe %q decision %q, want %q %q", res.Recipe, res.Decision, tc.wantRecipe, tc.wantDecision)
			}
		})
	}
	if r, ok := e.Recipe("vllm-sr/metadata-policy"); !ok || r != "metadata-policy" {
		t.Fatalf("Recipe() = %q %v", r, ok)
	}
}

func TestCompileCollectsEveryProblem(t *testing.T) {
	spec := Spec{
		Routing: Routing{
			Strategy: "fastest",
			Signals:  testSignals,
			Projections: Projections{
				Partitions: []Partition{{Name: "p", Semantics: "softmax_exclusive", Members: []string{"tech", "nope"}, Default: "zzz"}},
				Scores:     []Score{{Name: "s", Method: "product", Inputs: []ScoreInput{{Type: "keyword", Name: "kw_a", ValueSource: "median"}}}},
				Mappings:   []Mapping{{Name: "m", Source: "missing", Outputs: []Band{{Name: "open"}}}},
			},
			Decisions: []Decision{
				{Name: "d1", Rules: Rule{Operator: "NOT", Conditions: []Rule{leafRule(signal.Keyword, "kw_a"), leafRule(signal.Keyword, "kw_b")}}, ModelRefs: refs("m"),
					Algorithm: &Algorithm{Type: "coinflip"}},
				{Name: "d1", Rules: Rule{Type: "telepathy", Name: "x"}},
				{Name: "d3", Rules: and(leafRule(signal.Keyword, "undeclared"), Rule{Type: "projection", Name: "ghost"}, Rule{Type: "keyword", Name: "kw_a", OnUnknown: "match"}), ModelRefs: refs("m"),
					Algorithm: &Algorithm{Type: "multi_factor", MultiFactor: &selection.MultiFactorConfig{OnNoCandidates: "coin"}}},
			},
		},
		Entrypoints: []Entrypoint{{ModelNames: []string{"x"}, Recipe: "absent"}},
	}
	_, err := Compile(spec, Options{})
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`routing.strategy: unknown strategy "fastest"`,
		`routing.projections.partitions[0].temperature: softmax_exclusive needs a temperature > 0`,
		`routing.projections.partitions[0].members[1]: member "nope" is not a declared signal`,
		`routing.projections.partitions[0].default: default "zzz" is not a member`,
		`routing.projections.scores[0].method: unknown method "product"`,
		`routing.projections.scores[0].inputs[0].value_source: unknown value_source "median"`,
		`routing.projections.mappings[0].source: source "missing" is not a declared score`,
		`routing.projections.mappings[0].outputs[0]: output "open" needs at least one of gt, gte, lt, lte`,
		`routing.decisions[0].rules.conditions: NOT takes exactly one condition, got 2`,
		`routing.decisions[0].algorithm.type: unknown algorithm "coinflip"`,
		`routing.decisions[1].name: decision "d1" is defined twice`,
		`routing.decisions[1].rules.type: unknown condition type "telepathy"`,
		`routing.decisions[1].modelRefs: decision has no modelRefs`,
		`routing.decisions[2].rules.conditions[0].name: keyword signal "undeclared" is not declared`,
		`routing.decisions[2].rules.conditions[1].name: projection "ghost" is not a mapping output, partition member or score`,
		`routing.decisions[2].rules.conditions[2].on_unknown: on_unknown is only allowed on the root rules node`,
		`routing.decisions[2].algorithm.multi_factor: on_no_candidates "coin"`,
		`entrypoints[0].recipe: unknown recipe "absent"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing problem %q in:\n%v", want, err)
		}
	}
}
