package cache_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/cachetest"
	"github.com/semrouter/semrouter/services/cache/memory"
)

func newCache(t *testing.T) (*cache.Cache, *cachetest.Clock) {
	t.Helper()
	clock := cachetest.NewClock(cachetest.Start())
	b, err := memory.New(cache.Options{Dim: cachetest.Dim, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return cache.New(b, clock, nil), clock
}

func TestCacheModes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	emb := cachetest.Unit(rng, cachetest.Dim)
	near := cachetest.Near(rng, emb, 0.95)
	part := cache.Partition{Decision: "d", Model: "m"}
	keys := cache.Keys{Exact: cachetest.FP("q1"), Context: cachetest.FP("ctx"), LastUser: "q1", HasUser: true}
	para := cache.Keys{Exact: cachetest.FP("q1 paraphrased"), Context: cachetest.FP("ctx"), LastUser: "q1 paraphrased", HasUser: true}
	tests := []struct {
		name      string
		storeMode cache.Mode
		lookMode  cache.Mode
		lookKeys  cache.Keys
		hit       bool
		tier      cache.Tier
	}{
		{name: "exact store, exact lookup", storeMode: cache.ModeExact, lookMode: cache.ModeExact, lookKeys: keys, hit: true, tier: cache.TierExact},
		{name: "exact store keeps no embedding", storeMode: cache.ModeExact, lookMode: cache.ModeSemantic, lookKeys: para, hit: false},
		{name: "semantic paraphrase", storeMode: cache.ModeSemantic, lookMode: cache.ModeSemantic, lookKeys: para, hit: true, tier: cache.TierSemantic},
		{name: "exact mode ignores paraphrase", storeMode: cache.ModeSemantic, lookMode: cache.ModeExact, lookKeys: para, hit: false},
		{name: "both tiers", storeMode: cache.ModeExactThenSemantic, lookMode: cache.ModeExactThenSemantic, lookKeys: para, hit: true, tier: cache.TierSemantic},
		{name: "no user turn no semantic", storeMode: cache.ModeSemantic, lookMode: cache.ModeSemantic,
			lookKeys: cache.Keys{Exact: para.Exact, Context: para.Context}, hit: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newCache(t)
			pol := cache.Policy{Enabled: true, Mode: tc.storeMode, SimilarityThreshold: 0.9, TTL: time.Hour}
			stored, _, err := c.Store(t.Context(), cache.Request{Policy: pol, Partition: part, Keys: keys, Embedding: emb}, cachetest.OK("answer"))
			if err != nil || !stored {
				t.Fatalf("store: %v %v", stored, err)
			}
			pol.Mode = tc.lookMode
			res, err := c.Lookup(t.Context(), cache.Request{Policy: pol, Partition: part, Keys: tc.lookKeys, Embedding: near})
			if err != nil {
				t.Fatal(err)
			}
			if res.Hit != tc.hit || (tc.hit && res.Tier != tc.tier) {
				t.Fatalf("got hit=%v tier=%s, want %v %s", res.Hit, res.Tier, tc.hit, tc.tier)
			}
			if tc.hit && tc.tier == cache.TierSemantic && (res.Similarity < 0.94 || res.Similarity > 0.96) {
				t.Fatalf("similarity %v, want about 0.95", res.Similarity)
			}
		})
	}
}

func TestCacheStoreSetsExpiry(t *testing.T) {
	c, clock := newCache(t)
	pol := cache.Policy{Enabled: true, Mode: cache.ModeExact, TTL: time.Minute}
	req := cache.Request{Policy: pol, Keys: cache.Keys{Exact: cachetest.FP("q")}}
	if _, _, err := c.Store(t.Context(), req, cachetest.OK("x")); err != nil {
		t.Fatal(err)
	}
	res, err := c.Lookup(t.Context(), req)
	if err != nil || !res.Hit {
		t.Fatalf("lookup: %+v %v", res, err)
	}
	if want := cachetest.Start().Add(time.Minute); !res.Entry.ExpiresAt.Equal(want) || !res.Entry.CreatedAt.Equal(cachetest.Start()) {
		t.Fatalf("created %v expires %v", res.Entry.CreatedAt, res.Entry.ExpiresAt)
	}
	clock.Advance(time.Minute)
	if res, _ := c.Lookup(t.Context(), req); res.Hit {
		t.Fatal("hit after the policy TTL")
	}
}
