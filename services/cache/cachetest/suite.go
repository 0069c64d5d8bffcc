package cachetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/cache"
)

// Dim is the embedding dimension the suite uses.
const Dim = 32

// Factory builds a fresh, empty backend for one subtest; it should register
// its own cleanup (Close, removing external state).
type Factory func(t *testing.T, opts cache.Options) cache.Backend

// Start returns the time the suite's clocks start at.
func Start() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

type env struct {
	t     *testing.T
	ctx   context.Context
	clock *Clock
	b     cache.Backend
	rng   *rand.Rand
}

func newEnv(t *testing.T, f Factory, opts cache.Options) *env {
	t.Helper()
	clock := NewClock(Start())
	if opts.Dim == 0 {
		opts.Dim = Dim
	}
	opts.Clock = clock
	return &env{t: t, ctx: t.Context(), clock: clock, b: f(t, opts), rng: rand.New(rand.NewPCG(uint64(len(t.Name())), 99))}
}

var basePart = cache.Partition{Revision: "r1", Decision: "math", Model: "m-small", Tenant: "acme", User: "u1"}

// entry builds a storable entry created now.
func (e *env) entry(part cache.Partition, exact, ctxFP string, emb []float32, body string) *cache.Entry {
	return &cache.Entry{
		Partition: part,
		Exact:     FP(exact),
		Context:   FP(ctxFP),
		Embedding: emb,
		Query:     exact,
		Response:  OK(body),
		CreatedAt: e.clock.Now(),
	}
}

func (e *env) put(en *cache.Entry) {
	e.t.Helper()
	if err := e.b.Put(e.ctx, en); err != nil {
		e.t.Fatalf("Put(%s): %v", en.Query, err)
	}
}

func (e *env) lookup(q cache.Query) (cache.Hit, bool) {
	e.t.Helper()
	h, ok, err := e.b.Lookup(e.ctx, q)
	if err != nil {
		e.t.Fatalf("Lookup: %v", err)
	}
	return h, ok
}

func exactQ(part cache.Partition, exact string) cache.Query {
	return cache.Query{Partition: part, Mode: cache.ModeExact, Exact: FP(exact)}
}

func semQ(part cache.Partition, ctxFP string, emb []float32, threshold float32) cache.Query {
	return cache.Query{Partition: part, Mode: cache.ModeSemantic, Context: FP(ctxFP), Embedding: emb, Threshold: threshold}
}

func (e *env) stats() cache.Stats {
	e.t.Helper()
	s, err := e.b.Stats(e.ctx)
	if err != nil {
		e.t.Fatalf("Stats: %v", err)
	}
	return s
}

func (e *env) mustHitBody(q cache.Query, body string) cache.Hit {
	e.t.Helper()
	h, ok := e.lookup(q)
	if !ok {
		e.t.Fatalf("miss, want hit with body %q", body)
	}
	if got := string(h.Entry.Response.Body); got != body {
		e.t.Fatalf("hit body %q, want %q", got, body)
	}
	return h
}

func (e *env) mustMiss(q cache.Query) {
	e.t.Helper()
	if h, ok := e.lookup(q); ok {
		e.t.Fatalf("hit (%s, body %q), want miss", h.Tier, h.Entry.Response.Body)
	}
}

// RunBackendSuite runs the backend contract against backends from f.
func RunBackendSuite(t *testing.T, f Factory) {
	t.Run("ExactHit", func(t *testing.T) { testExactHit(t, f) })
	t.Run("SemanticHitAndThreshold", func(t *testing.T) { testSemantic(t, f) })
	t.Run("SemanticGuard", func(t *testing.T) { testSemanticGuard(t, f) })
	t.Run("ExactThenSemantic", func(t *testing.T) { testExactThenSemantic(t, f) })
	t.Run("ContextIsolation", func(t *testing.T) { testContextIsolation(t, f) })
	t.Run("PartitionIsolation", func(t *testing.T) { testPartitionIsolation(t, f) })
	t.Run("Replace", func(t *testing.T) { testReplace(t, f) })
	t.Run("TTLExpiry", func(t *testing.T) { testTTL(t, f) })
	t.Run("MaxAge", func(t *testing.T) { testMaxAge(t, f) })
	t.Run("Eviction", func(t *testing.T) { testEviction(t, f) })
	t.Run("MaxEntries", func(t *testing.T) { testMaxEntries(t, f) })
	t.Run("MemoryBound", func(t *testing.T) { testMemoryBound(t, f) })
	t.Run("NotStorable", func(t *testing.T) { testNotStorable(t, f) })
	t.Run("PolicyControls", func(t *testing.T) { testPolicyControls(t, f) })
	t.Run("Invalidate", func(t *testing.T) { testInvalidate(t, f) })
	t.Run("Flush", func(t *testing.T) { testFlush(t, f) })
	t.Run("Stats", func(t *testing.T) { testStats(t, f) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, f) })
	t.Run("Peek", func(t *testing.T) { testPeek(t, f) })
	t.Run("Record", func(t *testing.T) { testRecord(t, f) })
}

