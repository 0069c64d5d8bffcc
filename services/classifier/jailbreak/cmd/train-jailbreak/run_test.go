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

func TestParseGrid(t *testing.T) {
	grid, err := parseGrid("1e-3, 3e-3", "2-4,3-5", 16, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(grid) != 4 || grid[3].MinN != 3 || grid[3].MaxN != 5 || grid[3].Lambda != 3e-3 || grid[0].Bits != 16 || grid[0].Iters != 100 {
		t.Fatalf("grid %+v", grid)
	}
}
