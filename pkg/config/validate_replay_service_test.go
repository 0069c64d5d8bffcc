package config

import "testing"

// TestRouterReplayServiceValidation: global.services.router_replay runs
// (no "does not act on it" warning); its backend, ttl and redis
// connection are checked with YAML paths and lines.
func TestRouterReplayServiceValidation(t *testing.T) {
	const p = "global.services.router_replay"
	cases := []struct {
		name    string
		service string
		want    []wantProblem
	}{
		{"redis is quiet", `{enabled: true, store_backend: redis, ttl_seconds: 3600, async_writes: true, redis: {address: "redis:6379", db: 2, key_prefix: "vsr:replay:", pool_size: 10, max_retries: 2}}`, nil},
		{"valkey is quiet", `{enabled: true, store_backend: valkey, redis: {address: "valkey:6379"}}`, nil},
		{"memory is quiet", `{enabled: true, store_backend: memory}`, nil},
		{"disabled without a backend is quiet", `{enabled: false}`, nil},
		{"unknown backend", `{enabled: true, store_backend: mongo}`,
			[]wantProblem{{SeverityError, p + ".store_backend", `unknown store_backend "mongo" (expected one of memory, redis, valkey, postgres, milvus, qdrant)`}}},
		{"memory ignores ttl and async writes", `{enabled: true, ttl_seconds: 60, async_writes: true}`,
			[]wantProblem{{SeverityWarning, p + ".ttl_seconds", "no effect with the in-process store"}, {SeverityWarning, p + ".async_writes", "no effect with the in-process store"}}},
		{"negative ttl", `{enabled: true, store_backend: memory, ttl_seconds: -1}`,
			[]wantProblem{{SeverityError, p + ".ttl_seconds", "must not be negative"}}},
		{"redis without a block", `{enabled: true, store_backend: redis}`,
			[]wantProblem{{SeverityError, p + ".redis", "required when store_backend is redis"}}},
		{"redis without an address", `{enabled: true, store_backend: redis, redis: {db: 1}}`,
			[]wantProblem{{SeverityError, p + ".redis.address", "required when store_backend is redis"}}},
		{"redis negatives", `{enabled: true, store_backend: redis, redis: {address: "r:6379", db: -1, pool_size: -2, max_retries: -3, dial_timeout: -4}}`,
			[]wantProblem{{SeverityError, p + ".redis.db", "must not be negative"}, {SeverityError, p + ".redis.pool_size", "must not be negative"},
				{SeverityError, p + ".redis.max_retries", "must not be negative"}, {SeverityError, p + ".redis.dial_timeout", "must not be negative"}}},
		{"db and database disagree", `{enabled: true, store_backend: redis, redis: {address: "r:6379", db: 1, database: 2}}`,
			[]wantProblem{{SeverityError, p + ".redis.database", "set only db"}}},
		{"postgres falls back to memory", `{enabled: true, store_backend: postgres, postgres: {host: pg}}`,
			[]wantProblem{{SeverityWarning, p + ".store_backend", "backend postgres has no effect"}}},
		{"qdrant falls back to memory", `{enabled: true, store_backend: qdrant}`,
			[]wantProblem{{SeverityWarning, p + ".store_backend", "backend qdrant has no effect"}}},
		{"disabled names the unused backend", `{enabled: false, store_backend: redis, redis: {address: "r:6379"}}`,
			[]wantProblem{{SeverityWarning, p + ".enabled", "store_backend redis is not used"}}},
		{"redis fields without effect", `{enabled: true, store_backend: redis, redis: {address: "r:6379", cluster_mode: true, ttl_seconds: 5, tls_ca_path: ca.pem}}`,
			[]wantProblem{{SeverityWarning, p + ".redis.cluster_mode", "has no effect"}, {SeverityWarning, p + ".redis.ttl_seconds", "router_replay.ttl_seconds"},
				{SeverityWarning, p + ".redis", "tls_ca_path"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := invalidBase + "global:\n  services:\n    router_replay: " + tc.service + "\n"
			checkProblemsUnder(t, doc, "router-replay", p, tc.want, 0)
		})
	}
}
