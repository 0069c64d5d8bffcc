package config

import "testing"

// TestRateLimitValidation: global.services.ratelimit is enforced by the
// gateway, so it carries no "does not act on it" warning; every bad value
// is an error (or a warning for keys without effect) at its YAML path,
// with a line.
func TestRateLimitValidation(t *testing.T) {
	const rl = "global.services.ratelimit"
	const p0, p1 = rl + ".providers[0]", rl + ".providers[1]"
	type want = wantProblem
	cases := []struct {
		name  string
		block string
		want  []want
	}{
		{"reference shape is quiet", `{fail_open: false, providers: [{type: envoy-ratelimit, address: "rls:8081", domain: api}, {type: local-limiter, rules: [{name: premium, match: {group: premium-tier, model: m1}, requests_per_unit: 120, tokens_per_unit: 300000, unit: minute}, {name: per-user, match: {user: "*"}, requests_per_unit: 10, unit: second}, {name: all, tokens_per_unit: 5, unit: day}]}]}`, nil},
		{"unknown type", `{providers: [{type: redis-limiter}]}`,
			[]want{{SeverityError, p0 + ".type", `unknown type "redis-limiter" (expected one of envoy-ratelimit, local-limiter)`}}},
		{"missing type", `{providers: [{rules: []}]}`,
			[]want{{SeverityError, p0 + ".type", "required"}}},
		{"envoy needs address and domain", `{providers: [{type: envoy-ratelimit}]}`,
			[]want{{SeverityError, p0 + ".address", "required for type envoy-ratelimit"},
				{SeverityError, p0 + ".domain", "required for type envoy-ratelimit"}}},
		{"envoy has no rules", `{providers: [{type: envoy-ratelimit, address: "a:1", domain: d, rules: [{name: r, requests_per_unit: 1, unit: second}]}]}`,
			[]want{{SeverityError, p0 + ".rules", "only type local-limiter has rules"}}},
		{"local keys without effect", `{providers: [{type: local-limiter, address: "a:1", domain: d, rules: [{name: r, requests_per_unit: 1, unit: second}]}]}`,
			[]want{{SeverityWarning, p0 + ".address", "has no effect for type local-limiter"},
				{SeverityWarning, p0 + ".domain", "has no effect for type local-limiter"}}},
		{"local without rules", `{providers: [{type: local-limiter}]}`,
			[]want{{SeverityWarning, p0, "no rules"}}},
		{"no providers", `{fail_open: true}`,
			[]want{{SeverityWarning, rl, "no providers"}}},
		{"names empty and duplicate across providers", `{providers: [{type: local-limiter, rules: [{name: a, requests_per_unit: 1, unit: second}, {requests_per_unit: 1, unit: second}]}, {type: local-limiter, rules: [{name: a, requests_per_unit: 1, unit: second}]}]}`,
			[]want{{SeverityError, p0 + ".rules[1].name", "required"},
				{SeverityError, p1 + ".rules[0].name", `duplicate rule name "a" (first at global.services.ratelimit.providers[0].rules[0])`}}},
		{"unknown and empty match keys", `{providers: [{type: local-limiter, rules: [{name: a, match: {tenant: t1, user: "", model: m1}, requests_per_unit: 1, unit: second}]}]}`,
			[]want{{SeverityError, p0 + ".rules[0].match.tenant", `unknown match key "tenant" (expected one of user, group, model)`},
				{SeverityError, p0 + ".rules[0].match.user", `empty value`}}},
		{"units", `{providers: [{type: local-limiter, rules: [{name: a, requests_per_unit: 1, unit: week}, {name: b, requests_per_unit: 1}]}]}`,
			[]want{{SeverityError, p0 + ".rules[0].unit", `unknown unit "week" (expected one of second, minute, hour, day)`},
				{SeverityError, p0 + ".rules[1].unit", "required"}}},
		{"limits", `{providers: [{type: local-limiter, rules: [{name: a, unit: second}, {name: b, requests_per_unit: -1, tokens_per_unit: -2, unit: hour}, {name: c, requests_per_unit: 0, tokens_per_unit: 10, unit: hour}]}]}`,
			[]want{{SeverityError, p0 + ".rules[0]", "set requests_per_unit or tokens_per_unit"},
				{SeverityError, p0 + ".rules[1].requests_per_unit", "must not be negative, got -1"},
				{SeverityError, p0 + ".rules[1].tokens_per_unit", "must not be negative, got -2"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := invalidBase + "global:\n  services:\n    ratelimit: " + tc.block + "\n"
			checkProblemsUnder(t, doc, "ratelimit.yaml", rl, tc.want, 0)
		})
	}
}
