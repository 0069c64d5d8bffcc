package config

import (
	"fmt"
	"os"
	"strings"
)

// PathHybridDefaults is the block of global hybrid selection defaults.
const PathHybridDefaults = "global.router.model_selection.hybrid"

// DefaultHybridWeights are the weights of hybrid selection when neither
// the decision's `algorithm.hybrid` block nor
// `global.router.model_selection.hybrid` sets any: experience 0.4,
// router_dc 0.25, automix 0.25, cost 0.1.
func DefaultHybridWeights() HybridConfig {
	return HybridConfig{ExperienceWeight: 0.4, RouterDCWeight: 0.25, AutoMixWeight: 0.25, CostWeight: 0.1}
}

// hasWeights reports whether any of the four weights is non-zero.
func (h *HybridConfig) hasWeights() bool {
	return h.ExperienceWeight != 0 || h.RouterDCWeight != 0 || h.AutoMixWeight != 0 || h.CostWeight != 0
}

// HybridFor returns the hybrid settings decision d selects with. The
// weights come from the first of its own `algorithm.hybrid` block,
// `global.router.model_selection.hybrid` and DefaultHybridWeights that sets
// any weight; quality_gap_threshold and normalize_scores from its own block
// when it has one, else from the global block.
func (c *Config) HybridFor(d *Decision) HybridConfig {
	own, global := d.ownHybrid(), c.globalHybrid()
	h := DefaultHybridWeights()
	for _, b := range []*HybridConfig{global, own} {
		if b != nil && b.hasWeights() {
			h.ExperienceWeight, h.RouterDCWeight, h.AutoMixWeight, h.CostWeight = b.ExperienceWeight, b.RouterDCWeight, b.AutoMixWeight, b.CostWeight
		}
	}
	src := own
	if src == nil {
		src = global
	}
	if src != nil {
		h.QualityGapThreshold, h.NormalizeScores = src.QualityGapThreshold, src.NormalizeScores
	}
	return h
}

func (d *Decision) ownHybrid() *HybridConfig {
	if d.Algorithm == nil {
		return nil
	}
	return d.Algorithm.Hybrid
}

func (c *Config) globalHybrid() *HybridConfig {
	if ms := c.Global.Router.ModelSelection; ms != nil {
		return ms.Hybrid
	}
	return nil
}

// ChoosesWithHybrid reports whether d selects among two or more modelRefs
// with the hybrid algorithm.
func (d *Decision) ChoosesWithHybrid() bool {
	return d.Algorithm != nil && d.Algorithm.Type == "hybrid" && len(d.ModelRefs) > 1
}

// hybridNeedsQuery reports whether a hybrid decision may use the query
// embedding: unless its own block weighs neither experience nor router_dc
// (without a block, the global defaults decide, which a Decision does not
// see, so it may).
func (d *Decision) hybridNeedsQuery() bool {
	h := d.Algorithm.Hybrid
	return h == nil || !h.hasWeights() || h.ExperienceWeight > 0 || h.RouterDCWeight > 0
}

// validateHybrid checks a hybrid decision's weights and warns about
// components its modelRefs cannot supply (they are left out at runtime
// and the other weights renormalised).
func (v *validator) validateHybrid(p *profile, ap string, d *Decision) {
	hp := sub(ap, "hybrid")
	if d.Algorithm.Hybrid != nil && !v.checkHybridBlock(hp, d.Algorithm.Hybrid) {
		return
	}
	if len(d.ModelRefs) < 2 {
		return
	}
	h := v.cfg.HybridFor(d)
	// where each weight was written, for the warnings
	weightPath := func(key string) string {
		switch own, global := d.ownHybrid(), v.cfg.globalHybrid(); {
		case own != nil && own.hasWeights():
			return sub(hp, key)
		case global != nil && global.hasWeights():
			return sub(PathHybridDefaults, key)
		}
		return sub(ap, "type") // the default weights
	}
	missing := func(has func(ref ModelRef) bool) []string {
		var out []string
		for _, ref := range d.ModelRefs {
			if v.models[ref.Model] && !has(ref) {
				out = append(out, fmt.Sprintf("%q", ref.Model))
			}
		}
		return out
	}
	warn := func(key, what string, models []string) {
		if len(models) > 0 {
			verb := "has"
			if len(models) > 1 {
				verb = "have"
			}
			v.warnf(weightPath(key), "decision %q: %s weighs %s, but %s %s none; that component is left out and the other weights renormalised",
				d.Name, key, what, strings.Join(models, ", "), verb)
		}
	}
	if h.RouterDCWeight > 0 {
		warn("router_dc_weight", "the similarity to the model card description", missing(func(ref ModelRef) bool {
			c := p.card(ref.Model)
			return c != nil && c.Description != ""
		}))
	}
	if h.AutoMixWeight > 0 {
		warn("automix_weight", "the model card quality_score", missing(func(ref ModelRef) bool {
			c := p.card(ref.Model)
			return c != nil && c.QualityScore != 0
		}))
	}
	if h.CostWeight > 0 {
		warn("cost_weight", "pricing", missing(func(ref ModelRef) bool {
			m := v.cfg.Model(ref.Model)
			return m != nil && m.Pricing != nil
		}))
	}
	if h.ExperienceWeight > 0 {
		if path, tried := v.cfg.KNNPretrainedPath(); path != "" {
			if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
				v.warnf(weightPath("experience_weight"), "decision %q: experience_weight weighs the knn estimate, but the pretrained knn file %q is not there (tried %s); experience is left out and the other weights renormalised",
					d.Name, v.cfg.MLSettings().KNN.PretrainedPath, strings.Join(tried, ", "))
			}
		}
	}
}

// checkHybridBlock validates the numbers of one hybrid block; false when
// it has weights but none positive.
func (v *validator) checkHybridBlock(hp string, h *HybridConfig) bool {
	keys := []string{"experience_weight", "router_dc_weight", "automix_weight", "cost_weight"}
	vals := []float64{h.ExperienceWeight, h.RouterDCWeight, h.AutoMixWeight, h.CostWeight}
	written := false
	for i, k := range keys {
		v.checkNonNegative(sub(hp, k), vals[i])
		written = written || v.explicit(sub(hp, k))
	}
	v.checkNonNegative(sub(hp, "quality_gap_threshold"), h.QualityGapThreshold)
	positive := h.ExperienceWeight > 0 || h.RouterDCWeight > 0 || h.AutoMixWeight > 0 || h.CostWeight > 0
	if written && !positive {
		v.errorf(hp, "at least one of %s must be positive (leave them all out for the defaults)", strings.Join(keys, ", "))
		return false
	}
	return true
}

// globalHybridUsed reports whether some hybrid decision reads the global
// hybrid weights (weights: its own block sets none) or the global gap and
// normalisation (weights false: it has no block).
func (c *Config) globalHybridUsed(weights bool) bool {
	return c.AnyDecision(func(d *Decision) bool {
		if !d.ChoosesWithHybrid() {
			return false
		}
		own := d.ownHybrid()
		return own == nil || weights && !own.hasWeights()
	})
}
