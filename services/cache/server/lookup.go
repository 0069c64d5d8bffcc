package server

import (
	"context"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/services/cache"
)

// MaxAlternatives bounds LookupRequest.alternatives.
const MaxAlternatives = 64

// lookupCorrection counts, per installed backend, what the backend's own
// hit and miss counters over-count because of multi-partition lookups:
// a backend counts every partition it is asked about, the service counts
// one lookup per request (a hit when any candidate hit, else a miss).
type lookupCorrection struct {
	hits, exactHits, misses atomic.Int64
}

// lookupAlternatives answers a lookup with alternatives: the same query in
// every listed partition, one backend lookup each, so that every backend
// supports it as it is. It counts as one lookup in the stats and metrics.
func (s *Service) lookupAlternatives(ctx context.Context, st *state, msg *cachev1.LookupRequest, start time.Time) (*connect.Response[cachev1.LookupResponse], error) {
	alts := msg.GetAlternatives()
	if len(alts) > MaxAlternatives {
		return nil, connect.NewError(connect.CodeInvalidArgument,
			invalidf("cache lookup: %d alternatives, at most %d are allowed", len(alts), MaxAlternatives))
	}
	if !st.settings.Enabled {
		res := &cachev1.LookupResponse{Candidates: make([]*cachev1.LookupCandidate, len(alts))}
		for i := range alts {
			res.Candidates[i] = &cachev1.LookupCandidate{Index: int32(i)}
		}
		return connect.NewResponse(res), nil
	}
	q, err := toQuery(msg, st.dim, st.settings.Threshold)
	if err != nil {
		return nil, backendErr("cache lookup", err)
	}
	parts := make([]cache.Partition, len(alts))
	for i, p := range alts {
		if parts[i], err = toPartition(p); err != nil {
			return nil, backendErr("cache lookup", invalidf("alternatives[%d]: %v", i, err))
		}
	}
	res := &cachev1.LookupResponse{Candidates: make([]*cachev1.LookupCandidate, len(alts))}
	var hits, exactHits int64
	label := alts[0].GetDecision()
	for i, part := range parts {
		q.Partition = part
		hit, ok, err := st.backend.Lookup(ctx, q)
		if err != nil {
			s.o.Metrics.op("lookup", err, time.Since(start))
			return nil, backendErr("cache lookup", err)
		}
		c := &cachev1.LookupCandidate{Index: int32(i)}
		if ok {
			if hits == 0 {
				label = alts[i].GetDecision()
			}
			hits++
			if tierOf(hit.Tier) == cachev1.CacheTier_CACHE_TIER_EXACT {
				exactHits++
			}
			c.Hit, c.Similarity, c.Tier = true, float64(hit.Similarity), tierOf(hit.Tier)
			c.Response, c.EntryId = toCached(hit.Entry), entryID(hit.Entry.Partition, hit.Entry.Exact)
		}
		res.Candidates[i] = c
	}
	s.o.Metrics.op("lookup", nil, time.Since(start))
	n := int64(len(alts))
	res.Hit = hits > 0
	if res.Hit {
		st.correction.hits.Add(hits - 1)
		st.correction.exactHits.Add(exactHits - min(exactHits, 1))
		st.correction.misses.Add(n - hits)
	} else {
		st.correction.misses.Add(n - 1)
	}
	// The decision that will use the answer is not known yet: the metric
	// is labelled with the first hit's decision, or the first
	// alternative's on a miss.
	s.o.Metrics.lookup(label, res.Hit)
	return connect.NewResponse(res), nil
}
