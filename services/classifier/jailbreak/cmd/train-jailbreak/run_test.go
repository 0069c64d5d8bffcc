package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/jailbreak"
)

func TestRunRejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"test split", []string{"-root", t.TempDir(), "-train", "/data/warden_test.jsonl"}, "test splits are for evaluation only"},
		{"bad n-gram range", []string{"-root", t.TempDir(), "-ngrams", "3to5"}, `"3to5" is not MIN-MAX`},
		{"bad lambda", []string{"-root", t.TempDir(), "-lambdas", "x"}, `"x" is not a number`},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"bad gibberish order", []string{"-root", t.TempDir(), "-gibberish-orders", "4"}, `"4" is not an order 1…3`},
		{"bad gibberish window", []string{"-root", t.TempDir(), "-gibberish-windows", "0"}, `"0" is not a positive length`},
		{"bad gibberish mode", []string{"-root", t.TempDir(), "-gibberish-modes", "both"}, `"both" is not absolute or relative`},
		{"bad harm budget", []string{"-root", t.TempDir(), "-harm-mmlu-budget", "2"}, "-harm-mmlu-budget: want a share in [0, 1], got 2"},
		{"bad harm union budget", []string{"-root", t.TempDir(), "-harm-union-budget", "-0.1"}, "-harm-union-budget: want a share in [0, 1]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Run(t.Context(), tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}

func TestParseGibberishGrid(t *testing.T) {
	grid, err := parseGibberishGrid("2,3", "32,64", "absolute,relative")
	if err != nil {
		t.Fatal(err)
	}
	if len(grid) != 8 || grid[0].Order != 2 || grid[0].Window != 32 || grid[0].Relative || !grid[7].Relative || grid[7].Order != 3 || grid[7].Window != 64 {
		t.Fatalf("grid %+v", grid)
	}
}

func TestParseGrid(t *testing.T) {
	grid, err := parseGrid("1e-3, 3e-3", "2-4,3-5", 16, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(grid) != 4 || grid[3].MinN != 3 || grid[3].MaxN != 5 || grid[3].Lambda != 3e-3 || grid[0].Bits != 16 || grid[0].Iters != 100 {
		t.Fatalf("grid %+v", grid)
	}
}

// TestRunReproducesShippedHarm reruns the trainer with the shipped head's
// and gibberish detector's selected configurations only (the union check
// needs their out-of-fold scores) and expects weights/harm.json byte for
// byte. It needs the guard package, the shared datasets, the Python
// standard library and the Go module cache, as the trainer does.
func TestRunReproducesShippedHarm(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-validates the head (a few seconds)")
	}
	root, err := findRoot()
	if err != nil {
		t.Fatal(err)
	}
	train := filepath.Join(filepath.Dir(root), "shared", "datasets", "jailbreak", "warden_train.jsonl")
	for _, p := range []string{train, jailbreak.GuardDir(root), jailbreak.HarmPythonDir} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("missing: %v", err)
			}
			t.Skipf("missing: %v", err)
		}
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "harm.json")
	args := []string{"-root", root, "-lambdas", "1e-4", "-ngrams", "3-5", "-gibberish-orders", "3", "-gibberish-windows", "64",
		"-gibberish-modes", "absolute", "-out", filepath.Join(dir, "head.json"), "-gibberish-out", filepath.Join(dir, "gibberish.json"),
		"-harm-out", out}
	if err := Run(t.Context(), args, io.Discard); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(jailbreak.ShippedHarm()) {
		t.Fatalf("retrained harm detector differs from weights/harm.json:\n%s", got)
	}
	// The narrowed grid selects the shipped head: same weights.
	head, err := os.ReadFile(filepath.Join(dir, "head.json"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := jailbreak.ParseHead(head)
	if err != nil {
		t.Fatal(err)
	}
	want, err := jailbreak.ParseHead(jailbreak.ShippedHead())
	if err != nil {
		t.Fatal(err)
	}
	if h.Bias != want.Bias || h.GuardOverride == nil || want.GuardOverride == nil || *h.GuardOverride != *want.GuardOverride {
		t.Fatalf("narrowed grid trained another head: bias %v vs %v, override %+v vs %+v", h.Bias, want.Bias, h.GuardOverride, want.GuardOverride)
	}
}
