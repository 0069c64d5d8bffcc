package config

import (
	"strings"
	"testing"
)

// hybridBase has a hybrid decision choosing between "full" (pricing,
// description, quality_score) and "bare" (none of them); the algorithm
// block and a global block are appended per case.
const hybridBase = `version: v0.3
providers:
  defaults:
    default_model: full
  models:
    - name: full
      backend_refs: [{name: b, endpoint: "127.0.0.1:8000"}]
      pricing: {prompt_per_1m: 0.1, completion_per_1m: 0.3}
    - name: bare
      backend_refs: [{name: b, endpoint: "127.0.0.1:8001"}]
routing:
  modelCards:
    - name: full
      description: A general model.
      quality_score: 0.7
  decisions:
    - name: pick
      rules: {operator: AND, conditions: []}
      modelRefs:
        - model: full
        - model: bare
      algorithm:
        type: hybrid
`

func TestHybridValidation(t *testing.T) {
	const dp = "routing.decisions[0].algorithm"
	tests := []struct {
		name     string
		block    string // under algorithm:, indented by 8
		global   string // under model_selection:, indented by 6
		errs     []string
		warnings []string // "path: fragment"
	}{
		{name: "weights for what both models have", block: "hybrid: {experience_weight: 0.7, cost_weight: 0}"},
		{name: "defaults warn about what bare lacks",
			warnings: []string{dp + `.type: router_dc_weight weighs the similarity to the model card description, but "bare" has none`,
				dp + `.type: automix_weight weighs the model card quality_score, but "bare" has none`, dp + `.type: cost_weight weighs pricing, but "bare" has none`}},
		{name: "a block's weights are warned at their own paths", block: "hybrid:\n  router_dc_weight: 0.5\n  cost_weight: 0.5",
			warnings: []string{dp + `.hybrid.router_dc_weight: decision "pick": router_dc_weight`, dp + `.hybrid.cost_weight: decision "pick": cost_weight`}},
		{name: "negative weight and gap", block: "hybrid:\n  experience_weight: -0.5\n  cost_weight: 1\n  quality_gap_threshold: -0.1",
			errs:     []string{dp + ".hybrid.experience_weight:25", dp + ".hybrid.quality_gap_threshold:27"},
			warnings: []string{dp + ".hybrid.cost_weight: pricing"}},
		{name: "all weights written as zero", block: "hybrid: {experience_weight: 0, cost_weight: 0}", errs: []string{dp + ".hybrid:24"}},
		{name: "a gap-only block takes the default weights", block: "hybrid: {quality_gap_threshold: 0.05}",
			warnings: []string{dp + ".type: router_dc_weight", dp + ".type: automix_weight", dp + ".type: cost_weight"}},
		{name: "global weights are the defaults of a decision without a block", global: "hybrid: {automix_weight: 1}",
			warnings: []string{PathHybridDefaults + `.automix_weight: decision "pick": automix_weight`}},
		{name: "global weights unused when the decision has its own", block: "hybrid: {experience_weight: 1}", global: "hybrid: {cost_weight: 0.2, normalize_scores: true}",
			warnings: []string{PathHybridDefaults + ".cost_weight: has no effect", PathHybridDefaults + ".normalize_scores: has no effect"}},
		{name: "a gap-only decision block reads the global weights, not its normalisation", block: "hybrid: {quality_gap_threshold: 0.05}",
			global:   "hybrid: {cost_weight: 1, normalize_scores: true}",
			warnings: []string{PathHybridDefaults + `.cost_weight: decision "pick": cost_weight weighs pricing, but "bare" has none`, PathHybridDefaults + ".normalize_scores: has no effect"}},
		{name: "global block validated", block: "hybrid: {experience_weight: 1}", global: "hybrid: {cost_weight: -1}",
			errs: []string{PathHybridDefaults + ".cost_weight:28", PathHybridDefaults + ":28"}, warnings: []string{PathHybridDefaults + ".cost_weight: has no effect"}},
		{name: "a missing pretrained file leaves experience out", block: "hybrid: {experience_weight: 1}",
			global:   "ml:\n  knn: {pretrained_path: /nonexistent/sel.knn}",
			warnings: []string{dp + `.hybrid.experience_weight: decision "pick": experience_weight weighs the knn estimate, but the pretrained knn file "/nonexistent/sel.knn" is not there`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := hybridBase
			if tc.block != "" {
				doc += "        " + strings.ReplaceAll(tc.block, "\n", "\n        ") + "\n"
			}
			if tc.global != "" {
				doc += "global:\n  router:\n    model_selection:\n      " + strings.ReplaceAll(tc.global, "\n", "\n      ") + "\n"
			}
			_, probs, err := Parse([]byte(doc), "hybrid.yaml")
			if got := problemKeys(probs); strings.Join(got, ",") != strings.Join(tc.errs, ",") {
				t.Fatalf("errors %v, want %v (err %v)\n%s", got, tc.errs, err, probs)
			}
			var warned []string
			for _, p := range probs.Warnings() {
				warned = append(warned, p.Path+": "+p.Message)
			}
			if len(warned) != len(tc.warnings) {
				t.Fatalf("warnings:\n%s\nwant %d: %v", strings.Join(warned, "\n"), len(tc.warnings), tc.warnings)
			}
			for _, w := range tc.warnings {
				found := false
				for _, got := range warned {
					found = found || strings.HasPrefix(got, w[:strings.Index(w, ": ")]) && strings.Contains(got, w[strings.Index(w, ": ")+2:])
				}
				if !found {
					t.Errorf("no warning %q in:\n%s", w, strings.Join(warned, "\n"))
				}
			}
		})
	}
}

