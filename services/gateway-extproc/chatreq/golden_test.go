package chatreq

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestRewriteGolden applies every edit kind to a reference-shaped request;
// the expected bytes live in testdata/*.golden.json (go test -update).
func TestRewriteGolden(t *testing.T) {
	cases := []struct {
		name string
		w    Rewrite
	}{
		{"all_edits_qwen3", Rewrite{Model: "qwen3-32b-instruct", IncludeUsage: true,
			Reasoning:    &Reasoning{Type: FamilyChatTemplateKwargs, Parameter: "enable_thinking", On: true},
			SystemPrompt: &SystemPrompt{Mode: "insert", Text: "You are a senior business consultant."},
			Params:       &Params{Blocked: []string{"logprobs", "top_logprobs"}, MaxTokensLimit: 8192, MaxN: 4}}},
		{"replace_prompt_gpt_effort", Rewrite{Model: "gpt-oss", IncludeUsage: true,
			Reasoning:    &Reasoning{Type: FamilyReasoningEffort, Parameter: "reasoning.effort", On: true, Effort: "high"},
			SystemPrompt: &SystemPrompt{Mode: "replace", Text: "Be terse."}}},
	}
	in, err := os.ReadFile(filepath.Join("testdata", "request_full.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			got, changed, err := r.Apply(&tc.w)
			if err != nil || !changed {
				t.Fatalf("changed=%v err=%v", changed, err)
			}
			path := filepath.Join("testdata", tc.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("rewrite differs from %s:\n%s", path, got)
			}
		})
	}
}
