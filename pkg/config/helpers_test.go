package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// repoRoot walks up from the working directory to the directory holding go.work.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.work not found above the working directory")
		}
		dir = parent
	}
}

// upstreamDir is the folder of the upstream v0.3 fixtures: $SEMROUTER_UPSTREAM,
// or ../shared/upstream next to the repository (read at test time, never
// copied). When it is missing the test fails under CI=true and is skipped
// otherwise.
func upstreamDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SEMROUTER_UPSTREAM")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), "..", "shared", "upstream")
	}
	if _, err := os.Stat(filepath.Join(dir, "reference-config.yaml")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("upstream fixtures missing (%v): set SEMROUTER_UPSTREAM or provide ../shared/upstream", err)
		}
		t.Skipf("upstream fixtures missing (%v): set SEMROUTER_UPSTREAM or provide ../shared/upstream", err)
	}
	return dir
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// golden compares got with the golden file (rewriting it under -update).
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output:\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}
