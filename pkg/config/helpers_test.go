package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
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

// pluginConfigPath is the YAML path of the configuration of the plugin
// that checkPluginProblems adds.
const pluginConfigPath = "routing.decisions[0].plugins[0].configuration"

// pluginCase is a named plugin validation case: the plugin (a flow-style
// YAML mapping) and the problems it must produce, no more.
type pluginCase struct {
	name   string
	plugin string
	want   []wantProblem
}

// runPluginCases runs each case as a subtest with checkPluginProblems;
// wrap, when not nil, turns a case's plugin text into the plugin.
func runPluginCases(t *testing.T, file string, cases []pluginCase, wrap func(string) string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plugin := tc.plugin
			if wrap != nil {
				plugin = wrap(plugin)
			}
			checkPluginProblems(t, file, plugin, tc.want)
		})
	}
}

// wantProblem is one problem a plugin validation case expects: its
// severity, its exact YAML path and a part of its message.
type wantProblem struct {
	sev  Severity
	path string
	msg  string
}

// checkPluginProblems parses invalidBase with plugin (a flow-style YAML
// mapping) as the only plugin of its first decision, under the file name
// file, and checks that the problems under routing.decisions[0].plugins are
// exactly want: each wanted one is there, there are no others, and every
// one carries a line.
func checkPluginProblems(t *testing.T, file, plugin string, want []wantProblem) {
	t.Helper()
	doc := invalidBase + "      plugins:\n        - " + plugin + "\n"
	checkProblemsUnder(t, doc, file, "routing.decisions[0].plugins", want, 0)
}

// checkProblemsUnder parses doc under the file name file and checks that
// the problems whose path starts with prefix are exactly want: each wanted
// one is there, there are no others, and each is on line (any line but 0
// when line is 0).
func checkProblemsUnder(t *testing.T, doc, file, prefix string, want []wantProblem, line int) {
	t.Helper()
	_, probs, _ := Parse([]byte(doc), file)
	var mine Problems
	for _, p := range probs {
		if strings.HasPrefix(p.Path, prefix) {
			mine = append(mine, p)
		}
	}
	for _, w := range want {
		if !hasProblem(mine, w.sev, w.path, w.msg) {
			t.Errorf("missing %v %s: %s\ngot:\n%s", w.sev, w.path, w.msg, mine)
		}
	}
	if len(mine) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(mine), len(want), mine)
	}
	for _, p := range mine {
		if line == 0 && p.Line == 0 {
			t.Errorf("problem without a line: %v", p)
		}
		if line != 0 && p.Line != line {
			t.Errorf("problem at line %d, want %d: %v", p.Line, line, p)
		}
	}
}
