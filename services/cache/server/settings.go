package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strconv"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/hybrid"
	"github.com/semrouter/semrouter/services/cache/memory"
	"github.com/semrouter/semrouter/services/cache/milvus"
	"github.com/semrouter/semrouter/services/cache/redis"
)

// Backend types of global.stores.response_cache.backend_type.
const (
	BackendMemory    = "memory"
	BackendJetStream = "jetstream"
	BackendRedis     = "redis"
	BackendValkey    = "valkey"
	BackendMilvus    = "milvus"
	BackendHybrid    = "hybrid"
)

// Settings are the store settings a replica runs with, compiled from
// global.stores.response_cache (or its legacy name semantic_cache).
type Settings struct {
	// Enabled follows the store block's enabled flag (default false, as in
	// the config contract); a config without any store block serves with
	// DefaultSettings (enabled: the decisions' response_cache plugins
	// decide what is cached).
	Enabled bool
	// Backend is memory, jetstream, redis, valkey, milvus or hybrid.
	// memory and jetstream are the same local HNSW backend; whenever the
	// writes stream exists every backend is fed from it.
	Backend string
	// Threshold is the similarity used when a lookup leaves it at 0.
	Threshold float32
	// Options are the backend options (Dim 0: learnt from the first
	// embedding written).
	Options cache.Options
	// EmbeddingModel is informational (the configured embedding model).
	EmbeddingModel string
	Redis          redis.Config
	Milvus         milvus.Config
}

// DefaultSettings are used before the first config revision and when the
// config has no store block.
func DefaultSettings() Settings {
	return Settings{
		Enabled:   true,
		Backend:   BackendMemory,
		Threshold: float32(config.DefaultCacheSimilarity),
		Options: cache.Options{
			MaxEntries: config.DefaultCacheMaxEntries,
			DefaultTTL: time.Duration(config.DefaultCacheTTLSeconds) * time.Second,
			Eviction:   cache.EvictionPolicy(config.DefaultCacheEvictionPolicy),
		},
	}
}

