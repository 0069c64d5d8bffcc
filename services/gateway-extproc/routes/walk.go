package routes

import (
	"errors"
	"fmt"

	"github.com/semrouter/semrouter/pkg/config"
)

// eachRouting calls fn for the top-level routing block, then for each
// recipe's routing block in config order, with the block's YAML path.
func eachRouting(cfg *config.Config, fn func(prefix string, r *config.Routing)) {
	fn("routing", &cfg.Routing)
	for i := range cfg.Recipes {
		fn(fmt.Sprintf("recipes[%d].routing", i), &cfg.Recipes[i].Routing)
	}
}

// eachDecision calls fn for every decision of cfg together with its
// compiled counterpart in spec.Decisions (which is in FromConfig's order:
// routing, then each recipe's routing) and the decision's YAML path
// ("routing.decisions[0]"). It returns the errors fn reports, in order; a
// decision that does not line up with spec.Decisions ends the walk of its
// routing block with an order mismatch error.
func eachDecision(cfg *config.Config, spec *Spec, fn func(path string, d *config.Decision, out *Decision) []error) []error {
	var errs []error
	k := 0
	eachRouting(cfg, func(prefix string, r *config.Routing) {
		for i := range r.Decisions {
			d := &r.Decisions[i]
			path := fmt.Sprintf("%s.decisions[%d]", prefix, i)
			if k >= len(spec.Decisions) || spec.Decisions[k].Name != d.Name {
				errs = append(errs, fmt.Errorf("%s: decision order mismatch", path))
				return
			}
			errs = append(errs, fn(path, d, &spec.Decisions[k])...)
			k++
		}
	})
	return errs
}

// attachEach compiles every plugin whose configuration is a *C, in every
// decision, with compile, which stores the result in the decision's
// Plugins. A configuration compile refuses rejects the revision with the
// YAML path and line of the plugin's configuration; kind names the plugin
// type in the returned error.
func attachEach[C any](cfg *config.Config, spec *Spec, kind string, compile func(c *C, out *Plugins) error) error {
	errs := eachDecision(cfg, spec, func(path string, d *config.Decision, out *Decision) []error {
		var errs []error
		for j, p := range d.Plugins {
			c, ok := p.Configuration.(*C)
			if !ok {
				continue
			}
			if err := compile(c, &out.Plugins); err != nil {
				errs = append(errs, configProblem(cfg, fmt.Sprintf("%s.plugins[%d].configuration", path, j), err))
			}
		}
		return errs
	})
	if len(errs) > 0 {
		return fmt.Errorf("%s plugins: %w", kind, errors.Join(errs...))
	}
	return nil
}

// configProblem is err as an error at the YAML path of cfg, with its line.
func configProblem(cfg *config.Config, path string, err error) config.Problem {
	return config.Problem{Severity: config.SeverityError, Path: path, Line: cfg.Line(path), Message: err.Error()}
}
