package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
	// The NATS passwords are required: without them compose refuses the
	// file, naming the variable; with them it validates. A local .env is
	// left out (an empty --env-file) so that only this environment counts.
	empty := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SEMROUTER_NATS_") {
			env = append(env, kv)
		}
	}
	compose := func(env []string) ([]byte, error) {
		cmd := exec.Command(dc, "--env-file", empty, "-f", "docker-compose.yaml", "config", "-q")
		cmd.Dir = filepath.Join(repoRoot, "deploy", "compose")
		cmd.Env = env
		return cmd.CombinedOutput()
	}
	if out, err := compose(env); err == nil || !strings.Contains(string(out), "SEMROUTER_NATS_") {
		t.Errorf("docker-compose config -q without the NATS passwords: %v, want a refusal naming them\n%s", err, out)
	}
	for _, u := range natsUsers {
		env = append(env, u.passwordEnv+"=test-password")
	}
	if out, err := compose(env); err != nil {
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
