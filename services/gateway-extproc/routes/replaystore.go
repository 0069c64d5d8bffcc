package routes

import (
	"time"

	"github.com/semrouter/semrouter/pkg/config"
)

// Replay store backends (ReplayStore.Backend).
const (
	// ReplayBackendMemory keeps records in the gateway's process: lost on
	// restart, each replica sees only its own.
	ReplayBackendMemory = "memory"
	// ReplayBackendRedis keeps records in Redis or Valkey, shared by every
	// replica that names the same server and key prefix.
	ReplayBackendRedis = "redis"
)

// ReplayStore mirrors global.services.router_replay: where the
// router_replay plugins of every decision keep their records. The zero
// value is the in-process store. It is comparable: the gateway reopens
// its store only when it changes.
type ReplayStore struct {
	// Backend is ReplayBackendRedis, or ReplayBackendMemory ("" too).
	Backend string
	// TTL is ttl_seconds (0: records never expire; the plugins'
	// max_records still bound them).
	TTL time.Duration
	// Async is async_writes: records are written by a background queue.
	Async bool
	Redis ReplayRedis
}

// ReplayRedis mirrors global.services.router_replay.redis.
type ReplayRedis struct {
	Addr     string
	Password string
	DB       int
	// TLS is use_tls (or tls_enabled); TLSSkipVerify tls_skip_verify.
	TLS           bool
	TLSSkipVerify bool
	// KeyPrefix is key_prefix ("": the store's default).
	KeyPrefix string
	// PoolSize and MaxRetries tune the client (0: the store's defaults).
	PoolSize   int
	MaxRetries int
	// Timeout is dial_timeout in seconds (0: the store's default).
	Timeout time.Duration
}

// ReplayStoreFromConfig maps global.services.router_replay. An absent
// block, enabled: false, store_backend memory, and the backends semrouter
// does not run (postgres, milvus, qdrant; validation warns) give the
// in-process store: the plugins keep recording either way, since they
// are what turns recording on.
func ReplayStoreFromConfig(s *config.RouterReplayService) ReplayStore {
	if s == nil || !s.Enabled || s.StoreBackend != "redis" && s.StoreBackend != "valkey" {
		return ReplayStore{}
	}
	out := ReplayStore{Backend: ReplayBackendRedis, TTL: time.Duration(max(s.TTLSeconds, 0)) * time.Second, Async: s.AsyncWrites}
	if r := s.Redis; r != nil {
		db := r.DB
		if db == 0 {
			db = r.Database
		}
		out.Redis = ReplayRedis{Addr: r.Address, Password: r.Password, DB: db, TLS: r.UseTLS || r.TLSEnabled,
			TLSSkipVerify: r.TLSSkipVerify, KeyPrefix: r.KeyPrefix, PoolSize: r.PoolSize, MaxRetries: r.MaxRetries,
			Timeout: time.Duration(max(r.DialTimeout, 0)) * time.Second}
	}
	return out
}
