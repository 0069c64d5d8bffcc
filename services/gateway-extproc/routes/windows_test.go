package routes

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/windows"
)

// TestWindowsFromConfig maps windowed_metrics blocks parsed from YAML.
func TestWindowsFromConfig(t *testing.T) {
	std := []time.Duration{time.Minute, 5 * time.Minute, time.Hour}
	cases := []struct {
		name    string
		metrics string
		want    windows.Settings
	}{
		{"no block", "{enabled: true}", windows.Settings{}},
		{"disabled", "{windowed_metrics: {enabled: false, time_windows: [1m]}}", windows.Settings{}},
		{"metrics off", "{enabled: false, windowed_metrics: {enabled: true, time_windows: [1m]}}", windows.Settings{}},
		{"reference", "{windowed_metrics: {enabled: true, time_windows: [1m, 5m, 1h], update_interval: 30s, model_metrics: true, queue_depth_estimation: true, max_models: 50}}",
			windows.Settings{Enabled: true, Windows: std, UpdateInterval: 30 * time.Second, PerModel: true, QueueDepth: true, MaxModels: 50}},
		{"defaults", "{windowed_metrics: {enabled: true, time_windows: [10s, 1m]}}",
			windows.Settings{Enabled: true, Windows: []time.Duration{10 * time.Second, time.Minute}, UpdateInterval: 10 * time.Second,
				PerModel: true, MaxModels: windows.DefaultMaxModels}},
		{"aggregated", "{windowed_metrics: {enabled: true, time_windows: [1h], model_metrics: false, max_models: 3}}",
			windows.Settings{Enabled: true, Windows: []time.Duration{time.Hour}, UpdateInterval: DefaultWindowUpdate, MaxModels: 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := "version: v0.3\nlisteners: [{name: http, port: 8899}]\nproviders:\n  defaults: {default_model: m1}\n  models:\n    - name: m1\n      backend_refs: [{name: b, endpoint: \"127.0.0.1:8000\"}]\n" +
				"global:\n  services:\n    observability:\n      metrics: " + tc.metrics + "\n"
			cfg, probs, err := config.Parse([]byte(doc), "windows")
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if probs.HasErrors() {
				t.Fatalf("problems: %v", probs)
			}
			if got := WindowsFromConfig(cfg); !got.Equal(tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestWindowsFromReferenceConfig: the upstream reference config turns the
// windows on through FromConfig.
func TestWindowsFromReferenceConfig(t *testing.T) {
	cfg, _, err := config.Load(filepath.Join(repoRoot(t), "..", "shared", "upstream", "reference-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := FromConfig(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := windows.Settings{Enabled: true, Windows: []time.Duration{time.Minute, 5 * time.Minute, time.Hour},
		UpdateInterval: 30 * time.Second, PerModel: true, QueueDepth: true, MaxModels: 50}
	if !spec.Windows.Equal(want) {
		t.Errorf("spec.Windows = %+v, want %+v", spec.Windows, want)
	}
}
