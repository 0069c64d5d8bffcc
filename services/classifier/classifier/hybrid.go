package classifier

import (
	"errors"
	"log/slog"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
)

// selectionData is what the selection algorithms of all decisions share.
type selectionData struct {
	cfg *config.Config
	// knn is the data of knn decisions (nil when none); experience that
	// of hybrid decisions' experience component (nil when none weighs it).
	knn, experience *selection.KNNConfig
}

// hybrid is the engine form of decision d's hybrid settings (see
// config.HybridFor).
func (s *selectionData) hybrid(d *config.Decision) *selection.HybridConfig {
	h := s.cfg.HybridFor(d)
	return &selection.HybridConfig{
		Weights: selection.HybridWeights{Experience: h.ExperienceWeight, RouterDC: h.RouterDCWeight, AutoMix: h.AutoMixWeight, Cost: h.CostWeight},
		Gap:     h.QualityGapThreshold, Normalize: h.NormalizeScores, KNN: s.experience,
	}
}

// hybridUses reports whether a hybrid decision choosing among two or more
// modelRefs weighs a component (w picks its weight).
func hybridUses(cfg *config.Config, w func(config.HybridConfig) float64) bool {
	return cfg.AnyDecision(func(d *config.Decision) bool {
		return d.ChoosesWithHybrid() && w(cfg.HybridFor(d)) > 0
	})
}

// hybridExperience returns the knn data of hybrid decisions' experience
// component: the knn decisions' when loaded, else loaded here. Unlike knn
// decisions, a hybrid decision survives unusable data: experience is left
// out (logged here, and said in every choice's fallback) and the other
// components still score.
func (c *Classifier) hybridExperience(cfg *config.Config, knn *selection.KNNConfig, logger *slog.Logger) *selection.KNNConfig {
	if !hybridUses(cfg, func(h config.HybridConfig) float64 { return h.ExperienceWeight }) {
		return nil
	}
	if knn != nil {
		return knn
	}
	own := &problems{cfg: cfg}
	out := c.loadKNN(cfg, own)
	if err := errors.Join(own.errs...); err != nil {
		out = &selection.KNNConfig{Unavailable: "pretrained data unusable: " + err.Error()}
	}
	if out.Bank == nil {
		logger.Warn("hybrid decisions score without experience", slog.String("reason", out.Unavailable))
	}
	return out
}