// Equal reports whether s and o build the same backend.
func (s Settings) Equal(o Settings) bool {
	a, b := s, o
	a.Options.Clock, a.Options.Logger, b.Options.Clock, b.Options.Logger = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

// SettingsFromConfig compiles the store block of cfg. Every problem is
// reported with its YAML path (and line when known).
func SettingsFromConfig(cfg *config.Config) (Settings, error) {
	s := DefaultSettings()
	rc, path := cfg.Global.Stores.ResponseCache, "global.stores.response_cache"
	if rc == nil {
		rc, path = cfg.Global.Stores.SemanticCache, "global.stores.semantic_cache"
	}
	if rc == nil {
		return s, nil
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		p := path
		if field != "" {
			p += "." + field
		}
		if line := cfg.Line(p); line > 0 {
			p = fmt.Sprintf("%s (line %d)", p, line)
		}
		errs = append(errs, fmt.Errorf("%s: %s", p, fmt.Sprintf(format, args...)))
	}
	s.Enabled = rc.IsEnabled()
	if rc.BackendType != "" {
		s.Backend = rc.BackendType
	}
	switch s.Backend {
	case BackendMemory, BackendJetStream, BackendRedis, BackendValkey, BackendMilvus, BackendHybrid:
	case "qdrant":
		bad("backend_type", "qdrant is not supported by the cache service; use memory, jetstream, redis, valkey, milvus or hybrid")
	default:
		bad("backend_type", "%q: want memory, jetstream, redis, valkey, milvus or hybrid", s.Backend)
	}
	if t := rc.SimilarityThreshold; t != nil {
		if *t < 0 || *t > 1 {
			bad("similarity_threshold", "%v: want 0..1", *t)
		}
		s.Threshold = float32(*t)
	}
	if rc.MaxEntries < 0 {
		bad("max_entries", "must not be negative")
	} else if rc.MaxEntries > 0 {
		s.Options.MaxEntries = rc.MaxEntries
	}
	if rc.TTLSeconds < 0 {
		bad("ttl_seconds", "must not be negative")
	} else if rc.TTLSeconds > 0 {
		s.Options.DefaultTTL = time.Duration(rc.TTLSeconds) * time.Second
	}
	if rc.EvictionPolicy != "" {
		switch p := cache.EvictionPolicy(rc.EvictionPolicy); p {
		case cache.EvictFIFO, cache.EvictLRU, cache.EvictLFU:
			s.Options.Eviction = p
		default:
			bad("eviction_policy", "%q: want fifo, lru or lfu", rc.EvictionPolicy)
		}
	}
	if h := rc.HNSW; h != nil {
		if h.HNSWM < 0 || h.HNSWEfConstruction < 0 {
			bad("hnsw", "hnsw_m and hnsw_ef_construction must not be negative")
		}
		s.Options.M, s.Options.EfConstruction = h.HNSWM, h.HNSWEfConstruction
	}
	s.EmbeddingModel = rc.EmbeddingModel
	if e := cfg.Global.ModelCatalog.Embeddings; e != nil && e.Semantic != nil && e.Semantic.Endpoint != nil && e.Semantic.Endpoint.Dimensions > 0 {
		s.Options.Dim = e.Semantic.Endpoint.Dimensions
	}
	kv := rc.Redis
	if s.Backend == BackendValkey {
		kv = rc.Valkey
	}
	switch s.Backend {
	case BackendRedis, BackendValkey, BackendHybrid:
		field := s.Backend
		if s.Backend == BackendHybrid {
			field = "redis"
		}
		if kv == nil || kv.Connection == nil {
			bad(field, "backend_type %s needs %s.connection", s.Backend, field)
			break
		}
		rcfg, dim, err := redisConfig(kv)
		if err != nil {
			bad(field, "%v", err)
		}
		s.Redis = rcfg
		if dim > 0 {
			s.Options.Dim = dim
		}
	case BackendMilvus:
		if rc.Milvus == nil {
			bad("milvus", "backend_type milvus needs a milvus block")
			break
		}
		mcfg, err := milvus.FromConfig(rc.Milvus)
		if err != nil {
			bad("milvus", "%v", err)
		}
		s.Milvus = mcfg
		if mcfg.Dimension > 0 {
			s.Options.Dim = mcfg.Dimension
		}
	}
	return s, errors.Join(errs...)
}

func redisConfig(kv *config.IndexedKV) (redis.Config, int, error) {
	c := kv.Connection
	var errs []error
	if c.Host == "" {
		errs = append(errs, errors.New("connection.host is required"))
	}
	port := c.Port
	if port == 0 {
		port = 6379
	}
	if port < 0 || port > 65535 {
		errs = append(errs, fmt.Errorf("connection.port %d: want 1..65535", c.Port))
	}
	if c.Database < 0 {
		errs = append(errs, fmt.Errorf("connection.database %d must not be negative", c.Database))
	}
	r := redis.Config{
		Addr:     net.JoinHostPort(c.Host, strconv.Itoa(port)),
		Password: c.Password, // empty: read from redis.DefaultPasswordEnv
		DB:       c.Database,
	}
	if c.Timeout > 0 {
		r.Timeout = time.Duration(c.Timeout) * time.Second
	}
	if t := c.TLS; t != nil && t.Enabled {
		r.TLS = redis.TLSConfig{Enabled: true, CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile}
	}
	dim := 0
	if ix := kv.Index; ix != nil {
		r.KeyPrefix = ix.Prefix
		if ix.VectorField != nil {
			dim = ix.VectorField.Dimension
		}
	}
	return r, dim, errors.Join(errs...)
}

// BuildFunc builds the backend of s with the embedding dimension dim.
type BuildFunc func(ctx context.Context, s Settings, dim int, clock cache.Clock, logger *slog.Logger) (cache.Backend, error)

// Build is the default BuildFunc.
func Build(ctx context.Context, s Settings, dim int, clock cache.Clock, logger *slog.Logger) (cache.Backend, error) {
	opts := s.Options
	opts.Dim, opts.Clock, opts.Logger = dim, clock, logger
	switch s.Backend {
	case BackendMemory, BackendJetStream, "":
		return memory.New(opts)
	case BackendRedis, BackendValkey:
		return redis.New(ctx, s.Redis, opts)
	case BackendHybrid:
		store, err := redis.New(ctx, s.Redis, opts)
		if err != nil {
			return nil, err
		}
		b, err := hybrid.New(ctx, store, opts)
		if err != nil {
			_ = store.Close()
			return nil, err
		}
		return b, nil
	case BackendMilvus:
		return milvus.New(ctx, s.Milvus, opts)
	}
	return nil, fmt.Errorf("cache backend %q is not supported", s.Backend)
}
