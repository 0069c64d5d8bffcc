package routes

import (
	"strings"

	"github.com/semrouter/semrouter/pkg/config"
)

// textOnlyModels names the models whose card says they cannot take image
// input: modality ar (autoregressive text) without a vision or multimodal
// capability. Cards with modality omni or diffusion, with such a
// capability, or without a modality do not constrain the model. As for
// context windows, the top-level routing block's card wins and a recipe's
// card fills in a model the top-level block's cards give no modality.
func textOnlyModels(cfg *config.Config) map[string]bool {
	out := map[string]bool{}
	seen := map[string]bool{}
	add := func(cards []config.ModelCard) {
		for _, c := range cards {
			if seen[c.Name] || c.Modality == "" {
				continue
			}
			seen[c.Name] = true
			if CardTextOnly(c) {
				out[c.Name] = true
			}
		}
	}
	eachRouting(cfg, func(_ string, r *config.Routing) { add(r.ModelCards) })
	return out
}

// CardTextOnly reports whether a model card rules out image input.
func CardTextOnly(c config.ModelCard) bool {
	if !strings.EqualFold(c.Modality, "ar") {
		return false
	}
	for _, cap := range c.Capabilities {
		switch strings.ToLower(cap) {
		case "vision", "multimodal":
			return false
		}
	}
	return true
}
