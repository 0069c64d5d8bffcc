package routes

import (
	"path/filepath"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

// TestHallucinationFromConfig maps the reference config's hallucination
// plugin, the defaults, annotate, and a disabled plugin.
func TestHallucinationFromConfig(t *testing.T) {
	cfg, _, err := config.Load(filepath.Join(repoRoot(t), "..", "shared", "upstream", "reference-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := FromConfig(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	var ref *HallucinationPlugin
	for _, d := range spec.Decisions {
		if d.Plugins.Hallucination != nil {
			ref = d.Plugins.Hallucination
		}
	}
	if ref == nil || !ref.UseNLI || ref.Action != "header" || ref.UnverifiedAction != "header" || !ref.Details || ref.Detector == nil {
		t.Errorf("reference hallucination plugin %+v", ref)
	}
	cases := []struct {
		name        string
		c           *config.HallucinationPlugin
		on          bool
		act, unverf string
	}{
		{"defaults", &config.HallucinationPlugin{Enabled: true}, true, "header", "header"},
		{"annotate reads body", &config.HallucinationPlugin{Enabled: true, HallucinationAction: "block", UnverifiedFactualAction: "annotate"}, true, "block", "body"},
		{"off", &config.HallucinationPlugin{HallucinationAction: "block"}, false, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got Plugins
			responsePluginFromConfig(config.Plugin{Type: config.PluginHallucination, Configuration: tc.c}, &got)
			h := got.Hallucination
			if (h != nil) != tc.on || h != nil && (h.Action != tc.act || h.UnverifiedAction != tc.unverf || h.Detector == nil) {
				t.Errorf("got %+v", h)
			}
		})
	}
}