func testExactHit(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	e.put(e.entry(basePart, "q1", "c", nil, `{"a":1}`))
	h := e.mustHitBody(exactQ(basePart, "q1"), `{"a":1}`)
	if h.Tier != cache.TierExact || h.Similarity != 1 {
		t.Fatalf("tier %s similarity %v, want exact 1", h.Tier, h.Similarity)
	}
	if h.Entry.Response.StatusCode != 200 || h.Entry.Response.ContentType != "application/json" ||
		h.Entry.Response.Headers["x-upstream"] != "test" || !h.Entry.CreatedAt.Equal(Start()) {
		t.Fatalf("entry fields not preserved: %+v", h.Entry)
	}
	e.mustMiss(exactQ(basePart, "q2"))
}

func testSemantic(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	base := Unit(e.rng, Dim)
	e.put(e.entry(basePart, "what is 2+2", "ctx", base, "four"))
	for i := range 20 { // distractors in the same group
		e.put(e.entry(basePart, fmt.Sprint("other", i), "ctx", Unit(e.rng, Dim), fmt.Sprint("other", i)))
	}
	tests := []struct {
		name      string
		cos       float64
		threshold float32
		hit       bool
	}{
		{name: "identical", cos: 1, threshold: 0.9, hit: true},
		{name: "close above threshold", cos: 0.95, threshold: 0.9, hit: true},
		{name: "below threshold", cos: 0.85, threshold: 0.9, hit: false},
		{name: "far", cos: 0.2, threshold: 0.5, hit: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := Near(e.rng, base, tc.cos)
			h, ok := e.lookup(semQ(basePart, "ctx", q, tc.threshold))
			if ok != tc.hit {
				t.Fatalf("hit=%v want %v", ok, tc.hit)
			}
			if !ok {
				return
			}
			if h.Tier != cache.TierSemantic || string(h.Entry.Response.Body) != "four" {
				t.Fatalf("got %s %q", h.Tier, h.Entry.Response.Body)
			}
			if d := float64(h.Similarity) - tc.cos; d > 1e-3 || d < -1e-3 {
				t.Fatalf("similarity %v, want %v", h.Similarity, tc.cos)
			}
		})
	}
	// Wrong dimension is an error, not a miss.
	if _, _, err := e.b.Lookup(e.ctx, semQ(basePart, "ctx", make([]float32, Dim+1), 0.5)); !errors.Is(err, cache.ErrDimension) {
		t.Fatalf("lookup with wrong dimension: %v, want ErrDimension", err)
	}
	if err := e.b.Put(e.ctx, e.entry(basePart, "bad", "ctx", make([]float32, Dim-1), "x")); !errors.Is(err, cache.ErrDimension) {
		t.Fatalf("put with wrong dimension: %v, want ErrDimension", err)
	}
}

func testExactThenSemantic(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	base := Unit(e.rng, Dim)
	e.put(e.entry(basePart, "exact-q", "ctx", base, "exact-body"))
	e.put(e.entry(basePart, "sem-q", "ctx", Near(e.rng, base, 0.99), "sem-body"))
	q := cache.Query{Partition: basePart, Mode: cache.ModeExactThenSemantic, Exact: FP("sem-q"),
		Context: FP("ctx"), Embedding: base, Threshold: 0.9}
	if h := e.mustHitBody(q, "sem-body"); h.Tier != cache.TierExact {
		t.Fatalf("tier %s, want exact first", h.Tier)
	}
	q.Exact = FP("unseen")
	if h := e.mustHitBody(q, "exact-body"); h.Tier != cache.TierSemantic {
		t.Fatalf("tier %s, want semantic fallback", h.Tier)
	}
	// Exact mode never falls back; semantic mode ignores the exact key.
	q.Mode = cache.ModeExact
	e.mustMiss(q)
	q.Mode = cache.ModeSemantic
	q.Exact = FP("sem-q")
	if h := e.mustHitBody(q, "exact-body"); h.Tier != cache.TierSemantic {
		t.Fatalf("tier %s in semantic mode", h.Tier)
	}
	// Without an embedding the semantic tier is skipped.
	q.Embedding = nil
	e.mustMiss(q)
}

