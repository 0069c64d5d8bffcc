package server

import (
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/pkg/natstest"
)

// TestStoreVisibleOnEveryReplica: a Store (over NATS, published on the
// stream) and a write published straight on the stream (as the gateway
// does) are answered by both replicas, exact and semantic.
func TestStoreVisibleOnEveryReplica(t *testing.T) {
	ns := natstest.RunServer(t)
	a, b := startReplica(t, ns, "a"), startReplica(t, ns, "b")
	cli := natsClient(t, ns)

	v := vec(1)
	res := store(t, cli, storeReq(basePartition, "what is 2+2", "ctx", v, `{"answer":4}`))
	if res.GetEntryId() == "" {
		t.Fatal("Store returned no entry id")
	}
	gw := storeReq(partition("code"), "write hello world", "ctx2", vec(2), `{"code":"print"}`)
	publishWrite(t, ns, gw)
	waitAll(t, ns, a, b)

	for _, r := range []*replica{a, b} {
		t.Run(r.name, func(t *testing.T) {
			h := mustHit(t, r.http, exactLookup(basePartition, "what is 2+2"), `{"answer":4}`)
			if h.GetTier() != cachev1.CacheTier_CACHE_TIER_EXACT || h.GetSimilarity() != 1 || h.GetEntryId() != res.GetEntryId() {
				t.Fatalf("exact hit %+v", h)
			}
			got := h.GetResponse()
			if got.GetModel() != "m-small" || got.GetUsage().GetTotalTokens() != 7 || got.GetStatusCode() != 200 ||
				got.GetContentType() != "application/json" || got.GetStoredAt() == nil {
				t.Fatalf("cached response fields lost: %+v", got)
			}
			s := mustHit(t, r.http, semLookup(basePartition, "ctx", near(3, v, 0.95), 0.9), `{"answer":4}`)
			if s.GetTier() != cachev1.CacheTier_CACHE_TIER_SEMANTIC || s.GetSimilarity() < 0.94 || s.GetSimilarity() > 0.96 {
				t.Fatalf("semantic hit tier %s similarity %v", s.GetTier(), s.GetSimilarity())
			}
			mustMiss(t, r.http, semLookup(basePartition, "ctx", near(4, v, 0.5), 0.9))
			mustHit(t, r.http, exactLookup(partition("code"), "write hello world"), `{"code":"print"}`)
		})
	}
}

// TestLateReplicaCatchesUp: a replica started after the writes finds them
// all in the stream.
func TestLateReplicaCatchesUp(t *testing.T) {
	ns := natstest.RunServer(t)
	a := startReplica(t, ns, "a")
	cli := natsClient(t, ns)
	for i := range 25 {
		store(t, cli, storeReq(basePartition, name(i), "ctx", vec(uint64(100+i)), fmt.Sprint("b", i)))
	}
	late := startReplica(t, ns, "late")
	waitAll(t, ns, a, late)
	for i := range 25 {
		mustHit(t, late.http, exactLookup(basePartition, name(i)), fmt.Sprint("b", i))
		mustHit(t, late.http, semLookup(basePartition, "ctx", vec(uint64(100+i)), 0.99), fmt.Sprint("b", i))
	}
	if s := stats(t, late.http); s.GetEntries() != 25 {
		t.Fatalf("late replica holds %d entries, want 25", s.GetEntries())
	}
}

// TestKillReplica: with one replica gone, lookups over NATS are answered by
// the other and nothing is lost; a replacement replica has everything.
func TestKillReplica(t *testing.T) {
	ns := natstest.RunServer(t)
	a, b := startReplica(t, ns, "a"), startReplica(t, ns, "b")
	cli := natsClient(t, ns)
	for i := range 10 {
		store(t, cli, storeReq(basePartition, name(i), "ctx", nil, fmt.Sprint("b", i)))
	}
	waitAll(t, ns, a, b)
	a.kill()
	for range 3 { // every lookup lands on b, the only member of the queue group
		for i := range 10 {
			mustHit(t, cli, exactLookup(basePartition, name(i)), fmt.Sprint("b", i))
		}
	}
	// Writes keep flowing while a is gone.
	store(t, cli, storeReq(basePartition, "after", "ctx", nil, "after"))
	c := startReplica(t, ns, "c")
	waitAll(t, ns, b, c)
	for i := range 10 {
		mustHit(t, c.http, exactLookup(basePartition, name(i)), fmt.Sprint("b", i))
	}
	mustHit(t, c.http, exactLookup(basePartition, "after"), "after")
}