func TestHybridFor(t *testing.T) {
	def := DefaultHybridWeights()
	tests := []struct {
		name        string
		block       string
		global      string
		want        HybridConfig
		byEmbedding bool
	}{
		{name: "defaults", want: def, byEmbedding: true},
		{name: "the decision's block", block: "hybrid: {cost_weight: 1, quality_gap_threshold: 0.1, normalize_scores: true}",
			want: HybridConfig{CostWeight: 1, QualityGapThreshold: 0.1, NormalizeScores: true}},
		{name: "the global block", global: "hybrid: {router_dc_weight: 2, quality_gap_threshold: 0.2}",
			want: HybridConfig{RouterDCWeight: 2, QualityGapThreshold: 0.2}, byEmbedding: true},
		{name: "the decision's block wins", block: "hybrid: {experience_weight: 1}", global: "hybrid: {router_dc_weight: 2, quality_gap_threshold: 0.2}",
			want: HybridConfig{ExperienceWeight: 1}, byEmbedding: true},
		{name: "a gap-only decision block takes the global weights", block: "hybrid: {quality_gap_threshold: 0.05}",
			global: "hybrid: {cost_weight: 1, quality_gap_threshold: 0.2, normalize_scores: true}",
			want:   HybridConfig{CostWeight: 1, QualityGapThreshold: 0.05}, byEmbedding: true}, // a Decision alone cannot see the global weights
		{name: "a gap-only block keeps the default weights", global: "hybrid: {quality_gap_threshold: 0.08}",
			want: HybridConfig{ExperienceWeight: def.ExperienceWeight, RouterDCWeight: def.RouterDCWeight, AutoMixWeight: def.AutoMixWeight,
				CostWeight: def.CostWeight, QualityGapThreshold: 0.08}, byEmbedding: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := hybridBase
			if tc.block != "" {
				doc += "        " + tc.block + "\n"
			}
			if tc.global != "" {
				doc += "global:\n  router:\n    model_selection:\n      " + tc.global + "\n"
			}
			cfg, probs, err := Parse([]byte(doc), "hybrid.yaml")
			if err != nil {
				t.Fatalf("%v\n%s", err, probs)
			}
			d := &cfg.Routing.Decisions[0]
			if got := cfg.HybridFor(d); got != tc.want {
				t.Fatalf("HybridFor %+v, want %+v", got, tc.want)
			}
			if !d.ChoosesWithHybrid() || d.SelectsByEmbedding() != tc.byEmbedding {
				t.Fatalf("ChoosesWithHybrid %v SelectsByEmbedding %v", d.ChoosesWithHybrid(), d.SelectsByEmbedding())
			}
		})
	}
}
