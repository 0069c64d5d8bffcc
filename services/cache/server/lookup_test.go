package server

import (
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/cache/redis"
)

// TestLookupAlternatives: a lookup with alternatives answers every listed
// partition as the single-partition lookup of that partition would, in
// order, and, without report_served, counts as one lookup in the stats
// (shared counters included), on every backend that runs here.
func TestLookupAlternatives(t *testing.T) {
	ns := natstest.RunServer(t)
	noStream := func(o *ServiceOptions) { o.NoStream = true }
	memory := testSettings()
	memory.Backend = BackendMemory
	cases := []struct {
		name     string
		settings func(t *testing.T) Settings
		opts     []replicaOpt
	}{
		{name: "jetstream", settings: func(*testing.T) Settings { return testSettings() }},
		{name: "memory", settings: func(*testing.T) Settings { return memory }, opts: []replicaOpt{noStream}},
		{name: "hybrid", settings: func(t *testing.T) Settings {
			return hybridSettings(redistest.Start(t).Addr, "alts-hybrid:")
		}, opts: []replicaOpt{noStream}},
		{name: "redis", settings: func(t *testing.T) Settings {
			s := testSettings()
			s.Backend = BackendRedis
			s.Redis = redis.Config{Addr: redistest.Start(t).Addr, KeyPrefix: "alts-redis:"}
			return s
		}, opts: []replicaOpt{noStream}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := startReplica(t, ns, "alts-"+tc.name, append([]replicaOpt{withSettings(tc.settings(t))}, tc.opts...)...)
			v := vec(5)
			pa, pb, pc := partition("alpha"), partition("beta"), partition("gamma")
			pb.Model = "m-large"
			store(t, a.http, storeReq(pa, "q", "ctx", v, "A"))
			store(t, a.http, storeReq(pb, "other", "ctx", near(4, v, 0.97), "B"))

			req := &cachev1.LookupRequest{ExactFingerprint: fp("q"), ContextFingerprint: fp("ctx"),
				QueryEmbedding: &commonv1.Vector{Values: v}, Mode: cachev1.LookupMode_LOOKUP_MODE_EXACT_THEN_SEMANTIC,
				SimilarityThreshold: 0.9, Alternatives: []*cachev1.Partition{pa, pb, pc}}
			before := stats(t, a.http)
			res := lookup(t, a.http, req)
			after := stats(t, a.http)
			if !res.GetHit() || res.GetResponse() != nil || len(res.GetCandidates()) != 3 {
				t.Fatalf("response %+v, want hit with 3 candidates and no top-level response", res)
			}
			wantHits, wantExact, wantMisses := int64(1), int64(1), int64(0)
			if d := after.GetHits() - before.GetHits(); d != wantHits {
				t.Errorf("hits +%d, want +%d", d, wantHits)
			}
			if d := after.GetExactHits() - before.GetExactHits(); d != wantExact {
				t.Errorf("exact hits +%d, want +%d", d, wantExact)
			}
			if d := after.GetMisses() - before.GetMisses(); d != wantMisses {
				t.Errorf("misses +%d, want +%d", d, wantMisses)
			}
			for i, p := range []*cachev1.Partition{pa, pb, pc} {
				c := res.GetCandidates()[i]
				single := proto.CloneOf(req)
				single.Alternatives, single.Partition = nil, p
				want := lookup(t, a.http, single)
				if c.GetIndex() != int32(i) || c.GetHit() != want.GetHit() || c.GetTier() != want.GetTier() ||
					c.GetSimilarity() != want.GetSimilarity() || c.GetEntryId() != want.GetEntryId() ||
					string(c.GetResponse().GetBody()) != string(want.GetResponse().GetBody()) {
					t.Errorf("candidate %d = %+v, single lookup of its partition = %+v", i, c, want)
				}
				if len(want.GetCandidates()) != 0 {
					t.Errorf("single-partition lookup answered %d candidates", len(want.GetCandidates()))
				}
			}
			if c := res.GetCandidates(); !c[0].GetHit() || c[0].GetTier() != cachev1.CacheTier_CACHE_TIER_EXACT ||
				string(c[0].GetResponse().GetBody()) != "A" || !c[1].GetHit() || c[1].GetTier() != cachev1.CacheTier_CACHE_TIER_SEMANTIC ||
				string(c[1].GetResponse().GetBody()) != "B" || c[2].GetHit() {
				t.Fatalf("candidates %+v, want exact A, semantic B, miss", c)
			}

			miss := proto.CloneOf(req)
			miss.ExactFingerprint, miss.ContextFingerprint, miss.QueryEmbedding = fp("nope"), fp("elsewhere"), nil
			before = stats(t, a.http)
			res = lookup(t, a.http, miss)
			after = stats(t, a.http)
			if res.GetHit() || len(res.GetCandidates()) != 3 {
				t.Fatalf("response %+v, want a miss with 3 candidates", res)
			}
			wantMisses = 1
			if d := after.GetMisses() - before.GetMisses(); d != wantMisses || after.GetHits() != before.GetHits() {
				t.Errorf("misses +%d hits +%d, want +%d and +0", d, after.GetHits()-before.GetHits(), wantMisses)
			}
		})
	}
}

func TestLookupAlternativesInvalid(t *testing.T) {
	ns := natstest.RunServer(t)
	a := startReplica(t, ns, "a")
	many := func(n int) []*cachev1.Partition {
		out := make([]*cachev1.Partition, n)
		for i := range out {
			out[i] = partition(name(i))
		}
		return out
	}
	noUser := partition("u")
	noUser.Scope = cachev1.CacheScope_CACHE_SCOPE_USER
	cases := []struct {
		name    string
		alts    []*cachev1.Partition
		wantErr string // "" : accepted
	}{
		{"at the limit", many(MaxAlternatives), ""},
		{"above the limit", many(MaxAlternatives + 1), "65 alternatives, at most 64"},
		{"invalid partition", []*cachev1.Partition{basePartition, noUser}, "alternatives[1]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := exactLookup(nil, "q")
			req.Alternatives = tc.alts
			res, err := a.http.Lookup(t.Context(), connect.NewRequest(req))
			if tc.wantErr == "" {
				if err != nil || len(res.Msg.GetCandidates()) != len(tc.alts) {
					t.Fatalf("Lookup: %v, want %d candidates", err, len(tc.alts))
				}
				return
			}
			if code(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Lookup: %v, want InvalidArgument naming %q", err, tc.wantErr)
			}
		})
	}
}
