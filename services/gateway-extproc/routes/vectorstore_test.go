package routes

import (
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/vectorstore"
)

// TestVectorStoreFromConfig maps global.stores.vector_store.
func TestVectorStoreFromConfig(t *testing.T) {
	const head = "version: v0.3\nlisteners: [{name: http, port: 8899}]\nproviders:\n  defaults: {default_model: m1}\n  models: [{name: m1, backend_refs: [{name: b, endpoint: \"127.0.0.1:1\"}]}]\n"
	cases := []struct {
		name   string
		global string
		want   vectorstore.Config
	}{
		{"absent: off", "", vectorstore.Config{}},
		{"disabled: off", "global:\n  stores:\n    vector_store: {enabled: false, file_storage_dir: /x}\n", vectorstore.Config{}},
		{"every field", "global:\n  stores:\n    vector_store: {enabled: true, backend_type: milvus, file_storage_dir: /data/vs, max_file_size_mb: 3, ingestion_workers: 4, ingestion_drain_timeout_seconds: 9, supported_formats: [.TXT, .md], embedding_dimension: 512, memory: {max_entries_per_store: 100}}\n",
			vectorstore.Config{Enabled: true, Dir: "/data/vs", MaxFileBytes: 3 << 20, Workers: 4, DrainTimeout: 9 * time.Second,
				Formats: ".txt,.md", Dimension: 512, MaxEntriesPerStore: 100}},
		{"valkey", "global:\n  stores:\n    vector_store: {enabled: true, backend_type: valkey, file_storage_dir: /unused, valkey: {host: vk, port: 6380, database: 2, password: pw, connect_timeout: 3, timeout: 4, collection_prefix: \"vsr_vs_\"}}\n",
			vectorstore.Config{Enabled: true, Backend: vectorstore.BackendRedis, Redis: vectorstore.RedisConfig{Addr: "vk:6380", Password: "pw", DB: 2,
				Prefix: "vsr_vs_", DialTimeout: 3 * time.Second, Timeout: 4 * time.Second}}},
		{"redis: default port", "global:\n  stores:\n    vector_store: {enabled: true, backend_type: redis, valkey: {host: r}}\n",
			vectorstore.Config{Enabled: true, Backend: vectorstore.BackendRedis, Redis: vectorstore.RedisConfig{Addr: "r:6379"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := config.Parse([]byte(head+tc.global), "vector_store.yaml")
			if err != nil {
				t.Fatal(err)
			}
			spec, err := FromConfig(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			if spec.VectorStore != tc.want {
				t.Fatalf("got  %+v\nwant %+v", spec.VectorStore, tc.want)
			}
		})
	}
}