func testContextIsolation(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	v := Unit(e.rng, Dim)
	e.put(e.entry(basePart, "q-a", "history-A", v, "answer-A"))
	e.mustMiss(semQ(basePart, "history-B", v, 0.5))
	e.mustHitBody(semQ(basePart, "history-A", v, 0.5), "answer-A")
	e.put(e.entry(basePart, "q-b", "history-B", v, "answer-B"))
	e.mustHitBody(semQ(basePart, "history-B", v, 0.5), "answer-B")
	e.mustHitBody(semQ(basePart, "history-A", v, 0.5), "answer-A")
}

func testPartitionIsolation(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	v := Unit(e.rng, Dim)
	e.put(e.entry(basePart, "q", "ctx", v, "base"))
	tests := []struct {
		name string
		edit func(p *cache.Partition)
	}{
		{name: "revision", edit: func(p *cache.Partition) { p.Revision = "r2" }},
		{name: "decision", edit: func(p *cache.Partition) { p.Decision = "code" }},
		{name: "model", edit: func(p *cache.Partition) { p.Model = "m-large" }},
		{name: "tenant", edit: func(p *cache.Partition) { p.Tenant = "globex" }},
		{name: "team", edit: func(p *cache.Partition) { p.Team = "blue" }},
		{name: "user", edit: func(p *cache.Partition) { p.User = "u2" }},
		{name: "stream", edit: func(p *cache.Partition) { p.Stream = true }},
		{name: "field boundary", edit: func(p *cache.Partition) { p.Decision, p.Model = "mathm-small", "" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := basePart
			tc.edit(&p)
			e.mustMiss(exactQ(p, "q"))
			e.mustMiss(semQ(p, "ctx", v, 0.5))
		})
	}
	e.mustHitBody(exactQ(basePart, "q"), "base")
	e.mustHitBody(semQ(basePart, "ctx", v, 0.5), "base")
}

func testReplace(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	v := Unit(e.rng, Dim)
	e.put(e.entry(basePart, "q", "ctx", v, "old"))
	e.put(e.entry(basePart, "q", "ctx", v, "new"))
	e.mustHitBody(exactQ(basePart, "q"), "new")
	e.mustHitBody(semQ(basePart, "ctx", v, 0.9), "new")
	if n := e.stats().Entries; n != 1 {
		t.Fatalf("entries=%d after replacing, want 1", n)
	}
}

func testTTL(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{DefaultTTL: time.Minute})
	v := Unit(e.rng, Dim)
	own := e.entry(basePart, "own", "ctx", v, "own-ttl")
	own.ExpiresAt = e.clock.Now().Add(10 * time.Second)
	e.put(own)
	e.put(e.entry(basePart, "default", "ctx2", nil, "default-ttl"))
	e.clock.Advance(9 * time.Second)
	e.mustHitBody(exactQ(basePart, "own"), "own-ttl")
	e.mustHitBody(semQ(basePart, "ctx", v, 0.9), "own-ttl")
	e.clock.Advance(time.Second)
	e.mustMiss(exactQ(basePart, "own"))
	e.mustMiss(semQ(basePart, "ctx", v, 0.9))
	e.mustHitBody(exactQ(basePart, "default"), "default-ttl")
	e.clock.Advance(50 * time.Second)
	e.mustMiss(exactQ(basePart, "default"))
	s := e.stats()
	if s.Entries != 0 {
		t.Fatalf("entries=%d after every TTL passed, want 0", s.Entries)
	}
}

func testMaxAge(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	e.put(e.entry(basePart, "q", "ctx", nil, "aged"))
	e.clock.Advance(30 * time.Second)
	q := exactQ(basePart, "q")
	q.MaxAge = 20 * time.Second
	e.mustMiss(q)
	q.MaxAge = time.Minute
	e.mustHitBody(q, "aged")
}

