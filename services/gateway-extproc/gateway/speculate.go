package gateway

import (
	"context"
	"errors"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// MaxSpeculativePartitions bounds the partitions of one speculative
// lookup (the cache service accepts 64 alternatives); a config whose
// cache-enabled decisions add up to more looks up sequentially.
const MaxSpeculativePartitions = 64

// AttrCacheSpeculative marks the cache lookup span of a speculative
// lookup; AttrCacheAlternatives is how many partitions it asked for, and
// AttrCacheSpeculativeUsed whether its answer served the request.
const (
	AttrCacheSpeculative     = "cache.speculative"
	AttrCacheAlternatives    = "cache.alternatives"
	AttrCacheSpeculativeUsed = "cache.speculative.used"
)

// speculation is the cache lookup started with the classifier, before the
// decision is known: one query for every partition the request may end up
// in (the cache-enabled decisions of its recipe × the models each can
// select).
type speculation struct {
	// q carries what the partitions share (keys, embedding, mode, the
	// lowest similarity threshold, max age); q.Partition is unused.
	q     *CacheQuery
	parts []CachePartition
	ctx   context.Context
	// cancel releases the lookup's deadline.
	cancel context.CancelFunc
	ch     chan speculativeResult
	span   trace.Span
	res    *speculativeResult
	// used: the answer of part served the request (see reportServed).
	used bool
	part CachePartition
	// report: the lookup asked to be counted by a served report.
	report bool
}

type speculativeResult struct {
	hits [][]CachedResponse
	err  error
}

// normMode spells the default cache mode out.
func normMode(m string) string {
	if m == "" {
		return routes.CacheModeSemantic
	}
	return m
}

// speculate starts the speculative lookup when the cache can answer
// several partitions at once and the request's recipe has cache-enabled
// decisions the client did not opt out of. Decisions whose mode or max
// age differ from the first such decision with a partition are left out (looked up
// sequentially when selected); so is everything when the partitions
// exceed MaxSpeculativePartitions. It returns nil when nothing was
// started.
func (x *Exchange) speculate(ctx context.Context) *speculation {
	pc, ok := x.g.stages.Cache.(PartitionsCache)
	if !ok || x.req.LastUser < 0 {
		return nil
	}
	keys, ok := x.fingerprints()
	if !ok {
		return nil
	}
	recipe := x.recipe
	if recipe == "default" {
		recipe = ""
	}
	var q *CacheQuery
	var parts []CachePartition
	for i := range x.t.Decisions {
		d := &x.t.Decisions[i]
		rc := d.Plugins.ResponseCache
		if d.Recipe != recipe || rc == nil || !rc.Enabled || x.cacheDirective(rc, "no-cache") {
			continue
		}
		dq := x.cacheQuery(rc, "", CachePartition{}, keys)
		if q != nil && (normMode(dq.Mode) != normMode(q.Mode) || dq.MaxAge != q.MaxAge) {
			continue
		}
		covered := false // some partition of d is looked up (maybe shared)
		for _, m := range x.selectableModels(d) {
			p, ok := x.partitionFor(rc, d.Name, m)
			if !ok {
				continue
			}
			covered = true
			if !slices.Contains(parts, p) {
				parts = append(parts, p)
			}
		}
		switch {
		case !covered:
		case q == nil:
			q = dq
		default:
			q.SimilarityThreshold = min(q.SimilarityThreshold, dq.SimilarityThreshold)
		}
	}
	if len(parts) == 0 || len(parts) > MaxSpeculativePartitions {
		return nil
	}
	if _, ok := pc.(ServedReporter); ok {
		q.ReportServed = x.g.served.wanted(x.g.now)
	}
	s := &speculation{q: q, parts: parts, ch: make(chan speculativeResult, 1), report: q.ReportServed}
	ctx, s.span = x.g.tracer.Start(ctx, SpanCacheLookup, trace.WithAttributes(
		attribute.Bool(AttrCacheSpeculative, true), attribute.Int(AttrCacheAlternatives, len(parts))))
	s.ctx, s.cancel = context.WithTimeout(ctx, x.t.StageTimeout)
	go func() {
		hits, err := pc.LookupPartitions(s.ctx, q, parts)
		s.ch <- speculativeResult{hits, err}
	}()
	return s
}

// selectableModels names the models a request routed to d may be served
// by (the partition's model): any of its modelRefs the selection picks,
// or, without modelRefs, the default model.
func (x *Exchange) selectableModels(d *routes.Decision) []string {
	out := make([]string, 0, max(len(d.ModelRefs), 1))
	for _, ref := range d.ModelRefs {
		if m, ok := x.t.Model(ref.Model); ok {
			out = append(out, m.Name)
		}
	}
	if len(out) == 0 {
		if m, ok := x.t.Model(x.t.DefaultModel); ok {
			out = append(out, m.Name)
		} else if len(x.t.Models) > 0 {
			out = append(out, x.t.Models[0].Name)
		}
	}
	return out
}

// speculated answers q from the speculative lookup when it covered q's
// partition with q's mode, max age and a threshold no higher than q's
// (candidates below q's threshold are dropped by cacheHit): the
// candidate of q's partition, hit or miss, with no further round trip.
// A timeout or an unavailable cache degrades the lookup (handled, no
// hits); any other failure (the cache cannot answer alternatives) and
// an unanticipated partition are not handled: the caller looks up now.
func (x *Exchange) speculated(s *speculation, q *CacheQuery) ([]CachedResponse, bool) {
	if s == nil {
		return nil, false
	}
	i := slices.Index(s.parts, q.Partition)
	if i < 0 || normMode(q.Mode) != normMode(s.q.Mode) || q.MaxAge != s.q.MaxAge ||
		q.SimilarityThreshold < s.q.SimilarityThreshold || (s.q.SimilarityThreshold == 0 && q.SimilarityThreshold != 0) {
		s.finish(nil)
		return nil, false
	}
	res := s.wait()
	switch {
	case res.err != nil && (errors.Is(res.err, ErrStageTimeout) || errors.Is(res.err, ErrStageUnavailable) ||
		errors.Is(res.err, context.DeadlineExceeded)):
		x.cacheSpan = s.adopt(q.Decision)
		x.cacheErr = res.err
		x.degrade(StageCache, res.err)
		return nil, true
	case res.err != nil || len(res.hits) != len(s.parts):
		s.finish(res.err)
		return nil, false
	}
	x.cacheSpan = s.adopt(q.Decision)
	s.used, s.part = true, q.Partition
	hits := res.hits[i]
	for j := range hits {
		hits[j].Decision = q.Decision
	}
	return hits, true
}

// wait returns the speculative lookup's outcome, waiting at most until its
// deadline (a lookup that ignores it is abandoned).
func (s *speculation) wait() speculativeResult {
	if s.res == nil {
		var r speculativeResult
		select {
		case r = <-s.ch:
		case <-s.ctx.Done():
			r.err = s.ctx.Err()
		}
		s.res = &r
	}
	return *s.res
}

// adopt hands the span over to the selected decision's lookup (ended by
// endCacheSpan, which records the outcome).
func (s *speculation) adopt(decision string) trace.Span {
	sp := s.span
	s.span = nil
	sp.SetAttributes(attribute.String(AttrDecisionName, decision), attribute.Bool(AttrCacheSpeculativeUsed, true))
	return sp
}

// finish ends a speculation whose answer serves nothing: the request was
// blocked, its decision does not cache, or its partition was not
// anticipated. It is safe to call more than once and on nil.
func (s *speculation) finish(err error) {
	if s == nil {
		return
	}
	s.cancel()
	if s.span == nil {
		return
	}
	s.span.SetAttributes(attribute.Bool(AttrCacheSpeculativeUsed, false))
	if err != nil {
		s.span.RecordError(err)
	}
	s.span.End()
	s.span = nil
}