func TestInvalidate(t *testing.T) {
	ns := natstest.RunServer(t)
	a, b := startReplica(t, ns, "a"), startReplica(t, ns, "b")
	cli := natsClient(t, ns)
	user := &cachev1.Partition{Decision: "chat", Model: "m", Scope: cachev1.CacheScope_CACHE_SCOPE_USER, ScopeId: "u1"}
	store(t, cli, storeReq(basePartition, "m1", "ctx", nil, "m1"))
	store(t, cli, storeReq(basePartition, "m2", "ctx", nil, "m2"))
	store(t, cli, storeReq(partition("code"), "c1", "ctx", nil, "c1"))
	store(t, cli, storeReq(user, "u1", "ctx", nil, "u1"))
	waitAll(t, ns, a, b)

	inv := func(req *cachev1.InvalidateRequest) *cachev1.InvalidateResponse {
		t.Helper()
		res, err := a.http.Invalidate(t.Context(), connect.NewRequest(req))
		if err != nil {
			t.Fatalf("Invalidate: %v", err)
		}
		return res.Msg
	}
	// dry_run unset means a dry run.
	if r := inv(&cachev1.InvalidateRequest{Partition: &cachev1.Partition{Decision: "math"}}); r.GetCount() != 2 || !r.GetDryRun() {
		t.Fatalf("dry run: %+v", r)
	}
	mustHit(t, a.http, exactLookup(basePartition, "m1"), "m1")
	if r := inv(&cachev1.InvalidateRequest{Partition: &cachev1.Partition{Decision: "math"}, DryRun: proto.Bool(false)}); r.GetCount() != 2 || r.GetDryRun() {
		t.Fatalf("invalidate: %+v", r)
	}
	mustMiss(t, a.http, exactLookup(basePartition, "m1"))
	waitControl(t, b, "invalidate")
	mustMiss(t, b.http, exactLookup(basePartition, "m1"))
	mustMiss(t, b.http, exactLookup(basePartition, "m2"))
	mustHit(t, b.http, exactLookup(partition("code"), "c1"), "c1")

	// A whole partition (user scope).
	if r := inv(&cachev1.InvalidateRequest{Partition: user, DryRun: proto.Bool(false)}); r.GetCount() != 1 {
		t.Fatalf("invalidate user partition: %+v", r)
	}
	waitControl(t, b, "invalidate")
	mustMiss(t, b.http, exactLookup(user, "u1"))

	// A replica started now does not bring the invalidated entries back.
	late := startReplica(t, ns, "late")
	waitAll(t, ns, late)
	mustMiss(t, late.http, exactLookup(basePartition, "m1"))
	mustHit(t, late.http, exactLookup(partition("code"), "c1"), "c1")

	_, err := a.http.Invalidate(t.Context(), connect.NewRequest(&cachev1.InvalidateRequest{DryRun: proto.Bool(false)}))
	if code(err) != connect.CodeInvalidArgument {
		t.Fatalf("empty filter: %v, want InvalidArgument", err)
	}
	// older_than alone is a valid filter.
	if r := inv(&cachev1.InvalidateRequest{OlderThan: durationpb.New(time.Hour)}); r.GetCount() != 0 {
		t.Fatalf("older_than 1h counted %d fresh entries", r.GetCount())
	}
}

