// Package integration holds black-box tests: they build the real binaries
// once and run them as separate OS processes.
package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bins maps a binary name to its path, built by TestMain.
var bins = map[string]string{}

// repoRoot is the directory holding go.work.
var repoRoot string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			repoRoot = dir
			break
		}
		if dir == filepath.Dir(dir) {
			fmt.Fprintln(os.Stderr, "integration: go.work not found above", wd)
			return 1
		}
	}
	out, err := os.MkdirTemp("", "semrouter-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(out)
	for name, pkg := range map[string]string{
		"semrouter": "./cmd/semrouter",
	} {
		path := filepath.Join(out, name)
		cmd := exec.Command("go", "build", "-o", path, pkg)
		cmd.Dir = repoRoot
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "integration: build %s: %v\n", name, err)
			return 1
		}
		bins[name] = path
	}
	return m.Run()
}

// sharedDir is ../shared beside the checkout (fixtures and datasets).
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(repoRoot), "shared")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared folder missing at %s", dir)
		}
		t.Skipf("shared folder missing at %s", dir)
	}
	return dir
}
