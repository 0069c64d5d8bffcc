package config

import (
	"strings"
	"testing"
)

// TestRatingsValidation: algorithm ratings is implemented (no "falls back
// to static" warning, only the API-mode-only one); ratings.max_concurrent
// must not be negative and ratings.on_error must be skip or fail, each
// problem with its YAML path and line.
func TestRatingsValidation(t *testing.T) {
	const ap = "routing.decisions[0].algorithm"
	apiOnly := wantProblem{SeverityWarning, ap + ".type", `algorithm "ratings" runs in API mode only`}
	cases := []struct {
		name  string
		block string // the algorithm mapping, flow style
		want  []wantProblem
		line  int // of every problem (a flow mapping sits on one line)
	}{
		{"defaults", `{type: ratings}`, []wantProblem{apiOnly}, 37},
		{"valid settings", `{type: ratings, ratings: {max_concurrent: 2, on_error: fail}}`, []wantProblem{apiOnly}, 37},
		{"zero max_concurrent means all", `{type: ratings, ratings: {max_concurrent: 0, on_error: skip}}`, []wantProblem{apiOnly}, 37},
		{"negative max_concurrent", `{type: ratings, ratings: {max_concurrent: -1}}`,
			[]wantProblem{apiOnly, {SeverityError, ap + ".ratings.max_concurrent", "must not be negative"}}, 37},
		{"unknown on_error", `{type: ratings, ratings: {on_error: retry}}`,
			[]wantProblem{apiOnly, {SeverityError, ap + ".ratings.on_error", `unknown on_error "retry" (expected one of skip, fail)`}}, 37},
		{"fallback is not a ratings on_error", `{type: ratings, ratings: {on_error: fallback}}`,
			[]wantProblem{apiOnly, {SeverityError, ap + ".ratings.on_error", `unknown on_error "fallback"`}}, 37},
		{"algorithm-level fallback acts as skip", `{type: ratings, on_error: fallback}`,
			[]wantProblem{apiOnly, {SeverityWarning, ap + ".on_error", "failed models are left out"}}, 37},
		{"ratings block under another type is ignored", `{type: static, ratings: {max_concurrent: -1}}`,
			[]wantProblem{{SeverityWarning, ap + ".ratings", `block "ratings" is ignored`}}, 37},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := invalidBase + "      algorithm: " + tc.block + "\n"
			checkProblemsUnder(t, doc, "ratings", ap, tc.want, tc.line)
		})
	}
}

// TestRatingsValidationLines: in a block mapping each problem names the
// line of its own field.
func TestRatingsValidationLines(t *testing.T) {
	doc := invalidBase + "      algorithm:\n        type: ratings\n        ratings:\n          max_concurrent: -3\n          on_error: sometimes\n"
	_, probs, err := Parse([]byte(doc), "ratings-lines")
	if err == nil {
		t.Fatal("a negative max_concurrent and an unknown on_error are accepted")
	}
	want := map[string]int{
		"routing.decisions[0].algorithm.type":                   38,
		"routing.decisions[0].algorithm.ratings.max_concurrent": 40,
		"routing.decisions[0].algorithm.ratings.on_error":       41,
	}
	got := map[string]int{}
	for _, p := range probs {
		if strings.HasPrefix(p.Path, "routing.decisions[0].algorithm") {
			got[p.Path] = p.Line
		}
	}
	if len(got) != len(want) {
		t.Errorf("problems %v, want %v", got, want)
	}
	for path, line := range want {
		if got[path] != line {
			t.Errorf("%s at line %d, want %d", path, got[path], line)
		}
	}
}