func testEviction(t *testing.T, f Factory) {
	tests := []struct {
		policy  cache.EvictionPolicy
		touches []string // exact lookups before the fourth put
		evicted string
	}{
		{policy: cache.EvictFIFO, touches: []string{"a", "a"}, evicted: "a"},
		{policy: cache.EvictLRU, touches: []string{"a", "c"}, evicted: "b"},
		{policy: cache.EvictLFU, touches: []string{"a", "a", "a", "b", "c", "c"}, evicted: "b"},
	}
	for _, tc := range tests {
		t.Run(string(tc.policy), func(t *testing.T) {
			e := newEnv(t, f, cache.Options{MaxEntries: 3, Eviction: tc.policy})
			for _, k := range []string{"a", "b", "c"} {
				e.put(e.entry(basePart, k, "ctx", Unit(e.rng, Dim), k))
				e.clock.Advance(time.Second)
			}
			for _, k := range tc.touches {
				e.mustHitBody(exactQ(basePart, k), k)
				e.clock.Advance(time.Second)
			}
			e.put(e.entry(basePart, "d", "ctx", Unit(e.rng, Dim), "d"))
			for _, k := range []string{"a", "b", "c", "d"} {
				_, ok := e.lookup(exactQ(basePart, k))
				if want := k != tc.evicted; ok != want {
					t.Fatalf("%s present=%v, want %v (evicted should be %s)", k, ok, want, tc.evicted)
				}
			}
			if s := e.stats(); s.Evictions != 1 || s.Entries != 3 {
				t.Fatalf("evictions=%d entries=%d, want 1 and 3", s.Evictions, s.Entries)
			}
		})
	}
}

func testMaxEntries(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{MaxEntries: 10, Eviction: cache.EvictFIFO})
	var last []float32
	for i := range 50 {
		last = Unit(e.rng, Dim)
		e.put(e.entry(basePart, fmt.Sprint("q", i), "ctx", last, fmt.Sprint("b", i)))
	}
	s := e.stats()
	if s.Entries != 10 || s.Evictions != 40 {
		t.Fatalf("entries=%d evictions=%d, want 10 and 40", s.Entries, s.Evictions)
	}
	e.mustMiss(exactQ(basePart, "q39"))
	e.mustHitBody(exactQ(basePart, "q40"), "b40")
	e.mustHitBody(semQ(basePart, "ctx", last, 0.99), "b49")
}

func testMemoryBound(t *testing.T, f Factory) {
	probe := (&env{clock: NewClock(Start())}).entry(basePart, "q00", "ctx", make([]float32, Dim), string(make([]byte, 1000)))
	bound := 5*probe.SizeBytes() + 4096 // room for five entries plus index overhead
	e := newEnv(t, f, cache.Options{MaxMemoryBytes: bound, Eviction: cache.EvictFIFO})
	body := string(make([]byte, 1000))
	for i := range 20 {
		e.put(e.entry(basePart, fmt.Sprintf("q%02d", i), "ctx", Unit(e.rng, Dim), body))
		if s := e.stats(); s.MemoryBytes > bound {
			t.Fatalf("after %d puts memory %d exceeds bound %d", i+1, s.MemoryBytes, bound)
		}
	}
	s := e.stats()
	if s.Entries < 1 || s.Entries > 5 || s.Evictions != 20-s.Entries {
		t.Fatalf("entries=%d evictions=%d under a five-entry bound", s.Entries, s.Evictions)
	}
	e.mustHitBody(exactQ(basePart, "q19"), body)
	huge := e.entry(basePart, "huge", "ctx", nil, string(make([]byte, bound)))
	if err := e.b.Put(e.ctx, huge); !errors.Is(err, cache.ErrTooLarge) {
		t.Fatalf("oversized put: %v, want ErrTooLarge", err)
	}
}

func testNotStorable(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	tests := []struct {
		name string
		resp cache.Response
	}{
		{name: "server error", resp: cache.Response{StatusCode: 500, Body: []byte("x"), Complete: true}},
		{name: "redirect", resp: cache.Response{StatusCode: 302, Complete: true}},
		{name: "incomplete", resp: cache.Response{StatusCode: 200, Body: []byte("partial"), Complete: false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			en := e.entry(basePart, tc.name, "ctx", nil, "")
			en.Response = tc.resp
			if err := e.b.Put(e.ctx, en); !errors.Is(err, cache.ErrNotStorable) {
				t.Fatalf("Put: %v, want ErrNotStorable", err)
			}
			e.mustMiss(exactQ(basePart, tc.name))
		})
	}
}

