package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func quickstartPath(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "config", "quickstart.yaml")
}

func TestConfigEnvoyPrintsAnADSBootstrap(t *testing.T) {
	var out, errb bytes.Buffer
	err := Run(context.Background(), []string{"config", "envoy", "--config", quickstartPath(t), "--xds-addr", "config-hub:18000"}, &out, &errb)
	if err != nil {
		t.Fatalf("config envoy: %v\n%s", err, errb.String())
	}
	var doc map[string]any
	if err := yaml.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("bootstrap is not YAML: %v\n%s", err, out.String())
	}
	for _, key := range []string{"node", "dynamic_resources", "static_resources"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("bootstrap lacks %q", key)
		}
	}
	if !strings.Contains(out.String(), "config-hub") || !strings.Contains(out.String(), "18000") {
		t.Fatalf("bootstrap does not point at the xDS address:\n%s", out.String())
	}
}

func TestConfigXDSPrintsEveryResourceKind(t *testing.T) {
	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"config", "xds", "--config", quickstartPath(t)}, &out, &errb); err != nil {
		t.Fatalf("config xds: %v\n%s", err, errb.String())
	}
	var res map[string][]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"listeners", "routes", "clusters"} {
		if len(res[kind]) == 0 {
			t.Errorf("no %s in %s", kind, out.String())
		}
	}
	// One cluster per model of the quickstart.
	for _, model := range []string{"small-chat", "code-expert", "big-reasoner"} {
		if !strings.Contains(out.String(), model) {
			t.Errorf("no cluster for model %s", model)
		}
	}
}

func TestConfigEnvoyRejectsAnInvalidConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	writeFile(t, bad, "version: v0.3\nproviders:\n  defaults:\n    default_model: ghost\n")
	var out, errb bytes.Buffer
	err := Run(context.Background(), []string{"config", "envoy", "--config", bad}, &out, &errb)
	if ExitCode(err) != ExitInvalid || !strings.Contains(errb.String(), "providers.defaults.default_model") {
		t.Fatalf("exit %d, stderr:\n%s", ExitCode(err), errb.String())
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
