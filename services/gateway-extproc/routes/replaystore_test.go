package routes

import (
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
)

// TestReplayStoreFromConfig: only an enabled redis/valkey block gives a
// shared store; everything else keeps records in process.
func TestReplayStoreFromConfig(t *testing.T) {
	redis := &config.RedisClient{Address: "r:6379", Database: 3, Password: "pw", TLSEnabled: true, TLSSkipVerify: true,
		KeyPrefix: "vsr:replay:", PoolSize: 5, MaxRetries: 2, DialTimeout: 4}
	shared := ReplayStore{Backend: ReplayBackendRedis, TTL: time.Hour, Async: true, Redis: ReplayRedis{Addr: "r:6379", DB: 3,
		Password: "pw", TLS: true, TLSSkipVerify: true, KeyPrefix: "vsr:replay:", PoolSize: 5, MaxRetries: 2, Timeout: 4 * time.Second}}
	cases := []struct {
		name string
		in   *config.RouterReplayService
		want ReplayStore
	}{
		{"no block", nil, ReplayStore{}},
		{"disabled", &config.RouterReplayService{StoreBackend: "redis", Redis: redis}, ReplayStore{}},
		{"memory", &config.RouterReplayService{Enabled: true, StoreBackend: "memory", TTLSeconds: 5}, ReplayStore{}},
		{"postgres falls back", &config.RouterReplayService{Enabled: true, StoreBackend: "postgres", Redis: redis}, ReplayStore{}},
		{"redis", &config.RouterReplayService{Enabled: true, StoreBackend: "redis", TTLSeconds: 3600, AsyncWrites: true, Redis: redis}, shared},
		{"valkey", &config.RouterReplayService{Enabled: true, StoreBackend: "valkey", TTLSeconds: 3600, AsyncWrites: true, Redis: redis}, shared},
		{"redis without a block", &config.RouterReplayService{Enabled: true, StoreBackend: "redis"}, ReplayStore{Backend: ReplayBackendRedis}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReplayStoreFromConfig(tc.in); got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
