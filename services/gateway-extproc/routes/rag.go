package routes

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/rag"
)

// attachRAG compiles the rag plugin of every decision into Plugins.RAG
// (spec.Decisions is in FromConfig's order, as for attachTools). A
// backend_config that cannot be used rejects the revision, with the YAML
// path and line of the plugin's configuration. The revision's plugins
// share one result cache and one HTTP client.
func attachRAG(cfg *config.Config, spec *Spec) error {
	opts := rag.Options{Cache: rag.NewCache(0, nil), HTTP: &http.Client{}}
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
				c, ok := p.Configuration.(*config.RAGPlugin)
				if !ok {
					continue
				}
				compiled, err := rag.Compile(c, opts)
				if err != nil {
					path := fmt.Sprintf("%s.decisions[%d].plugins[%d].configuration", prefix, i, j)
					errs = append(errs, config.Problem{Severity: config.SeverityError, Path: path,
						Line: cfg.Line(path), Message: err.Error()})
					continue
				}
				spec.Decisions[k].Plugins.RAG = compiled
			}
			k++
		}
	}
	visit("routing", &cfg.Routing)
	for i := range cfg.Recipes {
		visit(fmt.Sprintf("recipes[%d].routing", i), &cfg.Recipes[i].Routing)
	}
	if len(errs) > 0 {
		return fmt.Errorf("rag plugins: %w", errors.Join(errs...))
	}
	return nil
}
