package server

import (
	"testing"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/pkg/natstest"
)

// TestLookupTextGuard: a lookup that sends its query text gets the lexical
// guard (same numbers, same negations) on semantic candidates, through the
// service, for single and multi-partition lookups alike.
func TestLookupTextGuard(t *testing.T) {
	ns := natstest.RunServer(t)
	a := startReplica(t, ns, "a")
	v := vec(7)
	store(t, a.http, storeReq(basePartition, "Which phones launched in 2015?", "ctx", v, "phones-2015"))

	withText := func(text string) *cachev1.LookupRequest {
		r := semLookup(basePartition, "ctx", v, 0.9)
		r.QueryText = text
		return r
	}
	mustHit(t, a.http, withText(""), "phones-2015")
	mustHit(t, a.http, withText("What phones were launched in 2015?"), "phones-2015")
	mustMiss(t, a.http, withText("What phones were launched in 2016?"))

	alt := withText("What phones were launched in 2016?")
	alt.Alternatives = []*cachev1.Partition{basePartition, partition("other")}
	res := lookup(t, a.http, alt)
	if res.GetHit() || len(res.GetCandidates()) != 2 || res.GetCandidates()[0].GetHit() {
		t.Fatalf("alternatives lookup with another year: %v", res)
	}
	alt.QueryText = "Which phones launched in 2015?"
	if res := lookup(t, a.http, alt); !res.GetCandidates()[0].GetHit() {
		t.Fatalf("alternatives lookup with the same year missed: %v", res)
	}
}
