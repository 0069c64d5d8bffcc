package config

import (
	"fmt"
	"testing"
)

// pricingDoc is a config whose decision d routes to m1 and m2 with the
// given pricing blocks ("" for none).
func pricingDoc(p1, p2 string) string {
	model := func(name, port, pricing string) string {
		s := fmt.Sprintf("    - name: %s\n      backend_refs: [{name: b, endpoint: \"127.0.0.1:%s\"}]\n", name, port)
		if pricing != "" {
			s += "      pricing: " + pricing + "\n"
		}
		return s
	}
	return `version: v0.3
listeners:
  - name: http
    port: 8899
providers:
  defaults:
    default_model: m1
  models:
` + model("m1", "8000", p1) + model("m2", "8001", p2) + `routing:
  decisions:
    - name: d
      modelRefs: [{model: m1}, {model: m2}]
`
}

// TestPricingValidation: cached_input_per_1m and cache_write_per_1m are
// acted on (no "no effect" warning); prices must not be negative; the
// currency is a 3-letter code; a decision mixing currencies is warned.
func TestPricingValidation(t *testing.T) {
	const m0 = "providers.models[0].pricing"
	const refs = "routing.decisions[0].modelRefs"
	type want = wantProblem
	cases := []struct {
		name   string
		p1, p2 string
		prefix string
		want   []want
	}{
		{"reference shape is quiet", `{currency: USD, prompt_per_1m: 0.18, cached_input_per_1m: 0.04, cache_write_per_1m: 0.225, completion_per_1m: 0.42}`,
			`{currency: USD, prompt_per_1m: 1.2, completion_per_1m: 3.4}`, "providers.models", nil},
		{"no currency is USD and quiet", `{prompt_per_1m: 1}`, `{currency: usd, prompt_per_1m: 2}`, "", nil},
		{"negative prices", `{currency: USD, prompt_per_1m: -1, cached_input_per_1m: -0.5, cache_write_per_1m: -2, completion_per_1m: -3}`, "", m0,
			[]want{{SeverityError, m0 + ".prompt_per_1m", "must not be negative"},
				{SeverityError, m0 + ".cached_input_per_1m", "must not be negative"},
				{SeverityError, m0 + ".cache_write_per_1m", "must not be negative"},
				{SeverityError, m0 + ".completion_per_1m", "must not be negative"}}},
		{"currency not a code", `{currency: dollars, prompt_per_1m: 1}`, `{currency: "U$D", prompt_per_1m: 1}`, "providers.models",
			[]want{{SeverityError, m0 + ".currency", `currency "dollars" must be a 3-letter currency code`},
				{SeverityError, "providers.models[1].pricing.currency", `currency "U$D" must be a 3-letter currency code`}}},
		{"mixed currencies in a decision", `{currency: USD, prompt_per_1m: 1}`, `{currency: EUR, prompt_per_1m: 1}`, refs,
			[]want{{SeverityWarning, refs, `decision "d" routes to models priced in different currencies (USD, EUR); costs are reported per currency and never converted`}}},
		{"unset currency counts as USD", `{prompt_per_1m: 1}`, `{currency: usd, prompt_per_1m: 1}`, refs, nil},
		{"an unpriced model mixes nothing", `{currency: EUR, prompt_per_1m: 1}`, "", refs, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prefix := tc.prefix
			if prefix == "" {
				prefix = "providers.models"
			}
			checkProblemsUnder(t, pricingDoc(tc.p1, tc.p2), "pricing.yaml", prefix, tc.want, 0)
		})
	}
}
