package server

import (
	"strings"
	"testing"

	"connectrpc.com/connect"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/redis"
)

func served(t testing.TB, c cachev1connect.CacheServiceClient, req *cachev1.ServedRequest) *cachev1.ServedResponse {
	t.Helper()
	res, err := c.Served(t.Context(), connect.NewRequest(req))
	if err != nil {
		t.Fatalf("Served: %v", err)
	}
	return res.Msg
}

type counts struct{ hits, exact, misses int64 }

func delta(before, after *cachev1.StatsResponse) counts {
	return counts{after.GetHits() - before.GetHits(), after.GetExactHits() - before.GetExactHits(),
		after.GetMisses() - before.GetMisses()}
}

// TestServedCountsOnce: a speculative lookup with report_served over four
// partitions, two of which hit, counts nothing by itself (not even in
// the counters Redis shares between replicas); the report then counts
// exactly one hit of the served tier, or one miss, on every backend that
// runs here. The Redis case reads its stats from a second replica sharing
// the store.
func TestServedCountsOnce(t *testing.T) {
	ns := natstest.RunServer(t)
	noStream := func(o *ServiceOptions) { o.NoStream = true }
	memory := testSettings()
	memory.Backend = BackendMemory
	redisSettings := func(t *testing.T) Settings {
		s := testSettings()
		s.Backend = BackendRedis
		s.Redis = redis.Config{Addr: redistest.Start(t).Addr, KeyPrefix: "served-redis:"}
		return s
	}
	cases := []struct {
		name     string
		settings func(t *testing.T) Settings
		opts     []replicaOpt
		// second starts another replica on the same settings and reads
		// the stats from it.
		second bool
	}{
		{name: "jetstream", settings: func(*testing.T) Settings { return testSettings() }},
		{name: "memory", settings: func(*testing.T) Settings { return memory }, opts: []replicaOpt{noStream}},
		{name: "hybrid", settings: func(t *testing.T) Settings {
			return hybridSettings(redistest.Start(t).Addr, "served-hybrid:")
		}, opts: []replicaOpt{noStream}},
		{name: "redis", settings: redisSettings, opts: []replicaOpt{noStream}, second: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			settings := tc.settings(t)
			a := startReplica(t, ns, "served-"+tc.name, append([]replicaOpt{withSettings(settings)}, tc.opts...)...)
			statsOf := a.http
			if tc.second {
				statsOf = startReplica(t, ns, "served2-"+tc.name, append([]replicaOpt{withSettings(settings)}, tc.opts...)...).http
			}
			v := vec(9)
			pa, pb, pc, pd := partition("alpha"), partition("beta"), partition("gamma"), partition("delta")
			store(t, a.http, storeReq(pa, "q", "ctx", v, "A"))
			store(t, a.http, storeReq(pc, "other", "ctx", near(3, v, 0.97), "C"))
			req := &cachev1.LookupRequest{ExactFingerprint: fp("q"), ContextFingerprint: fp("ctx"),
				QueryEmbedding: &commonv1.Vector{Values: v}, Mode: cachev1.LookupMode_LOOKUP_MODE_EXACT_THEN_SEMANTIC,
				SimilarityThreshold: 0.9, Alternatives: []*cachev1.Partition{pa, pb, pc, pd}, ReportServed: true}

			reports := []struct {
				name   string
				report func(res *cachev1.LookupResponse) *cachev1.ServedRequest
				want   counts
				found  bool
			}{
				{name: "semantic hit served", report: func(res *cachev1.LookupResponse) *cachev1.ServedRequest {
					c := res.GetCandidates()[2]
					return &cachev1.ServedRequest{Partition: pc, Hit: true, EntryId: c.GetEntryId(), Tier: c.GetTier()}
				}, want: counts{hits: 1}, found: true},
				{name: "exact hit served", report: func(res *cachev1.LookupResponse) *cachev1.ServedRequest {
					c := res.GetCandidates()[0]
					return &cachev1.ServedRequest{Partition: pa, Hit: true, EntryId: c.GetEntryId(), Tier: c.GetTier()}
				}, want: counts{hits: 1, exact: 1}, found: true},
				{name: "miss served", report: func(*cachev1.LookupResponse) *cachev1.ServedRequest {
					return &cachev1.ServedRequest{Partition: pb}
				}, want: counts{misses: 1}},
			}
			for _, r := range reports {
				before := stats(t, statsOf)
				res := lookup(t, a.http, req)
				if c := res.GetCandidates(); !res.GetHit() || len(c) != 4 || !c[0].GetHit() || c[1].GetHit() ||
					!c[2].GetHit() || c[3].GetHit() {
					t.Fatalf("%s: candidates %+v, want hits in alpha and gamma only", r.name, c)
				}
				if d := delta(before, stats(t, statsOf)); d != (counts{}) {
					t.Fatalf("%s: the lookup itself counted %+v, want nothing before the report", r.name, d)
				}
				got := served(t, a.http, r.report(res))
				if d := delta(before, stats(t, statsOf)); d != r.want || got.GetRecorded() != r.found {
					t.Fatalf("%s: counted %+v recorded=%v, want %+v recorded=%v", r.name, d, got.GetRecorded(), r.want, r.found)
				}
			}
		})
	}
}

