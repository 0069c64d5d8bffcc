package described

import (
	"os"
	"path/filepath"
	"regexp/syntax"
	"slices"
	"strings"
	"testing"
)

func TestRequiredLiterals(t *testing.T) {
	tests := []struct {
		name, pattern string
		want          []string // nil: no filter
	}{
		{"literal", `thanks`, []string{"thanks"}},
		{"alternation", `\b(thanks|cheers)\b`, []string{"thanks", "cheers"}},
		{"optional part is skipped", `\b(is|was) (wrong|incorrect)\b`, []string{"wrong", "incorrect"}},
		{"star cannot filter", `a*`, nil},
		{"one branch without literal", `(thanks|\d+)`, nil},
		{"anchor and class only", `^\s*\w+$`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			re, err := syntax.Parse(tc.pattern, syntax.Perl)
			if err != nil {
				t.Fatal(err)
			}
			got := requiredLiterals(re)
			if (got == nil) != (tc.want == nil) {
				t.Fatalf("%q: got %q, want %q", tc.pattern, got, tc.want)
			}
			// Parse may factor common prefixes; every wanted literal must
			// still contain one of the literals found.
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(g string) bool { return strings.Contains(w, g) }) {
					t.Errorf("%q: literals %q miss %q", tc.pattern, got, w)
				}
			}
		})
	}
}

// TestCuePrefilterNeverDropsAMatch: over every exemplar and validation
// text, a cue with its literal filter matches exactly when its pattern does.
func TestCuePrefilterNeverDropsAMatch(t *testing.T) {
	var texts []string
	var cues []cue
	for _, k := range []*Knowledge{FactCheck(), UserFeedback()} {
		for _, c := range k.all() {
			texts = append(texts, c.Exemplars...)
			cs, err := compileCues(c.Cues)
			if err != nil {
				t.Fatal(err)
			}
			cues = append(cues, cs...)
		}
	}
	for _, f := range []string{"fact_check_val.tsv", "user_feedback_val.tsv", "fact_check_holdout.tsv", "user_feedback_holdout.tsv"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if fs := strings.Split(line, "\t"); len(fs) > 1 && !strings.HasPrefix(line, "#") {
				texts = append(texts, fs[len(fs)-1])
			}
		}
	}
	filtered, matched := 0, 0
	for _, c := range cues {
		if c.need != nil {
			filtered++
		}
		for _, s := range texts {
			s = strings.ToLower(s)
			want := c.re.MatchString(s)
			if got := c.match(s); got != want {
				t.Errorf("cue %q on %q: match %v, pattern %v", c.re, s, got, want)
			}
			if want {
				matched++
			}
		}
	}
	if filtered < len(cues)/2 || matched == 0 {
		t.Errorf("%d of %d cues have a literal filter, %d matches: the check is vacuous", filtered, len(cues), matched)
	}
}
