package routes

import (
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
	return attachEach(cfg, spec, "rag", func(c *config.RAGPlugin, out *Plugins) error {
		compiled, err := rag.Compile(c, opts)
		if err != nil {
			return err
		}
		out.RAG = compiled
		return nil
	})
}
