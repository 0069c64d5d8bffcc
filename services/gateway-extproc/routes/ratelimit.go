package routes

import (
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/ratelimit"
)

// attachRateLimit compiles global.services.ratelimit into Spec.RateLimit
// (left nil when the block is absent or limits nothing). The gateway
// keeps the budgets of unchanged rules across revisions.
func attachRateLimit(cfg *config.Config, spec *Spec) error {
	s, err := ratelimit.FromConfig(cfg.Global.Services.RateLimit)
	if err != nil {
		return err
	}
	if s.Enabled() {
		spec.RateLimit = &s
	}
	return nil
}
