package routes

import (
	"errors"
	"fmt"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/toolselect"
)

// attachTools compiles the tools and tool_selection plugins of every
// decision into Plugins.Tools (spec.Decisions is in FromConfig's order:
// routing, then each recipe's routing) and loads the tools databases they
// name. A database that cannot be read rejects the revision, with the YAML
// path and line of its tools_db_path. Relative paths are resolved against
// the gateway's working directory. The revision's decisions share one
// request-tool embedding cache.
func attachTools(cfg *config.Config, spec *Spec) error {
	cache := toolselect.NewCache(0)
	dbs := map[string]*toolselect.DB{}
	var errs []error
	k := 0
	visit := func(prefix string, r *config.Routing) {
		for i := range r.Decisions {
			d := &r.Decisions[i]
			if k >= len(spec.Decisions) || spec.Decisions[k].Name != d.Name {
				errs = append(errs, fmt.Errorf("%s.decisions[%d]: decision order mismatch", prefix, i))
				return
			}
			var tp *config.ToolsPlugin
			var sp *config.ToolSelectionPlugin
			var db *toolselect.DB
			for j, p := range d.Plugins {
				switch c := p.Configuration.(type) {
				case *config.ToolsPlugin:
					tp = c
				case *config.ToolSelectionPlugin:
					sp = c
					if !c.Enabled || toolselect.SelectionMode(c) != toolselect.SelectAdd || c.ToolsDBPath == "" {
						continue
					}
					path := fmt.Sprintf("%s.decisions[%d].plugins[%d].configuration.tools_db_path", prefix, i, j)
					loaded, ok := dbs[c.ToolsDBPath]
					if !ok {
						var err error
						loaded, err = toolselect.LoadDB(c.ToolsDBPath)
						if err != nil {
							errs = append(errs, config.Problem{Severity: config.SeverityError, Path: path,
								Line: cfg.Line(path), Message: err.Error()})
							continue
						}
						dbs[c.ToolsDBPath] = loaded
					}
					db = loaded
				}
			}
			// A semantic policy embeds the query itself when the config
			// needs no embedding otherwise (toolselect.Policy.Plan).
			spec.Decisions[k].Plugins.Tools = toolselect.New(tp, sp, db, cache)
			k++
		}
	}
	visit("routing", &cfg.Routing)
	for i := range cfg.Recipes {
		visit(fmt.Sprintf("recipes[%d].routing", i), &cfg.Recipes[i].Routing)
	}
	if len(errs) > 0 {
		return fmt.Errorf("tools plugins: %w", errors.Join(errs...))
	}
	return nil
}
