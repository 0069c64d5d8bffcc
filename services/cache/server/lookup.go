package server

import (
	"context"
	"log/slog"
	"time"

	"connectrpc.com/connect"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/services/cache"
)

// MaxAlternatives bounds LookupRequest.alternatives.
const MaxAlternatives = 64

// lookupAlternatives answers a lookup with alternatives: the same query in
// every listed partition, one backend peek each (no side effects), so that
// every backend supports it as it is. The request is then counted once:
// by the caller's Served report when it asked for one (report_served),
// else here, as a hit on the first candidate that hit or a miss.
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
	first := -1 // the first candidate that hit
	var use cache.Use
	q.Peek = true
	for i, part := range parts {
		q.Partition = part
		hit, ok, err := st.backend.Lookup(ctx, q)
		if err != nil {
			s.o.Metrics.op("lookup", err, time.Since(start))
			return nil, backendErr("cache lookup", err)
		}
		c := &cachev1.LookupCandidate{Index: int32(i)}
		if ok {
			if first < 0 {
				first = i
				use = cache.Use{Hit: true, Partition: hit.Entry.Partition, Exact: hit.Entry.Exact, Tier: hit.Tier}
			}
			c.Hit, c.Similarity, c.Tier = true, float64(hit.Similarity), tierOf(hit.Tier)
			c.Response, c.EntryId = toCached(hit.Entry), entryID(hit.Entry.Partition, hit.Entry.Exact)
		}
		res.Candidates[i] = c
	}
	res.Hit = first >= 0
	if msg.GetReportServed() {
		s.o.Metrics.op("lookup", nil, time.Since(start))
		return connect.NewResponse(res), nil
	}
	// A caller that reports nothing: count one lookup, as the first hit
	// (the decision that will use the answer is not known here) or, on a
	// miss, as the first alternative's.
	if _, err := st.backend.Record(ctx, use); err != nil {
		// The answer stands; only its count is lost.
		s.log.LogAttrs(ctx, slog.LevelWarn, "count cache lookup", slog.String("error", err.Error()))
	}
	s.o.Metrics.op("lookup", nil, time.Since(start))
	label := alts[0].GetDecision()
	if first >= 0 {
		label = alts[first].GetDecision()
	}
	s.o.Metrics.lookup(label, res.Hit)
	return connect.NewResponse(res), nil
}

// Served counts a lookup made with report_served as its caller reports
// it: one hit, whose entry's use is recorded by the eviction policy (an
// entry gone since is only counted), or one miss.
func (s *Service) Served(ctx context.Context, req *connect.Request[cachev1.ServedRequest]) (*connect.Response[cachev1.ServedResponse], error) {
	start := time.Now()
	msg := req.Msg
	if msg.GetPartition() == nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, invalidf("cache served: partition is required"))
	}
	part, err := toPartition(msg.GetPartition())
	if err != nil {
		return nil, backendErr("cache served", err)
	}
	use := cache.Use{Hit: msg.GetHit(), Partition: part}
	if use.Hit {
		if use.Exact, err = parseEntryID(part, msg.GetEntryId()); err != nil {
			return nil, backendErr("cache served", err)
		}
		switch msg.GetTier() {
		case cachev1.CacheTier_CACHE_TIER_EXACT:
			use.Tier = cache.TierExact
		case cachev1.CacheTier_CACHE_TIER_SEMANTIC:
			use.Tier = cache.TierSemantic
		default:
			return nil, backendErr("cache served", invalidf("tier %s: want exact or semantic for a hit", msg.GetTier()))
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.st.settings.Enabled {
		return connect.NewResponse(&cachev1.ServedResponse{}), nil
	}
	found, err := s.st.backend.Record(ctx, use)
	s.o.Metrics.op("served", err, time.Since(start))
	if err != nil {
		return nil, backendErr("cache served", err)
	}
	s.o.Metrics.lookup(msg.GetPartition().GetDecision(), use.Hit)
	return connect.NewResponse(&cachev1.ServedResponse{Recorded: found}), nil
}
