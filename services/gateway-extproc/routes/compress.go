package routes

import (
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/compress"
)

// attachCompression compiles the context_compression plugin of every
// decision into Plugins.Compression (spec.Decisions is in FromConfig's
// order: routing, then each recipe's routing). A configuration the
// compiler refuses rejects the revision with the plugin's YAML path and
// line (validation reports the same values first).
func attachCompression(cfg *config.Config, spec *Spec) error {
	return attachEach(cfg, spec, "context_compression", func(c *config.ContextCompressionPlugin, out *Plugins) error {
		pol, err := compress.New(c)
		if err != nil {
			return err
		}
		out.Compression = pol
		return nil
	})
}
