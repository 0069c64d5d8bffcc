package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/cache"
)

const baseDoc = `version: v0.3
providers:
  defaults:
    default_model: m1
  models:
    - name: m1
      backend_refs:
        - name: b
          endpoint: 127.0.0.1:8000
`

func parse(t *testing.T, doc string) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse([]byte(doc), "test")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return cfg
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.work not found above the working directory")
		}
		dir = parent
	}
}

func TestSettingsFromConfig(t *testing.T) {
	tests := []struct {
		name  string
		store string
		check func(t *testing.T, s Settings)
	}{
		{name: "no store block", store: "", check: func(t *testing.T, s Settings) {
			if !s.Equal(DefaultSettings()) || !s.Enabled {
				t.Fatalf("got %+v, want the defaults", s)
			}
		}},
		{name: "memory", store: `
global:
  stores:
    response_cache:
      enabled: true
      backend_type: memory
      max_entries: 7
      ttl_seconds: 60
      eviction_policy: lfu
      similarity_threshold: 0.9
      hnsw: {hnsw_m: 12, hnsw_ef_construction: 100}
`, check: func(t *testing.T, s Settings) {
			o := s.Options
			if !s.Enabled || s.Backend != BackendMemory || s.Threshold != 0.9 || o.MaxEntries != 7 ||
				o.DefaultTTL != time.Minute || o.Eviction != cache.EvictLFU || o.M != 12 || o.EfConstruction != 100 {
				t.Fatalf("got %+v", s)
			}
		}},
		{name: "enabled defaults to false in a block", store: `
global:
  stores:
    response_cache:
      backend_type: memory
`, check: func(t *testing.T, s Settings) {
			if s.Enabled {
				t.Fatal("enabled without enabled: true")
			}
		}},
		{name: "legacy semantic_cache", store: `
global:
  stores:
    semantic_cache:
      enabled: true
      max_entries: 3
`, check: func(t *testing.T, s Settings) {
			if !s.Enabled || s.Options.MaxEntries != 3 {
				t.Fatalf("got %+v", s)
			}
		}},
		{name: "redis", store: `
global:
  stores:
    response_cache:
      enabled: true
      backend_type: redis
      redis:
        connection: {host: redis.local, port: 6380, database: 2, timeout: 3, tls: {enabled: true, ca_file: ca.pem}}
        index: {prefix: "sr:", vector_field: {name: v, dimension: 384}}
`, check: func(t *testing.T, s Settings) {
			r := s.Redis
			if r.Addr != "redis.local:6380" || r.DB != 2 || r.Timeout != 3*time.Second || !r.TLS.Enabled ||
				r.TLS.CAFile != "ca.pem" || r.KeyPrefix != "sr:" || s.Options.Dim != 384 {
				t.Fatalf("got %+v", s)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := SettingsFromConfig(parse(t, baseDoc+tc.store))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

// TestSettingsFromReferenceConfig maps the upstream reference config's
// milvus store (read at test time from the shared workspace).
func TestSettingsFromReferenceConfig(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "..", "shared", "upstream", "reference-config.yaml"))
	if err != nil {
		t.Fatalf("reference config missing (part of the shared workspace): %v", err)
	}
	s, err := SettingsFromConfig(parse(t, string(doc)))
	if err != nil {
		t.Fatal(err)
	}
	m := s.Milvus
	if s.Backend != BackendMilvus || s.Options.Dim != 768 || s.Options.MaxEntries != 50000 ||
		s.Options.DefaultTTL != 2*time.Hour || s.Options.Eviction != cache.EvictLRU || s.Threshold != 0.86 {
		t.Fatalf("settings %+v", s)
	}
	if m.Addr != "milvus:19530" || m.Collection != "semantic_cache" || m.VectorField != "embedding" ||
		m.Metric != "COSINE" || m.IndexType != "HNSW" || m.IndexParams["M"] != "16" ||
		m.IndexParams["efConstruction"] != "200" || m.SearchParams["ef"] != "64" || m.TopK != 10 ||
		m.Consistency != "Bounded" || !m.CollectionTTL || m.Timeout != 30*time.Second {
		t.Fatalf("milvus %+v", m)
	}
}

func TestSettingsErrors(t *testing.T) {
	tests := []struct {
		name  string
		store string
		want  []string
	}{
		{name: "qdrant", store: `
global:
  stores:
    response_cache:
      enabled: true
      backend_type: qdrant
`, want: []string{"global.stores.response_cache.backend_type (line 15): qdrant is not supported"}},
		{name: "redis without connection and hybrid host", store: `
global:
  stores:
    response_cache:
      enabled: true
      backend_type: hybrid
      redis:
        connection: {port: 70000}
`, want: []string{"global.stores.response_cache.redis", "connection.host is required", "connection.port 70000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, _ := config.Parse([]byte(baseDoc+tc.store), "test")
			if cfg == nil {
				t.Fatal("config did not decode")
			}
			_, err := SettingsFromConfig(cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
