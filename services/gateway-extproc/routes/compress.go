package routes

import (
	"errors"
	"fmt"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/compress"
)

// attachCompression compiles the context_compression plugin of every
// decision into Plugins.Compression (spec.Decisions is in FromConfig's
// order: routing, then each recipe's routing). A configuration the
// compiler refuses rejects the revision with the plugin's YAML path and
// line (validation reports the same values first).
func attachCompression(cfg *config.Config, spec *Spec) error {
	var errs []error
	k := 0
	visit := func(prefix string, r *config.Routing) {
		for i := range r.Decisions {
			d := &r.Decisions[i]
			if k >= len(spec.Decisions) || spec.Decisions[k].Name != d.Name {
				errs = append(errs, fmt.Errorf("%s.decisions[%d]: decision order mismatch", prefix, i))
				return
			}
			for j, p := range d.Plugins {
				c, ok := p.Configuration.(*config.ContextCompressionPlugin)
				if !ok {
					continue
				}
				pol, err := compress.New(c)
				if err != nil {
					path := fmt.Sprintf("%s.decisions[%d].plugins[%d].configuration", prefix, i, j)
					errs = append(errs, config.Problem{Severity: config.SeverityError, Path: path,
						Line: cfg.Line(path), Message: err.Error()})
					continue
				}
				spec.Decisions[k].Plugins.Compression = pol
			}
			k++
		}
	}
	visit("routing", &cfg.Routing)
	for i := range cfg.Recipes {
		visit(fmt.Sprintf("recipes[%d].routing", i), &cfg.Recipes[i].Routing)
	}
	if len(errs) > 0 {
		return fmt.Errorf("context_compression plugins: %w", errors.Join(errs...))
	}
	return nil
}
