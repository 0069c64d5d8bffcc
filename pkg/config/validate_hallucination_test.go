package config

import "testing"

// TestHallucinationValidation: the hallucination plugin runs, so it
// carries no "does not run it yet" warning, and its actions are checked
// with the plugin's YAML path and line.
func TestHallucinationValidation(t *testing.T) {
	const cp = pluginConfigPath
	type want = wantProblem
	const expected = "(expected one of header, body, annotate, block, none)"
	cases := []pluginCase{
		{"reference is quiet", `{type: hallucination, configuration: {enabled: true, use_nli: true, hallucination_action: header, unverified_factual_action: header, include_hallucination_details: true}}`, nil},
		{"defaults are quiet", `{type: hallucination, configuration: {enabled: true}}`, nil},
		{"body, annotate, block, none", `{type: hallucination, configuration: {enabled: true, hallucination_action: block, unverified_factual_action: annotate}}`, nil},
		{"unknown actions", `{type: hallucination, configuration: {enabled: true, hallucination_action: redact, unverified_factual_action: warn}}`,
			[]want{{SeverityError, cp + ".hallucination_action", `unknown hallucination_action "redact" ` + expected},
				{SeverityError, cp + ".unverified_factual_action", `unknown unverified_factual_action "warn" ` + expected}}},
		{"details without effect", `{type: hallucination, configuration: {enabled: true, hallucination_action: none, unverified_factual_action: none, include_hallucination_details: true}}`,
			[]want{{SeverityWarning, cp + ".include_hallucination_details", "has no effect: both actions are none"}}},
		{"unknown field", `{type: hallucination, configuration: {enabled: true, threshold: 0.5}}`,
			[]want{{SeverityError, cp + ".threshold", "unknown field"}}},
	}
	runPluginCases(t, "hallucination", cases, nil)
}

func TestHallucinationDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{{"empty is header", "", HallucinationActionHeader}, {"annotate is body", "annotate", HallucinationActionBody},
		{"block stays", "block", HallucinationActionBlock}} {
		t.Run(tc.name, func(t *testing.T) {
			h := &HallucinationPlugin{HallucinationAction: tc.in, UnverifiedFactualAction: tc.in}
			if h.EffectiveHallucinationAction() != tc.want || h.EffectiveUnverifiedFactualAction() != tc.want {
				t.Errorf("got %q / %q, want %q", h.EffectiveHallucinationAction(), h.EffectiveUnverifiedFactualAction(), tc.want)
			}
		})
	}
}
