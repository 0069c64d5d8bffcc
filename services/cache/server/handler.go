package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/jetstream"
)

var _ cachev1connect.CacheServiceHandler = (*Service)(nil)

// Reasons a Store reports when it drops a response.
const (
	ReasonDisabled    = "cache disabled"
	ReasonNotStorable = "not storable"
	ReasonTooLarge    = "too large"
)

// backendErr maps a backend error to a Connect error.
func backendErr(op string, err error) error {
	switch {
	case errors.Is(err, errInvalid), errors.Is(err, cache.ErrDimension), errors.Is(err, cache.ErrInvalidEntry),
		errors.Is(err, cache.ErrEmptyFilter):
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%s: %w", op, err))
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, fmt.Errorf("%s: %w", op, err))
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, fmt.Errorf("%s: %w", op, err))
	}
	return connect.NewError(connect.CodeUnavailable, fmt.Errorf("%s: %w", op, err))
}

func tierOf(t cache.Tier) cachev1.CacheTier {
	if t == cache.TierSemantic {
		return cachev1.CacheTier_CACHE_TIER_SEMANTIC
	}
	return cachev1.CacheTier_CACHE_TIER_EXACT
}

// Lookup answers from this replica's backend. A lookup with alternatives
// answers every listed partition (see lookupAlternatives).
func (s *Service) Lookup(ctx context.Context, req *connect.Request[cachev1.LookupRequest]) (*connect.Response[cachev1.LookupResponse], error) {
	start := time.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.st
	if len(req.Msg.GetAlternatives()) > 0 {
		return s.lookupAlternatives(ctx, st, req.Msg, start)
	}
	decision := req.Msg.GetPartition().GetDecision()
	if !st.settings.Enabled {
		return connect.NewResponse(&cachev1.LookupResponse{}), nil
	}
	q, err := toQuery(req.Msg, st.dim, st.settings.Threshold)
	if err != nil {
		return nil, backendErr("cache lookup", err)
	}
	hit, ok, err := st.backend.Lookup(ctx, q)
	s.o.Metrics.op("lookup", err, time.Since(start))
	if err != nil {
		return nil, backendErr("cache lookup", err)
	}
	if !ok {
		s.o.Metrics.lookup(decision, false)
		return connect.NewResponse(&cachev1.LookupResponse{}), nil
	}
	s.o.Metrics.lookup(decision, true)
	return connect.NewResponse(&cachev1.LookupResponse{
		Hit:        true,
		Similarity: float64(hit.Similarity),
		Tier:       tierOf(hit.Tier),
		Response:   toCached(hit.Entry),
		EntryId:    entryID(hit.Entry.Partition, hit.Entry.Exact),
	}), nil
}

// Store validates a write and publishes it on the writes stream (every
// replica applies it; Store waits, bounded by StoreWait, until this
// replica has). Replicas sharing a store (redis, valkey, hybrid, milvus)
// and replicas without a stream store it synchronously instead.
func (s *Service) Store(ctx context.Context, req *connect.Request[cachev1.StoreRequest]) (*connect.Response[cachev1.StoreResponse], error) {
	start := time.Now()
	s.mu.RLock()
	st := s.st
	dim := st.dim
	s.mu.RUnlock()
	drop := func(reason string) (*connect.Response[cachev1.StoreResponse], error) {
		s.o.Metrics.write("dropped")
		return connect.NewResponse(&cachev1.StoreResponse{Reason: reason}), nil
	}
	if !st.settings.Enabled {
		return drop(ReasonDisabled)
	}
	now := s.clock.Now()
	e, err := toEntry(req.Msg, now)
	if errors.Is(err, errNotStorable) {
		return drop(fmt.Sprintf("%s: %v", ReasonNotStorable, err))
	}
	if err == nil {
		err = e.Validate()
	}
	if err == nil && e.Embedding != nil && dim > 0 && len(e.Embedding) != dim {
		err = fmt.Errorf("%w: query_embedding has %d dimensions, the cache holds %d", cache.ErrDimension, len(e.Embedding), dim)
	}
	if err != nil {
		return nil, backendErr("cache store", err)
	}
	id := entryID(e.Partition, e.Exact)
	if s.js != nil && !shared(st.settings) {
		msg := req.Msg
		if msg.GetResponse().GetStoredAt() == nil {
			// Every replica must agree on the creation time.
			msg = proto.CloneOf(msg)
			msg.Response.StoredAt = timestamppb.New(now)
		}
		seq, err := jetstream.Publish(ctx, s.js, msg)
		s.o.Metrics.op("publish", err, time.Since(start))
		if err == nil {
			wctx, cancel := context.WithTimeout(ctx, s.o.StoreWait)
			defer cancel()
			if err := s.WaitApplied(wctx, seq); err != nil {
				s.log.LogAttrs(ctx, slog.LevelDebug, "cache write published but not applied here yet", slog.String("error", err.Error()))
			}
			return connect.NewResponse(&cachev1.StoreResponse{EntryId: id, Stored: true}), nil
		}
		if !jetstream.IsNoStream(err) {
			return nil, backendErr("cache store", err)
		}
		s.log.Warn("cache writes stream gone; storing locally", slog.String("error", err.Error()))
	}
	if e.Embedding != nil && dim == 0 {
		s.learnDim(len(e.Embedding), false)
	}
	s.mu.RLock()
	err = s.st.backend.Put(ctx, e)
	s.mu.RUnlock()
	s.o.Metrics.op("store", err, time.Since(start))
	if errors.Is(err, cache.ErrTooLarge) || errors.Is(err, cache.ErrNotStorable) {
		return drop(fmt.Sprintf("%s: %v", ReasonTooLarge, err))
	}
	if err != nil {
		return nil, backendErr("cache store", err)
	}
	s.o.Metrics.write("applied")
	return connect.NewResponse(&cachev1.StoreResponse{EntryId: id, Stored: true}), nil
}

