package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchE2EUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"zero requests", []string{"bench", "e2e", "--requests", "0"}, "--requests and --concurrency must be at least 1"},
		{"negative concurrency", []string{"bench", "e2e", "--concurrency", "-2"}, "--requests and --concurrency must be at least 1"},
		{"zero duration", []string{"bench", "e2e", "--duration", "0s"}, "--duration positive"},
		{"positional argument", []string{"bench", "e2e", "extra"}, "takes no positional arguments"},
		{"unknown flag", []string{"bench", "e2e", "--rate", "5"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := NewRegistry().run(context.Background(), &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Logger: discardLogger()}, tc.args)
			if ExitCode(err) != ExitUsage || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("exit %d, error %v; want a usage error with %q", ExitCode(err), err, tc.want)
			}
		})
	}
}

func TestBenchE2EMissingConfig(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	err := NewRegistry().run(context.Background(), &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Logger: discardLogger()},
		[]string{"bench", "e2e", "--config", missing, "--requests", "1"})
	if ExitCode(err) != ExitInvalid || err == nil || !strings.Contains(err.Error(), "read config") {
		t.Fatalf("exit %d, error %v; want exit %d naming the config", ExitCode(err), err, ExitInvalid)
	}
}