// testPolicyControls runs cache.Cache over the backend: request controls
// decide what is looked up and stored.
func testPolicyControls(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	c := cache.New(e.b, e.clock, nil)
	policy := cache.Policy{Enabled: true, Mode: cache.ModeExactThenSemantic, Scope: cache.ScopeUser,
		SimilarityThreshold: 0.9, TTL: time.Hour, Controls: cache.ControlPolicy{Enabled: true,
			Header: cache.DefaultControlHeader, Allowed: []string{"no-cache", "no-store", "bypass", "max-age", "ttl"},
			MaxTTL: 2 * time.Hour}}
	req := func(name, header string) cache.Request {
		return cache.Request{Policy: policy, Controls: cache.ParseControls(header, policy.Controls),
			Partition: basePart, Keys: cache.Keys{Exact: FP(name), Context: FP("ctx"), LastUser: name, HasUser: true},
			Embedding: Unit(rand.New(rand.NewPCG(uint64(len(name)), 1)), Dim)}
	}
	store := func(r cache.Request, resp cache.Response, wantStored bool, wantSkip string) {
		t.Helper()
		stored, skip, err := c.Store(e.ctx, r, resp)
		if err != nil || stored != wantStored || skip != wantSkip {
			t.Fatalf("Store: stored=%v skip=%q err=%v, want %v %q", stored, skip, err, wantStored, wantSkip)
		}
	}
	lookup := func(r cache.Request, wantHit bool, wantSkip string) cache.LookupResult {
		t.Helper()
		res, err := c.Lookup(e.ctx, r)
		if err != nil || res.Hit != wantHit || res.Skipped != wantSkip {
			t.Fatalf("Lookup: %+v err=%v, want hit=%v skip=%q", res, err, wantHit, wantSkip)
		}
		return res
	}
	store(req("nostore", "no-store"), OK("x"), false, cache.SkipNoStore)
	lookup(req("nostore", ""), false, "")
	store(req("bypass", "bypass"), OK("x"), false, cache.SkipBypass)
	lookup(req("bypass", ""), false, "")
	store(req("ttl0", "ttl=0"), OK("x"), false, cache.SkipNoStore)
	store(req("err", ""), cache.Response{StatusCode: 503, Complete: true}, false, cache.SkipNotStorable)
	store(req("partial", ""), cache.Response{StatusCode: 200}, false, cache.SkipNotStorable)

	store(req("kept", ""), OK("kept"), true, "")
	if res := lookup(req("kept", ""), true, ""); res.Tier != cache.TierExact || string(res.Entry.Response.Body) != "kept" {
		t.Fatalf("got %+v", res)
	}
	lookup(req("kept", "no-cache"), false, cache.SkipNoCache)
	lookup(req("kept", "bypass"), false, cache.SkipBypass)
	lookup(req("kept", "no-store"), true, "")
	disabled := req("kept", "")
	disabled.Policy.Enabled = false
	lookup(disabled, false, cache.SkipDisabled)
	store(disabled, OK("x"), false, cache.SkipDisabled)

	e.clock.Advance(10 * time.Minute)
	lookup(req("kept", "max-age=300"), false, "")
	lookup(req("kept", "max-age=3600"), true, "")
	lookup(req("kept", "max-age=0"), false, "")

	// ttl=N shortens the lifetime; above max_ttl it is capped.
	store(req("short", "ttl=60"), OK("short"), true, "")
	store(req("capped", "ttl=999999"), OK("capped"), true, "")
	e.clock.Advance(61 * time.Second)
	lookup(req("short", ""), false, "")
	lookup(req("capped", ""), true, "")
	e.clock.Advance(2 * time.Hour)
	lookup(req("capped", ""), false, "")
}

func testInvalidate(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	code := basePart
	code.Decision = "code"
	other := basePart
	other.User = "u9"
	e.put(e.entry(basePart, "m1", "ctx", Unit(e.rng, Dim), "m1"))
	e.put(e.entry(other, "m2", "ctx", Unit(e.rng, Dim), "m2"))
	e.clock.Advance(time.Hour)
	e.put(e.entry(code, "c1", "ctx", Unit(e.rng, Dim), "c1"))
	e.put(e.entry(code, "c2", "ctx", nil, "c2"))

	if _, err := e.b.Invalidate(e.ctx, cache.InvalidateFilter{}); !errors.Is(err, cache.ErrEmptyFilter) {
		t.Fatalf("empty filter: %v, want ErrEmptyFilter", err)
	}
	count := func(f cache.InvalidateFilter, want int) {
		t.Helper()
		n, err := e.b.Invalidate(e.ctx, f)
		if err != nil || n != want {
			t.Fatalf("Invalidate(%+v) = %d, %v; want %d", f, n, err, want)
		}
	}
	count(cache.InvalidateFilter{Decision: "code", DryRun: true}, 2)
	e.mustHitBody(exactQ(code, "c1"), "c1")
	count(cache.InvalidateFilter{Decision: "code"}, 2)
	e.mustMiss(exactQ(code, "c1"))
	e.mustMiss(exactQ(code, "c2"))
	count(cache.InvalidateFilter{Decision: "code"}, 0)

	p := other
	count(cache.InvalidateFilter{Partition: &p, DryRun: true}, 1)
	count(cache.InvalidateFilter{OlderThan: 30 * time.Minute, DryRun: true}, 2)
	count(cache.InvalidateFilter{Partition: &p}, 1)
	e.mustMiss(exactQ(other, "m2"))
	e.mustHitBody(exactQ(basePart, "m1"), "m1")
	count(cache.InvalidateFilter{OlderThan: 2 * time.Hour}, 0)
	count(cache.InvalidateFilter{OlderThan: 30 * time.Minute}, 1)
	if n := e.stats().Entries; n != 0 {
		t.Fatalf("entries=%d, want 0", n)
	}
}

