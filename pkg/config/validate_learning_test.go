package config

import "testing"

// TestLearningValidation: global.router.learning.protection and
// state_store run (no "does not act on it" warning); adaptation is
// accepted with a warning; scope, tuning, identity headers and the
// store are checked with YAML paths and lines.
func TestLearningValidation(t *testing.T) {
	const p = "global.router.learning"
	cases := []struct {
		name     string
		learning string
		want     []wantProblem
	}{
		{"reference shape is quiet", `{enabled: true, protection: {enabled: true, scope: conversation, identity: {headers: {session: x-session-id, conversation: x-conversation-id}}, tuning: {idle_timeout_seconds: 300, min_turns_before_switch: 1, switch_margin: 0.05, stability_weight: 1.0}}, state_store: {backend: redis, ttl_seconds: 86400, timeout_ms: 50, redis: {address: "redis:6379", database: 2, key_prefix: "vsr:router-session:v1:"}}}`, nil},
		{"memory store is quiet", `{enabled: true, protection: {enabled: true, scope: session}, state_store: {backend: memory, ttl_seconds: 60}}`, nil},
		{"adaptation has no effect", `{enabled: true, adaptation: {enabled: true, candidate_set: decision, strategy: routing_sampling}}`,
			[]wantProblem{{SeverityWarning, p + ".adaptation", "does not sample routes for exploration"}}},
		{"protection without learning", `{enabled: false, protection: {enabled: true}}`,
			[]wantProblem{{SeverityWarning, p + ".enabled", "protection.enabled has no effect"}}},
		{"unknown scope", `{enabled: true, protection: {enabled: true, scope: tenant}}`,
			[]wantProblem{{SeverityError, p + ".protection.scope", `unknown scope "tenant"`}}},
		{"negative tuning", `{enabled: true, protection: {enabled: true, tuning: {idle_timeout_seconds: -1, min_turns_before_switch: -2, switch_margin: -0.1, stability_weight: -1}}}`,
			[]wantProblem{{SeverityError, p + ".protection.tuning.idle_timeout_seconds", "must not be negative"},
				{SeverityError, p + ".protection.tuning.min_turns_before_switch", "must not be negative"},
				{SeverityError, p + ".protection.tuning.switch_margin", "must not be negative"},
				{SeverityError, p + ".protection.tuning.stability_weight", "must not be negative"}}},
		{"identity headers", `{enabled: true, protection: {enabled: true, identity: {headers: {conversation: "x conv", session: "", tenant: x-tenant}}}}`,
			[]wantProblem{{SeverityError, p + ".protection.identity.headers.conversation", "not a valid HTTP header name"},
				{SeverityError, p + ".protection.identity.headers.session", "must name a header"},
				{SeverityWarning, p + ".protection.identity.headers.tenant", "has no effect"}}},
		{"unknown backend", `{enabled: true, state_store: {backend: mongo}}`,
			[]wantProblem{{SeverityError, p + ".state_store.backend", `unknown backend "mongo"`}}},
		{"redis without address", `{enabled: true, state_store: {backend: valkey, redis: {db: 1}}}`,
			[]wantProblem{{SeverityError, p + ".state_store.redis.address", "required when backend is valkey"}}},
		{"redis without block", `{enabled: true, state_store: {backend: redis}}`,
			[]wantProblem{{SeverityError, p + ".state_store.redis", "required when backend is redis"}}},
		{"negative store numbers", `{enabled: true, state_store: {backend: redis, ttl_seconds: -1, timeout_ms: -5, redis: {address: "r:6379", db: -1}}}`,
			[]wantProblem{{SeverityError, p + ".state_store.ttl_seconds", "must not be negative"},
				{SeverityError, p + ".state_store.timeout_ms", "must not be negative"},
				{SeverityError, p + ".state_store.redis.db", "must not be negative"}}},
		{"redis block with memory", `{enabled: true, state_store: {backend: memory, redis: {address: "r:6379"}}}`,
			[]wantProblem{{SeverityWarning, p + ".state_store.redis", "has no effect"}}},
		{"redis fields without effect", `{enabled: true, state_store: {backend: redis, redis: {address: "r:6379", cluster_mode: true, ttl_seconds: 5, tls_ca_path: ca.pem}}}`,
			[]wantProblem{{SeverityWarning, p + ".state_store.redis", "cluster_mode"}, {SeverityWarning, p + ".state_store.redis.ttl_seconds", "has no effect"},
				{SeverityWarning, p + ".state_store.redis", "tls_ca_path"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := invalidBase + "global:\n  router:\n    learning: " + tc.learning + "\n"
			checkProblemsUnder(t, doc, "learning", p, tc.want, 0)
		})
	}
}
