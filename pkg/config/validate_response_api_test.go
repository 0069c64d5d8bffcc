package config

import "testing"

// TestResponseAPIValidation: global.services.response_api is served (no
// "does not act on it" warning); bad values are errors, values without
// effect warnings, each at its YAML path with a line.
func TestResponseAPIValidation(t *testing.T) {
	const ra = "global.services.response_api"
	type want = wantProblem
	cases := []struct {
		name  string
		block string
		want  []want
	}{
		{"memory is quiet", `{enabled: true, store_backend: memory, ttl_seconds: 60, max_responses: 10}`, nil},
		{"defaults are quiet", `{enabled: true}`, nil},
		{"disabled is quiet", `{enabled: false}`, nil},
		{"redis is quiet", `{enabled: true, store_backend: redis, redis: {address: "r:6379", db: 1, key_prefix: "p:", pool_size: 4}}`, nil},
		{"valkey is redis", `{enabled: true, store_backend: valkey, redis: {address: "v:6379"}}`, nil},
		{"cluster addresses stand for the address", `{enabled: true, store_backend: redis, redis: {cluster_mode: true, cluster_addresses: ["a:1", "b:2"]}}`, nil},
		{"unknown backend falls back to memory", `{enabled: true, store_backend: postgres}`,
			[]want{{SeverityWarning, ra + ".store_backend", `unrecognised store_backend "postgres" (known: memory, redis, valkey): responses are kept in each router's memory`}}},
		{"negative sizes", `{enabled: true, ttl_seconds: -1, max_responses: -5}`,
			[]want{{SeverityError, ra + ".ttl_seconds", "must not be negative"}, {SeverityError, ra + ".max_responses", "must not be negative"}}},
		{"redis without block", `{enabled: true, store_backend: redis}`,
			[]want{{SeverityError, ra + ".redis", "required when store_backend is redis"}}},
		{"redis without address", `{enabled: true, store_backend: redis, redis: {db: 2}}`,
			[]want{{SeverityError, ra + ".redis.address", "required when store_backend is redis"}}},
		{"redis negative numbers", `{enabled: true, store_backend: redis, redis: {address: "r:1", pool_size: -1, dial_timeout: -2}}`,
			[]want{{SeverityError, ra + ".redis.pool_size", "must not be negative"}, {SeverityError, ra + ".redis.dial_timeout", "must not be negative"}}},
		{"redis keys without effect", `{enabled: true, store_backend: redis, redis: {address: "r:1", ttl_seconds: 5, config_path: x.yaml}}`,
			[]want{{SeverityWarning, ra + ".redis.ttl_seconds", "has no effect"}, {SeverityWarning, ra + ".redis.config_path", "has no effect"}}},
		{"redis block with memory backend", `{enabled: true, store_backend: memory, redis: {address: "r:1"}}`,
			[]want{{SeverityWarning, ra + ".redis", "has no effect: store_backend is not redis"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := invalidBase + "global:\n  services:\n    response_api: " + tc.block + "\n"
			checkProblemsUnder(t, doc, "response_api.yaml", ra, tc.want, 0)
		})
	}
}
