package routes

import (
	"net/http"
	"os"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/imagegen"
)

// attachImageGen compiles the image_gen plugin of every decision into
// Plugins.ImageGen. A backend_config that cannot be used rejects the
// revision, with the YAML path and line of the plugin's configuration.
// The revision's plugins share one HTTP client; an openai backend without
// api_key reads OPENAI_API_KEY once, here.
func attachImageGen(cfg *config.Config, spec *Spec) error {
	opts := imagegen.Options{HTTP: &http.Client{}, Getenv: os.Getenv}
	return attachEach(cfg, spec, "image_gen", func(c *config.ImageGenPlugin, out *Plugins) error {
		compiled, err := imagegen.Compile(c, opts)
		if err != nil {
			return err
		}
		out.ImageGen = compiled
		return nil
	})
}
