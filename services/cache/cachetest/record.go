package cachetest

import (
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/cache"
)

// testPeek: a peek finds what a lookup finds but counts nothing and
// leaves the eviction order and the entry's hit count alone.
func testPeek(t *testing.T, f Factory) {
	for _, policy := range []cache.EvictionPolicy{cache.EvictLRU, cache.EvictLFU} {
		t.Run(string(policy), func(t *testing.T) {
			e := newEnv(t, f, cache.Options{MaxEntries: 3, Eviction: policy})
			vecs := map[string][]float32{}
			for _, k := range []string{"a", "b", "c"} {
				vecs[k] = Unit(e.rng, Dim)
				e.put(e.entry(basePart, k, "ctx", vecs[k], k))
				e.clock.Advance(time.Second)
			}
			before := e.stats()
			for range 3 {
				q := exactQ(basePart, "a")
				q.Peek = true
				if h := e.mustHitBody(q, "a"); h.Tier != cache.TierExact || h.Entry.Hits != 0 {
					t.Fatalf("exact peek: tier %s, entry hits %d, want exact and 0", h.Tier, h.Entry.Hits)
				}
				q = semQ(basePart, "ctx", vecs["a"], 0.99)
				q.Peek = true
				if h := e.mustHitBody(q, "a"); h.Tier != cache.TierSemantic {
					t.Fatalf("semantic peek: tier %s", h.Tier)
				}
				q = exactQ(basePart, "nope")
				q.Peek = true
				e.mustMiss(q)
				e.clock.Advance(time.Second)
			}
			if s := e.stats(); s.Hits != before.Hits || s.ExactHits != before.ExactHits || s.Misses != before.Misses {
				t.Fatalf("after peeks: hits %d exact %d misses %d, want %d %d %d",
					s.Hits, s.ExactHits, s.Misses, before.Hits, before.ExactHits, before.Misses)
			}
			// Only b is really used: a, peeked at but never used, is the
			// least recently (and frequently) used entry.
			e.mustHitBody(exactQ(basePart, "b"), "b")
			e.put(e.entry(basePart, "d", "ctx", Unit(e.rng, Dim), "d"))
			q := exactQ(basePart, "a")
			q.Peek = true
			e.mustMiss(q)
			for _, k := range []string{"b", "c", "d"} {
				q := exactQ(basePart, k)
				q.Peek = true
				e.mustHitBody(q, k)
			}
		})
	}
}

// testRecord: Record counts one hit or miss and records a hit on its
// entry as a lookup would; a hit on an entry that is gone is counted
// and changes nothing else.
func testRecord(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{MaxEntries: 3, Eviction: cache.EvictLRU})
	for _, k := range []string{"a", "b", "c"} {
		e.put(e.entry(basePart, k, "ctx", Unit(e.rng, Dim), k))
		e.clock.Advance(time.Second)
	}
	before := e.stats()
	uses := []struct {
		name  string
		use   cache.Use
		found bool
	}{
		{"hit on a", cache.Use{Hit: true, Partition: basePart, Exact: FP("a"), Tier: cache.TierExact}, true},
		{"semantic hit on a gone entry", cache.Use{Hit: true, Partition: basePart, Exact: FP("gone"), Tier: cache.TierSemantic}, false},
		{"hit in another partition", cache.Use{Hit: true, Partition: cache.Partition{Revision: "other"}, Exact: FP("b"), Tier: cache.TierExact}, false},
		{"miss", cache.Use{Partition: basePart, Exact: FP("c")}, false},
	}
	for _, u := range uses {
		found, err := e.b.Record(e.ctx, u.use)
		if err != nil || found != u.found {
			t.Fatalf("Record(%s) = %v, %v; want found=%v", u.name, found, err, u.found)
		}
		e.clock.Advance(time.Second)
	}
	s := e.stats()
	if d := s.Hits - before.Hits; d != 3 {
		t.Errorf("hits +%d, want +3", d)
	}
	if d := s.ExactHits - before.ExactHits; d != 2 {
		t.Errorf("exact hits +%d, want +2", d)
	}
	if d := s.Misses - before.Misses; d != 1 {
		t.Errorf("misses +%d, want +1", d)
	}
	if s.Entries != 3 {
		t.Errorf("entries %d, want 3", s.Entries)
	}
	// a was used: b is now the least recently used entry.
	e.put(e.entry(basePart, "d", "ctx", Unit(e.rng, Dim), "d"))
	q := exactQ(basePart, "b")
	q.Peek = true
	e.mustMiss(q)
	if h := e.mustHitBody(exactQ(basePart, "a"), "a"); h.Entry.Hits != 2 {
		t.Errorf("a's hit count %d after one recorded use and one lookup, want 2", h.Entry.Hits)
	}
}
