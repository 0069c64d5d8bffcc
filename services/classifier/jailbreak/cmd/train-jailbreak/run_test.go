package main

import (
	"io"
	"strings"
	"testing"
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
