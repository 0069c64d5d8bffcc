package jailbreak

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// missing skips the test with reason, or fails it when CI=true: there,
// everything scripts/setup-guard.sh and the shared datasets provide must be
// present.
func missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf(format, args...)
	}
	tb.Skipf(format, args...)
}

// repoRoot is the folder holding go.work above the working directory.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.work above the working directory")
		}
		dir = parent
	}
}

// guardDir is the unpacked llm_guardrail package.
func guardDir(tb testing.TB) string {
	tb.Helper()
	dir := GuardDir(repoRoot(tb))
	if _, err := guardFiles(dir); err != nil {
		missing(tb, "llm_guardrail models missing (run scripts/setup-guard.sh): %v", err)
	}
	return dir
}

// datasetPath is a file of the shared jailbreak datasets.
func datasetPath(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(filepath.Dir(repoRoot(tb)), "shared", "datasets", "jailbreak", name)
	if _, err := os.Stat(p); err != nil {
		missing(tb, "dataset missing: %v", err)
	}
	return p
}

var (
	sharedOnce   sync.Once
	sharedScorer *Scorer
	sharedErr    error
)

// testScorer loads the real guard models with the shipped head, once per
// test binary.
func testScorer(tb testing.TB) *Scorer {
	tb.Helper()
	dir := guardDir(tb)
	sharedOnce.Do(func() { sharedScorer, sharedErr = Load(dir) })
	if sharedErr != nil {
		tb.Fatal(sharedErr)
	}
	return sharedScorer
}