// Invalidate counts (dry run, the default) or removes matching entries.
// A removal is applied here, broadcast to every other replica, and, for a
// decision-wide filter without older_than, purged from the writes stream
// so replicas that replay it later do not bring the entries back. The
// count is this replica's.
func (s *Service) Invalidate(ctx context.Context, req *connect.Request[cachev1.InvalidateRequest]) (*connect.Response[cachev1.InvalidateResponse], error) {
	f, err := toFilter(req.Msg)
	if err != nil {
		return nil, backendErr("cache invalidate", err)
	}
	if f.IsEmpty() {
		return nil, connect.NewError(connect.CodeInvalidArgument,
			errors.New("cache invalidate: the filter matches every entry; set partition or older_than, or use Flush"))
	}
	if f.DryRun {
		s.mu.RLock()
		n, err := s.st.backend.Invalidate(ctx, f)
		s.mu.RUnlock()
		if err != nil {
			return nil, backendErr("cache invalidate", err)
		}
		return connect.NewResponse(&cachev1.InvalidateResponse{Count: int64(n), DryRun: true}), nil
	}
	upTo := s.lastSeq(ctx)
	if s.js != nil && f.Decision != "" && f.OlderThan == 0 {
		if err := jetstream.PurgeDecision(ctx, s.js, f.Decision, upTo); err != nil {
			return nil, backendErr("cache invalidate", err)
		}
	}
	s.addSkip(skipRule{filter: f, upTo: upTo})
	s.mu.RLock()
	n, err := s.st.backend.Invalidate(ctx, f)
	s.mu.RUnlock()
	if err != nil {
		return nil, backendErr("cache invalidate", err)
	}
	if s.o.NATS != nil {
		msg := proto.CloneOf(req.Msg)
		msg.DryRun = proto.Bool(false)
		if err := jetstream.PublishControl(s.o.NATS, jetstream.Control{Kind: jetstream.KindInvalidate, Invalidate: msg, Origin: s.origin, UpTo: upTo}); err != nil {
			return nil, backendErr("cache invalidate: broadcast", err)
		}
	}
	return connect.NewResponse(&cachev1.InvalidateResponse{Count: int64(n)}), nil
}

// Flush removes every entry from every replica and purges the writes
// stream; confirmation must be FlushPhrase. removed is this replica's
// entry count before the flush.
func (s *Service) Flush(ctx context.Context, req *connect.Request[cachev1.FlushRequest]) (*connect.Response[cachev1.FlushResponse], error) {
	if req.Msg.GetConfirmation() != FlushPhrase {
		return nil, connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("cache flush: confirmation must be exactly %q", FlushPhrase))
	}
	upTo := s.lastSeq(ctx)
	if s.js != nil {
		if err := jetstream.PurgeAll(ctx, s.js); err != nil {
			return nil, backendErr("cache flush", err)
		}
	}
	s.addSkip(skipRule{flush: true, upTo: upTo})
	s.mu.RLock()
	before, err := s.st.backend.Stats(ctx)
	if err == nil {
		err = s.st.backend.Flush(ctx)
	}
	s.mu.RUnlock()
	if err != nil {
		return nil, backendErr("cache flush", err)
	}
	if s.o.NATS != nil {
		if err := jetstream.PublishControl(s.o.NATS, jetstream.Control{Kind: jetstream.KindFlush, Origin: s.origin, UpTo: upTo}); err != nil {
			return nil, backendErr("cache flush: broadcast", err)
		}
	}
	s.log.Info("cache flushed", slog.Int64("removed", before.Entries))
	return connect.NewResponse(&cachev1.FlushResponse{Removed: before.Entries}), nil
}

// Stats reports this replica's counters.
func (s *Service) Stats(ctx context.Context, _ *connect.Request[cachev1.StatsRequest]) (*connect.Response[cachev1.StatsResponse], error) {
	st, name, err := s.BackendStats(ctx)
	if err != nil {
		return nil, backendErr("cache stats", err)
	}
	return connect.NewResponse(&cachev1.StatsResponse{
		Entries:      st.Entries,
		Hits:         st.Hits,
		Misses:       st.Misses,
		HitRatio:     st.HitRatio(),
		Evictions:    st.Evictions,
		MemoryBytes:  st.MemoryBytes,
		ExactHits:    st.ExactHits,
		SemanticHits: st.Hits - st.ExactHits,
		Backend:      name,
	}), nil
}