func TestFlush(t *testing.T) {
	ns := natstest.RunServer(t)
	a, b := startReplica(t, ns, "a"), startReplica(t, ns, "b")
	cli := natsClient(t, ns)
	for i := range 5 {
		store(t, cli, storeReq(basePartition, name(i), "ctx", vec(uint64(i)), "x"))
	}
	waitAll(t, ns, a, b)
	tests := []struct {
		name, phrase string
	}{
		{name: "empty", phrase: ""},
		{name: "wrong case", phrase: "Flush the semrouter cache"},
		{name: "extra space", phrase: "flush the semrouter cache "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cli.Flush(t.Context(), connect.NewRequest(&cachev1.FlushRequest{Confirmation: tc.phrase}))
			if code(err) != connect.CodeInvalidArgument {
				t.Fatalf("Flush(%q): %v, want InvalidArgument", tc.phrase, err)
			}
		})
	}
	if s := stats(t, b.http); s.GetEntries() != 5 {
		t.Fatalf("a rejected flush removed entries: %d left", s.GetEntries())
	}
	res, err := a.http.Flush(t.Context(), connect.NewRequest(&cachev1.FlushRequest{Confirmation: FlushPhrase}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Msg.GetRemoved() != 5 {
		t.Fatalf("removed %d, want 5", res.Msg.GetRemoved())
	}
	waitControl(t, b, "flush")
	for _, r := range []*replica{a, b} {
		if s := stats(t, r.http); s.GetEntries() != 0 {
			t.Fatalf("replica %s holds %d entries after flush", r.name, s.GetEntries())
		}
		mustMiss(t, r.http, exactLookup(basePartition, name(1)))
	}
	late := startReplica(t, ns, "late")
	waitAll(t, ns, late)
	if s := stats(t, late.http); s.GetEntries() != 0 {
		t.Fatalf("a replica started after the flush replayed %d entries", s.GetEntries())
	}
}

func TestStats(t *testing.T) {
	ns := natstest.RunServer(t)
	a := startReplica(t, ns, "a")
	v := vec(9)
	store(t, a.http, storeReq(basePartition, "q", "ctx", v, "b"))
	mustHit(t, a.http, exactLookup(basePartition, "q"), "b")
	mustHit(t, a.http, semLookup(basePartition, "ctx", v, 0.9), "b")
	mustMiss(t, a.http, exactLookup(basePartition, "nope"))
	s := stats(t, a.http)
	if s.GetEntries() != 1 || s.GetHits() != 2 || s.GetExactHits() != 1 || s.GetSemanticHits() != 1 ||
		s.GetMisses() != 1 || s.GetMemoryBytes() <= 0 || s.GetBackend() != BackendJetStream {
		t.Fatalf("stats %+v", s)
	}
	if r := s.GetHitRatio(); r < 0.66 || r > 0.67 {
		t.Fatalf("hit ratio %v, want 2/3", r)
	}
}

// TestContextIsolation: the semantic tier only answers within the same
// conversation context and partition.
func TestContextIsolation(t *testing.T) {
	ns := natstest.RunServer(t)
	a := startReplica(t, ns, "a")
	v := vec(5)
	store(t, a.http, storeReq(basePartition, "q-a", "history-A", v, "answer-A"))
	mustMiss(t, a.http, semLookup(basePartition, "history-B", v, 0.5))
	mustHit(t, a.http, semLookup(basePartition, "history-A", v, 0.5), "answer-A")
	store(t, a.http, storeReq(basePartition, "q-b", "history-B", v, "answer-B"))
	mustHit(t, a.http, semLookup(basePartition, "history-B", v, 0.5), "answer-B")
	mustHit(t, a.http, semLookup(basePartition, "history-A", v, 0.5), "answer-A")

	other := []struct {
		name string
		edit func(p *cachev1.Partition)
	}{
		{"recipe", func(p *cachev1.Partition) { p.Recipe = "fast" }},
		{"revision", func(p *cachev1.Partition) { p.Revision = "r2" }},
		{"model", func(p *cachev1.Partition) { p.Model = "m-large" }},
		{"user scope", func(p *cachev1.Partition) { p.Scope, p.ScopeId = cachev1.CacheScope_CACHE_SCOPE_USER, "u1" }},
		{"stream", func(p *cachev1.Partition) { p.Stream = true }},
		{"recipe/revision boundary", func(p *cachev1.Partition) { p.Recipe, p.Revision = "r", "1" }},
	}
	for _, tc := range other {
		t.Run(tc.name, func(t *testing.T) {
			p := proto.CloneOf(basePartition)
			tc.edit(p)
			mustMiss(t, a.http, semLookup(p, "history-A", v, 0.5))
			mustMiss(t, a.http, exactLookup(p, "q-a"))
		})
	}
}

func TestStoreAndLookupErrors(t *testing.T) {
	ns := natstest.RunServer(t)
	a := startReplica(t, ns, "a")
	badStore := []struct {
		name string
		edit func(r *cachev1.StoreRequest)
	}{
		{"no exact fingerprint", func(r *cachev1.StoreRequest) { r.ExactFingerprint = "" }},
		{"bad hex", func(r *cachev1.StoreRequest) { r.ExactFingerprint = "zz" }},
		{"scope id on global scope", func(r *cachev1.StoreRequest) { r.Partition.ScopeId = "u1" }},
		{"user scope without id", func(r *cachev1.StoreRequest) { r.Partition.Scope = cachev1.CacheScope_CACHE_SCOPE_USER }},
		{"wrong dimension", func(r *cachev1.StoreRequest) { r.QueryEmbedding.Values = r.QueryEmbedding.Values[:5] }},
		{"embedding without context", func(r *cachev1.StoreRequest) { r.ContextFingerprint = "" }},
	}
	for _, tc := range badStore {
		t.Run(tc.name, func(t *testing.T) {
			r := storeReq(proto.CloneOf(basePartition), "q", "ctx", vec(1), "b")
			tc.edit(r)
			_, err := a.http.Store(t.Context(), connect.NewRequest(r))
			if code(err) != connect.CodeInvalidArgument {
				t.Fatalf("Store: %v, want InvalidArgument", err)
			}
		})
	}
	r := storeReq(basePartition, "err", "ctx", nil, "boom")
	r.Response.StatusCode = 503
	res, err := a.http.Store(t.Context(), connect.NewRequest(r))
	if err != nil || res.Msg.GetStored() || res.Msg.GetReason() == "" {
		t.Fatalf("Store of a 503: %+v %v, want dropped with a reason", res, err)
	}
	mustMiss(t, a.http, exactLookup(basePartition, "err"))

	badLookup := []struct {
		name string
		req  *cachev1.LookupRequest
	}{
		{"no fingerprints", &cachev1.LookupRequest{Partition: basePartition}},
		{"threshold above 1", &cachev1.LookupRequest{ExactFingerprint: fp("q"), Partition: basePartition, SimilarityThreshold: 1.5}},
		{"wrong dimension", semLookup(basePartition, "ctx", vec(1)[:3], 0.9)},
	}
	for _, tc := range badLookup {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.http.Lookup(t.Context(), connect.NewRequest(tc.req))
			if code(err) != connect.CodeInvalidArgument {
				t.Fatalf("Lookup: %v, want InvalidArgument", err)
			}
		})
	}
}

