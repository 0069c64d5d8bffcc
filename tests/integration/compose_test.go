package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestComposeFileIsValid runs docker-compose's own validation (no engine is
// needed for `config -q`).
func TestComposeFileIsValid(t *testing.T) {
	dc, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("docker-compose is not installed (make setup installs it)")
		}
		t.Skip("docker-compose is not installed; run make setup")
	}
	cmd := exec.Command(dc, "-f", "docker-compose.yaml", "config", "-q")
	cmd.Dir = filepath.Join(repoRoot, "deploy", "compose")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker-compose config -q: %v\n%s", err, out)
	}
}

// TestComposeEnvoyBootstrapIsCurrent: the committed bootstrap is exactly
// what `semrouter config envoy` prints for the compose config, and that
// config validates.
func TestComposeEnvoyBootstrapIsCurrent(t *testing.T) {
	dir := filepath.Join(repoRoot, "deploy", "compose")
	if _, stderr, code := semrouter(t, "validate", filepath.Join(dir, "config.yaml")); code != 0 {
		t.Fatalf("deploy/compose/config.yaml is invalid:\n%s", stderr)
	}
	want, stderr, code := semrouter(t, "config", "envoy", "--config", filepath.Join(dir, "config.yaml"),
		"--xds-addr", "config-hub:18000", "--admin-addr", "0.0.0.0:9901")
	if code != 0 {
		t.Fatalf("config envoy: %s", stderr)
	}
	got, err := os.ReadFile(filepath.Join(dir, "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte(want)) {
		t.Fatalf("deploy/compose/envoy.yaml is stale; regenerate it with:\n  semrouter config envoy --config deploy/compose/config.yaml --xds-addr config-hub:18000 --admin-addr 0.0.0.0:9901 > deploy/compose/envoy.yaml")
	}
}
