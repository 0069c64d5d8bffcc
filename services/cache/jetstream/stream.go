// Package jetstream replicates cache writes through the JetStream stream
// subjects.CacheWritesStream() ("CACHE_WRITES"), and carries cache
// invalidations and flushes to every replica on subjects.CacheControl().
//
// Every cache replica consumes the whole stream with its own ordered,
// ephemeral consumer (DeliverAll), so a replica started late, or rebuilt,
// catches up from the stream, and killing a replica loses nothing. The
// stream's MaxAge is the store TTL: JetStream drops writes no entry could
// still be alive for.
package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/pkg/subjects"
)

// StreamConfig sizes the writes stream.
type StreamConfig struct {
	// MaxAge drops writes older than this (0: kept until a limit below or
	// a purge).
	MaxAge time.Duration
	// MaxBytes bounds the stream's size (0: no bound; the oldest writes go
	// first).
	MaxBytes int64
	// Replicas is the JetStream replication factor (default 1).
	Replicas int
	// Memory stores the stream in memory instead of files.
	Memory bool
}

// Config returns the JetStream configuration of the writes stream.
func (c StreamConfig) Config() natsjs.StreamConfig {
	storage := natsjs.FileStorage
	if c.Memory {
		storage = natsjs.MemoryStorage
	}
	replicas := c.Replicas
	if replicas < 1 {
		replicas = 1
	}
	maxBytes := c.MaxBytes
	if maxBytes <= 0 {
		maxBytes = -1
	}
	return natsjs.StreamConfig{
		Name:        subjects.CacheWritesStream(),
		Description: "semrouter response cache writes (semrouter.cache.v1.StoreRequest), consumed by every cache replica",
		Subjects:    []string{subjects.CacheWritesAll()},
		Retention:   natsjs.LimitsPolicy,
		Discard:     natsjs.DiscardOld,
		MaxAge:      c.MaxAge,
		MaxBytes:    maxBytes,
		Storage:     storage,
		Replicas:    replicas,
	}
}

// EnsureStream creates the writes stream, or updates its limits when it
// exists; calling it from every replica at once is safe.
func EnsureStream(ctx context.Context, js natsjs.JetStream, c StreamConfig) (natsjs.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, c.Config())
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", subjects.CacheWritesStream(), err)
	}
	return s, nil
}

// Publish puts a write on the stream (subject subjects.CacheWrite of its
// decision) and returns its stream sequence.
func Publish(ctx context.Context, js natsjs.JetStream, req *cachev1.StoreRequest) (uint64, error) {
	data, err := proto.Marshal(req)
	if err != nil {
		return 0, fmt.Errorf("encode cache write: %w", err)
	}
	ack, err := js.Publish(ctx, subjects.CacheWrite(req.GetPartition().GetDecision()), data)
	if err != nil {
		return 0, fmt.Errorf("publish cache write: %w", err)
	}
	return ack.Sequence, nil
}

// IsNoStream reports whether err means that no stream captured a publish.
func IsNoStream(err error) bool {
	return errors.Is(err, natsjs.ErrNoStreamResponse) || errors.Is(err, natsjs.ErrStreamNotFound)
}

// LastSequence is the stream's last sequence (0 when empty).
func LastSequence(ctx context.Context, js natsjs.JetStream) (uint64, error) {
	_, st, err := streamState(ctx, js)
	return st.LastSeq, err
}

// streamState opens the writes stream and reads its state.
func streamState(ctx context.Context, js natsjs.JetStream) (natsjs.Stream, natsjs.StreamState, error) {
	s, err := js.Stream(ctx, subjects.CacheWritesStream())
	if err != nil {
		return nil, natsjs.StreamState{}, fmt.Errorf("open stream %s: %w", subjects.CacheWritesStream(), err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, natsjs.StreamState{}, fmt.Errorf("stream %s info: %w", subjects.CacheWritesStream(), err)
	}
	return s, info.State, nil
}

// Removed reports whether the write at seq was stored once but no longer
// is (purged, or dropped by the stream's limits).
func Removed(ctx context.Context, js natsjs.JetStream, seq uint64) (bool, error) {
	s, st, err := streamState(ctx, js)
	if err != nil {
		return false, err
	}
	if seq > st.LastSeq {
		return false, nil
	}
	if seq < st.FirstSeq {
		return true, nil
	}
	if _, err := s.GetMsg(ctx, seq); err != nil {
		if errors.Is(err, natsjs.ErrMsgNotFound) {
			return true, nil
		}
		return false, fmt.Errorf("read write %d: %w", seq, err)
	}
	return false, nil
}

// PurgeAll drops every write from the stream.
func PurgeAll(ctx context.Context, js natsjs.JetStream) error {
	s, err := js.Stream(ctx, subjects.CacheWritesStream())
	if err != nil {
		return fmt.Errorf("open stream %s: %w", subjects.CacheWritesStream(), err)
	}
	if err := s.Purge(ctx); err != nil {
		return fmt.Errorf("purge stream %s: %w", subjects.CacheWritesStream(), err)
	}
	return nil
}

// PurgeDecision drops the writes of one decision published up to and
// including sequence upTo, so that replicas replaying the stream later do
// not bring back entries an invalidation removed.
func PurgeDecision(ctx context.Context, js natsjs.JetStream, decision string, upTo uint64) error {
	s, err := js.Stream(ctx, subjects.CacheWritesStream())
	if err != nil {
		return fmt.Errorf("open stream %s: %w", subjects.CacheWritesStream(), err)
	}
	// WithPurgeSequence purges below the given sequence.
	err = s.Purge(ctx, natsjs.WithPurgeSubject(subjects.CacheWrite(decision)), natsjs.WithPurgeSequence(upTo+1))
	if err != nil {
		return fmt.Errorf("purge decision %q from stream %s: %w", decision, subjects.CacheWritesStream(), err)
	}
	return nil
}
