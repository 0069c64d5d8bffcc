package server

import (
	"fmt"
	"testing"

	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/cache/redis"
)

func hybridSettings(addr, prefix string) Settings {
	s := testSettings()
	s.Backend = BackendHybrid
	s.Redis = redis.Config{Addr: addr, KeyPrefix: prefix}
	return s
}

// TestHybridSurvivesRestart: without a stream the entries of a hybrid
// replica live in Redis, so a replica started after the first one died
// answers them (exact and semantic).
func TestHybridSurvivesRestart(t *testing.T) {
	addr := redistest.Start(t).Addr
	ns := natstest.RunServer(t)
	noStream := func(o *ServiceOptions) { o.NoStream = true }
	a := startReplica(t, ns, "a", withSettings(hybridSettings(addr, "svc:")), noStream)
	v := vec(21)
	store(t, a.http, storeReq(basePartition, "q", "ctx", v, "persisted"))
	if s := stats(t, a.http); s.GetBackend() != BackendHybrid || s.GetEntries() != 1 {
		t.Fatalf("stats %+v", s)
	}
	a.kill()
	b := startReplica(t, ns, "b", withSettings(hybridSettings(addr, "svc:")), noStream)
	mustHit(t, b.http, exactLookup(basePartition, "q"), "persisted")
	mustHit(t, b.http, semLookup(basePartition, "ctx", near(2, v, 0.97), 0.9), "persisted")
}

// TestSharedStoreAppliedOnce: redis-backed replicas share one Redis, so
// each stream write is applied once (durable consumer, work queue): no
// duplicate rows, every replica answers exact lookups, and a replica
// started later indexes every embedding from Redis. (A running replica's
// in-process vector index only learns the writes it applied itself: a
// limitation of the Redis backend.)
func TestSharedStoreAppliedOnce(t *testing.T) {
	addr := redistest.Start(t).Addr
	ns := natstest.RunServer(t)
	s := testSettings()
	s.Backend = BackendRedis
	s.Redis = redis.Config{Addr: addr, KeyPrefix: "shared:"}
	a, b := startReplica(t, ns, "a", withSettings(s)), startReplica(t, ns, "b", withSettings(s))
	for i := range 10 {
		publishWrite(t, ns, storeReq(basePartition, name(i), "ctx", vec(uint64(40+i)), fmt.Sprint("b", i)))
	}
	waitAll(t, ns, a, b)
	for _, r := range []*replica{a, b} {
		for i := range 10 {
			mustHit(t, r.http, exactLookup(basePartition, name(i)), fmt.Sprint("b", i))
		}
		if st := stats(t, r.http); st.GetEntries() != 10 || st.GetBackend() != BackendRedis {
			t.Fatalf("replica %s: stats %+v, want 10 entries", r.name, st)
		}
	}
	// Store over RPC writes the shared store at once.
	store(t, a.http, storeReq(basePartition, "rpc", "ctx", nil, "rpc"))
	mustHit(t, b.http, exactLookup(basePartition, "rpc"), "rpc")

	c := startReplica(t, ns, "c", withSettings(s))
	for i := range 10 {
		mustHit(t, c.http, semLookup(basePartition, "ctx", near(uint64(i), vec(uint64(40+i)), 0.98), 0.95), fmt.Sprint("b", i))
	}
}

// TestSharedDimensionLearnt: a shared (redis) replica without a configured
// dimension learns it from the first embedding; the write that taught it
// is redelivered to the rebuilt backend, not lost.
func TestSharedDimensionLearnt(t *testing.T) {
	addr := redistest.Start(t).Addr
	ns := natstest.RunServer(t)
	s := DefaultSettings()
	s.Enabled = true
	s.Backend = BackendRedis
	s.Redis = redis.Config{Addr: addr, KeyPrefix: "learn:"}
	a := startReplica(t, ns, "a", withSettings(s))
	v := vec(77)
	publishWrite(t, ns, storeReq(basePartition, "q", "ctx", v, "learnt"))
	waitAll(t, ns, a)
	mustHit(t, a.http, semLookup(basePartition, "ctx", near(3, v, 0.97), 0.9), "learnt")
}