// TestServedEviction: with LRU, an entry that only ever hit as an
// alternative the caller did not serve is evicted before the one it
// served, though both were found by every lookup.
func TestServedEviction(t *testing.T) {
	ns := natstest.RunServer(t)
	settings := testSettings()
	settings.Backend = BackendMemory
	settings.Options.MaxEntries = 3
	settings.Options.Eviction = cache.EvictLRU
	a := startReplica(t, ns, "evict", withSettings(settings), func(o *ServiceOptions) { o.NoStream = true })
	unserved, servedPart, other := partition("unserved"), partition("served"), partition("other")
	for _, p := range []*cachev1.Partition{unserved, servedPart, other} {
		store(t, a.http, storeReq(p, "q", "ctx", nil, p.GetDecision()))
	}
	req := exactLookup(nil, "q")
	req.Alternatives, req.ReportServed = []*cachev1.Partition{unserved, servedPart}, true
	for range 3 {
		res := lookup(t, a.http, req)
		c := res.GetCandidates()
		if len(c) != 2 || !c[0].GetHit() || !c[1].GetHit() {
			t.Fatalf("candidates %+v, want two hits", c)
		}
		served(t, a.http, &cachev1.ServedRequest{Partition: servedPart, Hit: true, EntryId: c[1].GetEntryId(), Tier: c[1].GetTier()})
	}
	store(t, a.http, storeReq(partition("new"), "q", "ctx", nil, "new"))
	mustMiss(t, a.http, exactLookup(unserved, "q"))
	for _, p := range []*cachev1.Partition{servedPart, other, partition("new")} {
		mustHit(t, a.http, exactLookup(p, "q"), p.GetDecision())
	}
}

// TestServedInvalid: a report naming an entry that does not exist is
// counted and harmless; a malformed one is refused with InvalidArgument.
func TestServedInvalid(t *testing.T) {
	ns := natstest.RunServer(t)
	a := startReplica(t, ns, "served-invalid")
	p := partition("alpha")
	stored := store(t, a.http, storeReq(p, "q", "ctx", nil, "A"))
	gone := entryIDOf(t, p, "gone")
	before := stats(t, a.http)
	res := served(t, a.http, &cachev1.ServedRequest{Partition: p, Hit: true, EntryId: gone, Tier: cachev1.CacheTier_CACHE_TIER_SEMANTIC})
	if res.GetRecorded() {
		t.Fatal("a report on an entry that does not exist was recorded")
	}
	if d := delta(before, stats(t, a.http)); d != (counts{hits: 1}) {
		t.Fatalf("unknown entry counted %+v, want one semantic hit", d)
	}
	if s := stats(t, a.http); s.GetEntries() != 1 {
		t.Fatalf("entries %d after a report on an unknown entry, want 1", s.GetEntries())
	}
	mustHit(t, a.http, exactLookup(p, "q"), "A")

	cases := []struct {
		name    string
		req     *cachev1.ServedRequest
		wantErr string
	}{
		{"no partition", &cachev1.ServedRequest{Hit: true, EntryId: stored.GetEntryId(), Tier: cachev1.CacheTier_CACHE_TIER_EXACT}, "partition is required"},
		{"entry of another partition", &cachev1.ServedRequest{Partition: partition("beta"), Hit: true,
			EntryId: stored.GetEntryId(), Tier: cachev1.CacheTier_CACHE_TIER_EXACT}, "not an entry of the partition"},
		{"malformed entry id", &cachev1.ServedRequest{Partition: p, Hit: true, EntryId: "zz", Tier: cachev1.CacheTier_CACHE_TIER_EXACT}, "entry_id"},
		{"hit without tier", &cachev1.ServedRequest{Partition: p, Hit: true, EntryId: stored.GetEntryId()}, "want exact or semantic"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := stats(t, a.http)
			_, err := a.http.Served(t.Context(), connect.NewRequest(tc.req))
			if code(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Served: %v, want InvalidArgument naming %q", err, tc.wantErr)
			}
			if d := delta(before, stats(t, a.http)); d != (counts{}) {
				t.Fatalf("a refused report counted %+v", d)
			}
		})
	}
}

// entryIDOf is the entry id an entry of p with exact fingerprint exact
// would have.
func entryIDOf(t testing.TB, p *cachev1.Partition, exact string) string {
	t.Helper()
	part, err := toPartition(p)
	if err != nil {
		t.Fatal(err)
	}
	fpv, err := cache.ParseFingerprint(fp(exact))
	if err != nil {
		t.Fatal(err)
	}
	return entryID(part, fpv)
}