func testFlush(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	v := Unit(e.rng, Dim)
	for i := range 10 {
		e.put(e.entry(basePart, fmt.Sprint("q", i), "ctx", Near(e.rng, v, 0.97), "b"))
	}
	if err := e.b.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.mustMiss(exactQ(basePart, "q1"))
	e.mustMiss(semQ(basePart, "ctx", v, 0.5))
	if s := e.stats(); s.Entries != 0 || s.MemoryBytes != 0 {
		t.Fatalf("after flush: %+v", s)
	}
	e.put(e.entry(basePart, "again", "ctx", v, "again"))
	e.mustHitBody(semQ(basePart, "ctx", v, 0.9), "again")
}

func testStats(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	v := Unit(e.rng, Dim)
	e.put(e.entry(basePart, "q", "ctx", v, "b"))
	e.mustHitBody(exactQ(basePart, "q"), "b")
	e.mustHitBody(semQ(basePart, "ctx", v, 0.9), "b")
	e.mustMiss(exactQ(basePart, "nope"))
	s := e.stats()
	if s.Entries != 1 || s.Hits != 2 || s.ExactHits != 1 || s.Misses != 1 || s.MemoryBytes <= 0 {
		t.Fatalf("stats %+v", s)
	}
	if r := s.HitRatio(); r < 0.66 || r > 0.67 {
		t.Fatalf("hit ratio %v, want 2/3", r)
	}
}

func testConcurrent(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{MaxEntries: 200})
	const writers, readers, perWorker = 3, 3, 60
	vecs := make([][]float32, writers*perWorker)
	for i := range vecs {
		vecs[i] = Unit(e.rng, Dim)
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers+1)
	for w := range writers {
		wg.Go(func() {
			for i := range perWorker {
				k := w*perWorker + i
				part := basePart
				part.User = fmt.Sprint("u", k%4)
				en := e.entry(part, fmt.Sprint("q", k), fmt.Sprint("ctx", k%3), vecs[k], fmt.Sprint("b", k))
				if err := e.b.Put(e.ctx, en); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for r := range readers {
		wg.Go(func() {
			for i := range perWorker * 2 {
				k := (r*31 + i) % len(vecs)
				part := basePart
				part.User = fmt.Sprint("u", k%4)
				q := cache.Query{Partition: part, Mode: cache.ModeExactThenSemantic, Exact: FP(fmt.Sprint("q", k)),
					Context: FP(fmt.Sprint("ctx", k%3)), Embedding: vecs[k], Threshold: 0.99}
				h, ok, err := e.b.Lookup(e.ctx, q)
				if err != nil {
					errs <- err
					return
				}
				if ok && string(h.Entry.Response.Body) != fmt.Sprint("b", k) {
					errs <- fmt.Errorf("lookup %d answered %q", k, h.Entry.Response.Body)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if _, err := e.b.Invalidate(e.ctx, cache.InvalidateFilter{Decision: "none", DryRun: true}); err != nil {
				errs <- err
				return
			}
			if _, err := e.b.Stats(e.ctx); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s := e.stats()
	if s.Entries != 180 {
		t.Fatalf("entries=%d after concurrent puts, want 180", s.Entries)
	}
	for k := range vecs {
		part := basePart
		part.User = fmt.Sprint("u", k%4)
		e.mustHitBody(semQ(part, fmt.Sprint("ctx", k%3), vecs[k], 0.99), fmt.Sprint("b", k))
	}
}
