package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

var update = flag.Bool("update", false, "rewrite golden files")

// run runs the CLI in a temporary directory holding copies of testdata's
// inputs, so that outputs name files relatively.
func run(t *testing.T, args ...string) (stdout, stderr string, code int, dir string) {
	t.Helper()
	src := filepath.Dir(goldenRoot)
	dir = t.TempDir()
	for _, f := range []string{"valid.yaml", "invalid.yaml", "legacy.yaml"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	err := Run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), ExitCode(err), dir
}

func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir(t), name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (go test -update creates it): %v", name, err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got ---\n%s--- want ---\n%s", name, got, want)
	}
}

// goldenDir is resolved before tests change directory.
func goldenDir(t *testing.T) string {
	t.Helper()
	return goldenRoot
}

var goldenRoot = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "testdata", "golden")
}()

func TestRunGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no-args", nil, ExitUsage},
		{"help", []string{"--help"}, ExitOK},
		{"help-short", []string{"-h"}, ExitOK},
		{"unknown-command", []string{"frobnicate"}, ExitUsage},
		{"validate-valid", []string{"validate", "valid.yaml"}, ExitOK},
		{"validate-invalid", []string{"validate", "invalid.yaml"}, ExitInvalid},
		{"validate-invalid-json", []string{"validate", "invalid.yaml", "--json"}, ExitInvalid},
		{"validate-valid-json", []string{"validate", "--json", "valid.yaml"}, ExitOK},
		{"validate-no-file", []string{"validate"}, ExitUsage},
		{"validate-two-files", []string{"validate", "a.yaml", "b.yaml"}, ExitUsage},
		{"validate-missing-file", []string{"validate", "missing.yaml"}, ExitInvalid},
		{"validate-bad-flag", []string{"validate", "--yaml", "valid.yaml"}, ExitUsage},
		{"validate-help", []string{"validate", "--help"}, ExitOK},
		{"version-help", []string{"version", "-h"}, ExitOK},
		{"version-extra-arg", []string{"version", "now"}, ExitUsage},
		{"config-group", []string{"config"}, ExitUsage},
		{"config-group-help", []string{"config", "--help"}, ExitOK},
		{"config-unknown", []string{"config", "frob"}, ExitUsage},
		{"migrate-help", []string{"config", "migrate", "-h"}, ExitOK},
		{"help-command", []string{"help", "config", "migrate"}, ExitOK},
		{"migrate-stdout", []string{"config", "migrate", "--config", "legacy.yaml"}, ExitOK},
		{"migrate-no-config", []string{"config", "migrate"}, ExitUsage},
		{"migrate-canonical", []string{"config", "migrate", "--config", "valid.yaml"}, ExitOK},
		{"migrate-invalid-result", []string{"config", "migrate", "--config", "invalid.yaml"}, ExitInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code, _ := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			goldenFile(t, tt.name+".stdout", stdout)
			goldenFile(t, tt.name+".stderr", stderr)
		})
	}
}

func TestVersion(t *testing.T) {
	stdout, stderr, code, _ := run(t, "version")
	if code != ExitOK || stderr != "" {
		t.Fatalf("code %d stderr %q", code, stderr)
	}
	if !regexp.MustCompile(`^semrouter \S+ \(go1\.\d+\S* \w+/\w+\)\n$`).MatchString(stdout) {
		t.Errorf("version output %q", stdout)
	}
	if out, _, _, _ := run(t, "--version"); out != stdout {
		t.Errorf("--version differs from version: %q", out)
	}
}

func TestValidateJSON(t *testing.T) {
	stdout, _, code, _ := run(t, "validate", "--json", "invalid.yaml")
	if code != ExitInvalid {
		t.Fatalf("code %d", code)
	}
	var rep struct {
		Valid  bool
		Errors []struct {
			Severity, Path, Message string
			Line                    int
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if rep.Valid || len(rep.Errors) != 4 {
		t.Errorf("report %+v", rep)
	}
	for _, e := range rep.Errors {
		if e.Severity != "error" || e.Path == "" || e.Line == 0 {
			t.Errorf("incomplete problem %+v", e)
		}
	}
}

func TestMigrateOutputFile(t *testing.T) {
	stdout, stderr, code, dir := run(t, "config", "migrate", "--config", "legacy.yaml", "--output", "new.yaml")
	if code != ExitOK || stdout != "" {
		t.Fatalf("code %d stdout %q stderr %q", code, stdout, stderr)
	}
	written, err := os.ReadFile(filepath.Join(dir, "new.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(goldenRoot, "migrate-stdout.stdout"))
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != string(want) {
		t.Errorf("file differs from the stdout form:\n%s", written)
	}

	// a second run refuses to overwrite, and leaves the file alone
	if err := os.WriteFile("new.yaml", []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err = Run(context.Background(), []string{"config", "migrate", "--config", "legacy.yaml", "--output", "new.yaml"}, &out, &errOut)
	if ExitCode(err) != ExitUsage {
		t.Fatalf("overwrite without --force: code %d, stderr %s", ExitCode(err), errOut.String())
	}
	if got, _ := os.ReadFile("new.yaml"); string(got) != "keep me\n" {
		t.Errorf("file was overwritten without --force")
	}
	if !bytes.Contains(errOut.Bytes(), []byte("refusing to overwrite new.yaml (use --force)")) {
		t.Errorf("stderr %q", errOut.String())
	}

	// --force replaces it
	errOut.Reset()
	err = Run(context.Background(), []string{"config", "migrate", "--config", "legacy.yaml", "--output", "new.yaml", "--force"}, &out, &errOut)
	if ExitCode(err) != ExitOK {
		t.Fatalf("--force: code %d stderr %s", ExitCode(err), errOut.String())
	}
	if got, _ := os.ReadFile("new.yaml"); string(got) != string(want) {
		t.Errorf("--force did not replace the file")
	}
	// and the result validates
	out.Reset()
	if err := Run(context.Background(), []string{"validate", "new.yaml"}, &out, &errOut); err != nil {
		t.Errorf("migrated file does not validate: %v\n%s", err, errOut.String())
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	err := Run(ctx, []string{"validate", filepath.Join(filepath.Dir(goldenRoot), "valid.yaml")}, &out, &errOut)
	if err == nil || ExitCode(err) != ExitInvalid {
		t.Errorf("canceled run: %v", err)
	}
}

func TestRegistryLookup(t *testing.T) {
	r := &Registry{}
	r.Register(&Command{Name: "config"})
	r.Register(&Command{Name: "config migrate"})
	r.Register(&Command{Name: "config xds"})
	for _, tt := range []struct {
		args []string
		want string
		rest int
	}{
		{[]string{"config", "migrate", "--x"}, "config migrate", 1},
		{[]string{"config", "xds"}, "config xds", 0},
		{[]string{"config", "other"}, "config", 1},
	} {
		c, rest := r.lookup(tt.args)
		if c == nil || c.Name != tt.want || len(rest) != tt.rest {
			t.Errorf("lookup(%v) = %v %v", tt.args, c, rest)
		}
	}
	if c, _ := r.lookup([]string{"serve"}); c != nil {
		t.Errorf("lookup found %v", c.Name)
	}
}

func TestValidateErrorWrapsConfigErrInvalid(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Run(context.Background(), []string{"validate", filepath.Join(filepath.Dir(goldenRoot), "invalid.yaml")}, &out, &errOut)
	if !errors.Is(err, config.ErrInvalid) {
		t.Errorf("error %v does not wrap config.ErrInvalid", err)
	}
}
