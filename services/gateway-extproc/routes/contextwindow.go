package routes

import "github.com/semrouter/semrouter/pkg/config"

// contextWindows maps model names to routing.modelCards[].context_window_size.
// The top-level routing block's cards win; a recipe's card fills in a
// model the top-level block has no (positive) window for, the first recipe
// in config order first. Cards without a positive size are ignored.
func contextWindows(cfg *config.Config) map[string]int {
	out := map[string]int{}
	add := func(cards []config.ModelCard) {
		for _, c := range cards {
			if c.ContextWindowSize <= 0 {
				continue
			}
			if _, ok := out[c.Name]; !ok {
				out[c.Name] = c.ContextWindowSize
			}
		}
	}
	eachRouting(cfg, func(_ string, r *config.Routing) { add(r.ModelCards) })
	return out
}
