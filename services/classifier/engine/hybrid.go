package engine

import (
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
)

// DefaultHybridWeights are the weights of a hybrid decision compiled
// without settings (Algorithm.Hybrid nil): the contract's defaults,
// config.DefaultHybridWeights, which the classifier passes explicitly.
func DefaultHybridWeights() selection.HybridWeights {
	return selection.HybridWeights{Experience: 0.4, RouterDC: 0.25, AutoMix: 0.25, Cost: 0.1}
}

// hybridSelector builds a hybrid selector over refs: each candidate's
// description embedding (Options.ModelEmbeddings), model card
// quality_score and pricing (prompt + completion per 1M tokens).
func (c *compiler) hybridSelector(path string, a *Algorithm, refs []ModelRef) selection.Selector {
	cfg := selection.HybridConfig{Weights: DefaultHybridWeights()}
	if a.Hybrid != nil {
		cfg = *a.Hybrid
	}
	cands := make([]selection.HybridCandidate, len(refs))
	for i, r := range refs {
		cands[i] = selection.HybridCandidate{Model: r.Model, Desc: c.opts.ModelEmbeddings[r.Model]}
		if m, ok := c.models[r.Model]; ok {
			if m.QualityScore != nil {
				cands[i].Quality, cands[i].HasQuality = *m.QualityScore, true
			}
			if m.HasPricing {
				cands[i].Cost, cands[i].HasCost = m.PromptPer1M+m.CompletionPer1M, true
			}
		}
	}
	s, err := selection.NewHybridSelector(cfg, cands)
	if err != nil {
		c.p.add(path+".hybrid", "%v", err)
		return selection.StaticSelector{}
	}
	return s
}
