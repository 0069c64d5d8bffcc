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
	errs := eachDecision(cfg, spec, func(dpath string, d *config.Decision, out *Decision) []error {
		var errs []error
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
				loaded, ok := dbs[c.ToolsDBPath]
				if !ok {
					var err error
					loaded, err = toolselect.LoadDB(c.ToolsDBPath)
					if err != nil {
						path := fmt.Sprintf("%s.plugins[%d].configuration.tools_db_path", dpath, j)
						errs = append(errs, configProblem(cfg, path, err))
						continue
					}
					dbs[c.ToolsDBPath] = loaded
				}
				db = loaded
			}
		}
		// A semantic policy embeds the query itself when the config
		// needs no embedding otherwise (toolselect.Policy.Plan).
		out.Plugins.Tools = toolselect.New(tp, sp, db, cache)
		return errs
	})
	if len(errs) > 0 {
		return fmt.Errorf("tools plugins: %w", errors.Join(errs...))
	}
	return nil
}