// TestMaxAgeAndTTL: max_age bounds the age of a hit and the write's TTL
// bounds its life (on a manual clock).
func TestMaxAgeAndTTL(t *testing.T) {
	ns := natstest.RunServer(t)
	clock := newTestClock()
	a := startReplica(t, ns, "a", func(o *ServiceOptions) { o.Clock = clock })
	r := storeReq(basePartition, "q", "ctx", nil, "b")
	r.Ttl = durationpb.New(time.Minute)
	store(t, a.http, r)
	clock.Advance(30 * time.Second)
	q := exactLookup(basePartition, "q")
	q.MaxAge = durationpb.New(10 * time.Second)
	mustMiss(t, a.http, q)
	q.MaxAge = durationpb.New(time.Minute)
	mustHit(t, a.http, q, "b")
	clock.Advance(31 * time.Second)
	mustMiss(t, a.http, exactLookup(basePartition, "q"))
}

// TestDimensionLearnt: without a configured dimension the first embedding
// written fixes it; the backend is rebuilt from the stream and answers
// semantic lookups, and earlier exact-only entries survive.
func TestDimensionLearnt(t *testing.T) {
	ns := natstest.RunServer(t)
	s := DefaultSettings() // Dim 0
	a := startReplica(t, ns, "a", withSettings(s))
	store(t, a.http, storeReq(basePartition, "exact-only", "ctx0", nil, "e"))
	v := vec(8)
	mustMiss(t, a.http, semLookup(basePartition, "ctx", v, 0.9)) // no dimension yet: semantic tier skipped
	store(t, a.http, storeReq(basePartition, "q", "ctx", v, "sem"))
	waitAll(t, ns, a)
	mustHit(t, a.http, semLookup(basePartition, "ctx", near(1, v, 0.97), 0.9), "sem")
	mustHit(t, a.http, exactLookup(basePartition, "exact-only"), "e")
}

// TestWithoutJetStream: on a core-only NATS server writes are stored by
// the replica that receives them.
func TestWithoutJetStream(t *testing.T) {
	ns := natstest.RunServer(t, natstest.WithoutJetStream())
	a := startReplica(t, ns, "a")
	if a.svc.Replicated() {
		t.Fatal("replicated without JetStream")
	}
	cli := natsClient(t, ns)
	store(t, cli, storeReq(basePartition, "q", "ctx", vec(1), "local"))
	mustHit(t, cli, exactLookup(basePartition, "q"), "local")
	if s := stats(t, cli); s.GetBackend() != BackendMemory || s.GetEntries() != 1 {
		t.Fatalf("stats %+v", s)
	}
	res, err := cli.Flush(t.Context(), connect.NewRequest(&cachev1.FlushRequest{Confirmation: FlushPhrase}))
	if err != nil || res.Msg.GetRemoved() != 1 {
		t.Fatalf("flush: %+v %v", res, err)
	}
}

// TestDisabled: enabled: false answers every lookup with a miss and drops
// every write with a reason.
func TestDisabled(t *testing.T) {
	ns := natstest.RunServer(t)
	s := testSettings()
	s.Enabled = false
	a := startReplica(t, ns, "a", withSettings(s))
	res, err := a.http.Store(t.Context(), connect.NewRequest(storeReq(basePartition, "q", "ctx", nil, "b")))
	if err != nil || res.Msg.GetStored() || res.Msg.GetReason() != ReasonDisabled {
		t.Fatalf("Store: %+v %v", res, err)
	}
	mustMiss(t, a.http, exactLookup(basePartition, "q"))
	// A lookup with alternatives still answers one (missing) candidate
	// each, so the gateway needs no second round trip.
	multi := exactLookup(nil, "q")
	multi.Alternatives = []*cachev1.Partition{basePartition, partition("other")}
	if res := lookup(t, a.http, multi); res.GetHit() || len(res.GetCandidates()) != 2 ||
		res.GetCandidates()[1].GetIndex() != 1 || res.GetCandidates()[1].GetHit() {
		t.Fatalf("disabled lookup with alternatives: %+v", res)
	}
}
