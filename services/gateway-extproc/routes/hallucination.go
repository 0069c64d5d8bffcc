package routes

import (
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/grounding"
)

// HallucinationPlugin mirrors plugins[type=hallucination]: the answer is
// checked against the request's context (package grounding).
type HallucinationPlugin struct {
	// UseNLI adds the embedding similarity check (the gateway's embedder
	// stage); without it the check is lexical only.
	UseNLI bool
	// Action applies to hallucination_detected, UnverifiedAction to
	// unverified_factual: config.HallucinationAction* (header, body,
	// block, none; annotate reads body).
	Action, UnverifiedAction string
	// Details adds x-vsr-hallucination-details.
	Details bool
	// Detector is the compiled detector.
	Detector *grounding.Detector
}

// hallucinationFromConfig maps an enabled hallucination plugin (nil:
// none or disabled).
func hallucinationFromConfig(p config.Plugin) *HallucinationPlugin {
	c := p.Hallucination()
	if c == nil || !c.Enabled {
		return nil
	}
	return &HallucinationPlugin{UseNLI: c.UseNLI, Action: c.EffectiveHallucinationAction(),
		UnverifiedAction: c.EffectiveUnverifiedFactualAction(), Details: c.IncludeHallucinationDetails,
		Detector: grounding.New(grounding.Options{})}
}
