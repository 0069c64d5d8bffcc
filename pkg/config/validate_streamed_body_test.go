package config

import "testing"

// TestStreamedBodyValidation: global.router.streamed_body runs (no "does
// not act on it" warning); enabling it warns that it only changes Envoy
// mode, and its limits are checked with YAML paths and lines.
func TestStreamedBodyValidation(t *testing.T) {
	const p = "global.router.streamed_body"
	envoyOnly := wantProblem{SeverityWarning, p + ".enabled", "applies to Envoy (ext_proc) mode only"}
	cases := []struct {
		name  string
		block string
		want  []wantProblem
	}{
		{"enabled warns that API mode is unchanged", `{enabled: true, max_bytes: 1048576, timeout_sec: 15}`, []wantProblem{envoyOnly}},
		{"disabled with a limit is quiet", `{enabled: false, max_bytes: 2048}`, nil},
		{"no deadline is allowed", `{enabled: true, max_bytes: 2048, timeout_sec: 0}`, []wantProblem{envoyOnly}},
		{"enabled without a limit", `{enabled: true, timeout_sec: 5}`,
			[]wantProblem{envoyOnly, {SeverityError, p + ".max_bytes", "must be > 0 when enabled"}}},
		{"negative limit", `{enabled: false, max_bytes: -1}`,
			[]wantProblem{{SeverityError, p + ".max_bytes", "must not be negative"}}},
		{"negative timeout", `{enabled: true, max_bytes: 10, timeout_sec: -3}`,
			[]wantProblem{envoyOnly, {SeverityError, p + ".timeout_sec", "must not be negative"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := invalidBase + "global:\n  router:\n    streamed_body: " + tc.block + "\n"
			checkProblemsUnder(t, doc, "streamed-body", p, tc.want, 39)
		})
	}
}
