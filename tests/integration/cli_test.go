package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// semrouter runs the built CLI and returns stdout, stderr and the exit code.
func semrouter(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bins["semrouter"], args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run semrouter %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func TestValidateAcceptsEveryUpstreamConfig(t *testing.T) {
	up := filepath.Join(sharedDir(t), "upstream")
	files := []string{filepath.Join(up, "reference-config.yaml")}
	more, _ := filepath.Glob(filepath.Join(up, "configs", "*.yaml"))
	files = append(files, more...)
	files = append(files, filepath.Join(repoRoot, "config", "quickstart.yaml"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			stdout, stderr, code := semrouter(t, "validate", f)
			if code != 0 {
				t.Fatalf("validate exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
		})
	}
}

func TestValidateReportsEveryErrorWithPathAndLine(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	doc := `version: v0.3
listeners:
  - name: a
    address: 0.0.0.0
    port: 8080
providers:
  defaults:
    default_model: nowhere
  models:
    - name: m1
      backend_refs:
        - endpoint: 127.0.0.1:8000
routing:
  signals:
    keywords:
      - name: k
        operator: OR
        keywords: [x]
  decisions:
    - name: d
      rules:
        operator: AND
        conditions:
          - type: keyword
            name: missing_signal
      modelRefs:
        - model: ghost
`
	if err := os.WriteFile(bad, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := semrouter(t, "validate", bad)
	if code != 1 {
		t.Fatalf("validate exited %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	all := stdout + stderr
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`providers\.defaults\.default_model: .*\(line 8\)`),
		regexp.MustCompile(`routing\.decisions\[0\]\.rules\.conditions\[0\]\.name: .*\(line 25\)`),
		regexp.MustCompile(`routing\.decisions\[0\]\.modelRefs\[0\]\.model: .*\(line 27\)`),
	} {
		if !want.MatchString(all) {
			t.Errorf("output lacks %s:\n%s", want, all)
		}
	}
}

func TestMigrateRefusesToOverwriteWithoutForce(t *testing.T) {
	dir := t.TempDir()
	legacy := filepath.Join(dir, "old.yaml")
	if err := os.WriteFile(legacy, []byte(`default_model: m1
vllm_endpoints:
  - name: local
    address: 127.0.0.1
    port: 8000
    weight: 1
model_config:
  m1:
    preferred_endpoints: [local]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "new.yaml")
	if _, stderr, code := semrouter(t, "config", "migrate", "--config", legacy, "--output", out); code != 0 {
		t.Fatalf("migrate exited %d: %s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "version: v0.3") {
		t.Fatalf("migrated file is not canonical v0.3:\n%s", data)
	}
	if _, stderr, code := semrouter(t, "validate", out); code != 0 {
		t.Fatalf("migrated config does not validate: %s", stderr)
	}
	if _, _, code := semrouter(t, "config", "migrate", "--config", legacy, "--output", out); code == 0 {
		t.Fatal("migrate overwrote an existing file without --force")
	}
	if _, stderr, code := semrouter(t, "config", "migrate", "--config", legacy, "--output", out, "--force"); code != 0 {
		t.Fatalf("migrate --force exited %d: %s", code, stderr)
	}
}
