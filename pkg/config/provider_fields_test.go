package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestImplementedProviderFieldsHaveNoWarning checks that the provider and
// model-card fields the gateway acts on (backend_refs[].api_version,
// modelCards[].context_window_size, api_format anthropic) are not reported
// as having no effect.
func TestImplementedProviderFieldsHaveNoWarning(t *testing.T) {
	_, probs, err := Load(filepath.Join(upstreamDir(t), "reference-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		if strings.HasSuffix(p.Path, ".api_version") || strings.HasSuffix(p.Path, ".context_window_size") ||
			strings.HasSuffix(p.Path, ".api_format") {
			t.Errorf("unexpected problem %s: %s", p.Path, p.Message)
		}
	}
}
