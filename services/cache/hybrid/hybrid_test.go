package hybrid

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/cachetest"
	"github.com/semrouter/semrouter/services/cache/redis"
)

func newHybrid(t *testing.T, addr, prefix string, opts cache.Options) *Backend {
	t.Helper()
	store, err := redis.New(t.Context(), redis.Config{Addr: addr, KeyPrefix: prefix}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(t.Context(), store, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestBackendContract(t *testing.T) {
	addr := redistest.Start(t).Addr
	var n atomic.Int64
	cachetest.RunBackendSuite(t, func(t *testing.T, opts cache.Options) cache.Backend {
		return newHybrid(t, addr, "hybrid"+strconv.FormatInt(n.Add(1), 10)+":", opts)
	})
}

// TestRestartRebuildsMemory stores through one hybrid backend, closes it,
// and checks that a fresh one (empty memory tier) answers from Redis and
// copies what it finds into memory.
func TestRestartRebuildsMemory(t *testing.T) {
	addr := redistest.Start(t).Addr
	ctx := t.Context()
	clock := cachetest.NewClock(cachetest.Start())
	opts := cache.Options{Dim: cachetest.Dim, Clock: clock}
	rng := rand.New(rand.NewPCG(3, 3))
	part := cache.Partition{Decision: "d", Model: "m"}
	first := newHybrid(t, addr, "restart:", opts)
	vecs := make([][]float32, 10)
	for i := range vecs {
		vecs[i] = cachetest.Unit(rng, cachetest.Dim)
		e := &cache.Entry{Partition: part, Exact: cachetest.FP(fmt.Sprint("q", i)), Context: cachetest.FP("ctx"),
			Embedding: vecs[i], Response: cachetest.OK(fmt.Sprint("b", i)), CreatedAt: clock.Now()}
		if err := first.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := newHybrid(t, addr, "restart:", opts)
	if s, _ := second.Memory().Stats(ctx); s.Entries != 0 {
		t.Fatalf("memory tier of a fresh backend holds %d entries", s.Entries)
	}
	for i, v := range vecs {
		q := cache.Query{Partition: part, Mode: cache.ModeSemantic, Context: cachetest.FP("ctx"),
			Embedding: cachetest.Near(rng, v, 0.98), Threshold: 0.9}
		h, ok, err := second.Lookup(ctx, q)
		if err != nil || !ok || string(h.Entry.Response.Body) != fmt.Sprint("b", i) {
			t.Fatalf("entry %d after restart: ok=%v err=%v", i, ok, err)
		}
		// The entry is now in memory: the memory tier alone answers.
		mh, ok, err := second.Memory().Lookup(ctx, cache.Query{Partition: part, Mode: cache.ModeExact, Exact: h.Entry.Exact})
		if err != nil || !ok || string(mh.Entry.Response.Body) != fmt.Sprint("b", i) {
			t.Fatalf("entry %d not copied into memory: ok=%v err=%v", i, ok, err)
		}
	}
	if s, _ := second.Memory().Stats(ctx); s.Entries != int64(len(vecs)) {
		t.Fatalf("memory tier holds %d entries, want %d", s.Entries, len(vecs))
	}
}

// TestMemoryAnswersFirst shows lookups that hit memory do not consult the
// persistent tier: memory keeps answering after the entry left Redis.
func TestMemoryAnswersFirst(t *testing.T) {
	addr := redistest.Start(t).Addr
	ctx := t.Context()
	opts := cache.Options{Dim: cachetest.Dim, Eviction: cache.EvictFIFO}
	b := newHybrid(t, addr, "first:", opts)
	part := cache.Partition{Decision: "d"}
	e := &cache.Entry{Partition: part, Exact: cachetest.FP("q"), Response: cachetest.OK("x"), CreatedAt: cachetest.Start()}
	if err := b.Put(ctx, e); err != nil {
		t.Fatal(err)
	}
	// Remove the entry from Redis behind the hybrid backend's back.
	other, err := redis.New(ctx, redis.Config{Addr: addr, KeyPrefix: "first:"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	h, ok, err := b.Lookup(ctx, cache.Query{Partition: part, Mode: cache.ModeExact, Exact: e.Exact})
	if err != nil || !ok || string(h.Entry.Response.Body) != "x" {
		t.Fatalf("memory tier did not answer: ok=%v err=%v", ok, err)
	}
	if _, ok, _ := other.Lookup(ctx, cache.Query{Partition: part, Mode: cache.ModeExact, Exact: e.Exact}); ok {
		t.Fatal("redis still has the flushed entry")
	}
}

func TestNeedsStore(t *testing.T) {
	if _, err := New(context.Background(), nil, cache.Options{}); err == nil {
		t.Fatal("New without a persistent backend succeeded")
	}
}
