package routes

import (
	"reflect"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/responses"
)

// TestResponsesFromConfig maps global.services.response_api.
func TestResponsesFromConfig(t *testing.T) {
	const head = "version: v0.3\nlisteners: [{name: http, port: 8899}]\nproviders:\n  defaults: {default_model: m1}\n  models: [{name: m1, backend_refs: [{name: b, endpoint: \"127.0.0.1:1\"}]}]\n"
	cases := []struct {
		name   string
		global string
		want   responses.Settings
	}{
		{"absent: served from memory", "", responses.Settings{Store: responses.StoreConfig{Backend: responses.BackendMemory}}},
		{"disabled", "global:\n  services:\n    response_api: {enabled: false}\n",
			responses.Settings{Disabled: true, Store: responses.StoreConfig{Backend: responses.BackendMemory}}},
		{"memory sized", "global:\n  services:\n    response_api: {enabled: true, ttl_seconds: 60, max_responses: 7}\n",
			responses.Settings{Store: responses.StoreConfig{Backend: responses.BackendMemory, TTL: time.Minute, MaxResponses: 7}}},
		{"unknown backend falls back to memory", "global:\n  services:\n    response_api: {enabled: true, store_backend: postgres}\n",
			responses.Settings{Store: responses.StoreConfig{Backend: responses.BackendMemory}}},
		{"redis", "global:\n  services:\n    response_api:\n      enabled: true\n      store_backend: valkey\n      redis: {address: \"r:6379\", database: 2, key_prefix: \"p:\", pool_size: 3, dial_timeout: 4, tls_enabled: true, tls_ca_path: ca.pem}\n",
			responses.Settings{Store: responses.StoreConfig{Backend: responses.BackendRedis, Redis: responses.RedisConfig{
				Addrs: []string{"r:6379"}, DB: 2, KeyPrefix: "p:", PoolSize: 3, DialTimeout: 4 * time.Second, TLS: true, CAPath: "ca.pem"}}}},
		{"redis cluster", "global:\n  services:\n    response_api:\n      enabled: true\n      store_backend: redis\n      redis: {cluster_mode: true, cluster_addresses: [\"a:1\", \"b:2\"]}\n",
			responses.Settings{Store: responses.StoreConfig{Backend: responses.BackendRedis, Redis: responses.RedisConfig{
				Addrs: []string{"a:1", "b:2"}, Cluster: true}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := config.Parse([]byte(head+tc.global), "responses.yaml")
			if err != nil {
				t.Fatal(err)
			}
			spec, err := FromConfig(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(spec.Responses, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", spec.Responses, tc.want)
			}
		})
	}
}
