package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/pkg/subjects"
)

// Write is one write read from the stream.
type Write struct {
	Request *cachev1.StoreRequest
	// Sequence is the write's stream sequence.
	Sequence uint64
	// Published is when JetStream stored the write.
	Published time.Time
}

// Applier applies one write to a replica's backend. An error is logged and
// the write skipped: one bad write must not stop replication; ErrRetry
// asks a shared replica to have the write delivered again (a private
// replica replays the stream after a rebuild anyway).
type Applier func(ctx context.Context, w Write) error

// ErrRetry is returned by an Applier that cannot apply a write yet.
var ErrRetry = errors.New("apply the cache write again later")

// retryDelay is how long a shared consumer waits before redelivering a
// write its Applier asked to retry.
const retryDelay = 200 * time.Millisecond

// Replica feeds an Applier from the writes stream. A private replica
// (NewReplica) reads the whole stream with an ordered, ephemeral consumer
// that starts at the first write still in the stream: every replica
// applies every write, for backends local to the replica. A shared
// replica (NewSharedReplica) reads from a durable consumer several
// replicas pull from as a work queue: each write is applied by one of
// them, for backends whose store the replicas share.
type Replica struct {
	js      natsjs.JetStream
	apply   Applier
	logger  *slog.Logger
	durable string
	cons    natsjs.Consumer // the durable consumer, once created

	mu      sync.Mutex
	applied uint64        // highest sequence handled
	advance chan struct{} // closed and replaced when applied grows
	failed  uint64        // writes the applier rejected
	decode  uint64        // writes that did not decode
}

// NewReplica returns a replica; call Run to consume.
func NewReplica(js natsjs.JetStream, apply Applier, logger *slog.Logger) *Replica {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Replica{js: js, apply: apply, logger: logger, advance: make(chan struct{})}
}

// NewSharedReplica returns a replica reading from the durable consumer
// durable (created if needed; replicas of one shared store use the same
// name).
func NewSharedReplica(js natsjs.JetStream, durable string, apply Applier, logger *slog.Logger) *Replica {
	r := NewReplica(js, apply, logger)
	r.durable = durable
	return r
}

// sharedInactive is how long a shared consumer nobody reads survives.
const sharedInactive = 24 * time.Hour

func (r *Replica) consumer(ctx context.Context) (natsjs.Consumer, error) {
	if r.durable == "" {
		return r.js.OrderedConsumer(ctx, subjects.CacheWritesStream(), natsjs.OrderedConsumerConfig{
			FilterSubjects: []string{subjects.CacheWritesAll()},
			DeliverPolicy:  natsjs.DeliverAllPolicy,
		})
	}
	cons, err := r.js.CreateOrUpdateConsumer(ctx, subjects.CacheWritesStream(), natsjs.ConsumerConfig{
		Durable:           r.durable,
		Description:       "semrouter cache replicas sharing one store apply each write once",
		DeliverPolicy:     natsjs.DeliverAllPolicy,
		AckPolicy:         natsjs.AckExplicitPolicy,
		AckWait:           30 * time.Second,
		MaxDeliver:        20,
		FilterSubject:     subjects.CacheWritesAll(),
		InactiveThreshold: sharedInactive,
	})
	if err == nil {
		r.mu.Lock()
		r.cons = cons
		r.mu.Unlock()
	}
	return cons, err
}

// Run consumes the stream until ctx ends (then it returns nil) or the
// consumer cannot be created or fails for good.
func (r *Replica) Run(ctx context.Context) error {
	cons, err := r.consumer(ctx)
	if err != nil {
		return fmt.Errorf("create consumer on %s: %w", subjects.CacheWritesStream(), err)
	}
	// Sequences at or below the stream's last one when we start are
	// caught up once the consumer has nothing pending: purged writes never
	// arrive, and waiting for them must not hang.
	var startLast uint64
	if s, err := r.js.Stream(ctx, subjects.CacheWritesStream()); err == nil {
		if info, err := s.Info(ctx); err == nil {
			startLast = info.State.LastSeq
			if info.State.Msgs == 0 {
				r.done(startLast, false, false)
			}
		}
	}
	fatal := make(chan error, 1)
	cc, err := cons.Consume(func(m natsjs.Msg) { r.handle(ctx, m, startLast) },
		natsjs.ConsumeErrHandler(func(_ natsjs.ConsumeContext, err error) {
			if errors.Is(err, natsjs.ErrStreamNotFound) || errors.Is(err, natsjs.ErrConsumerDeleted) {
				select {
				case fatal <- err:
				default:
				}
				return
			}
			r.logger.Debug("cache writes consumer", slog.String("error", err.Error()))
		}))
	if err != nil {
		return fmt.Errorf("consume %s: %w", subjects.CacheWritesStream(), err)
	}
	defer cc.Stop()
	select {
	case <-ctx.Done():
		return nil
	case err := <-fatal:
		return fmt.Errorf("consume %s: %w", subjects.CacheWritesStream(), err)
	}
}

func (r *Replica) handle(ctx context.Context, m natsjs.Msg, startLast uint64) {
	meta, err := m.Metadata()
	if err != nil {
		r.logger.Warn("cache write without metadata", slog.String("error", err.Error()))
		return
	}
	seq := meta.Sequence.Stream
	if meta.NumPending == 0 && startLast > seq {
		defer r.done(startLast, false, false)
	}
	req := &cachev1.StoreRequest{}
	if err := proto.Unmarshal(m.Data(), req); err != nil {
		r.logger.Warn("decode cache write", slog.Uint64("seq", meta.Sequence.Stream), slog.String("error", err.Error()))
		r.ack(m)
		r.done(meta.Sequence.Stream, false, true)
		return
	}
	err = r.apply(ctx, Write{Request: req, Sequence: meta.Sequence.Stream, Published: meta.Timestamp})
	if errors.Is(err, ErrRetry) {
		if r.durable != "" {
			if err := m.NakWithDelay(retryDelay); err != nil {
				r.logger.Debug("nak cache write", slog.String("error", err.Error()))
			}
			return
		}
		r.done(meta.Sequence.Stream, false, false)
		return
	}
	if err != nil {
		r.logger.Warn("apply cache write", slog.Uint64("seq", meta.Sequence.Stream),
			slog.String("decision", req.GetPartition().GetDecision()), slog.String("error", err.Error()))
	}
	r.ack(m)
	r.done(meta.Sequence.Stream, err != nil, false)
}

// ack acknowledges a shared consumer's message (even a failed one: a write
// that cannot be applied would fail again).
func (r *Replica) ack(m natsjs.Msg) {
	if r.durable == "" {
		return
	}
	if err := m.DoubleAck(context.Background()); err != nil {
		r.logger.Debug("ack cache write", slog.String("error", err.Error()))
	}
}

func (r *Replica) done(seq uint64, failed, undecodable bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if failed {
		r.failed++
	}
	if undecodable {
		r.decode++
	}
	if seq > r.applied {
		r.applied = seq
		close(r.advance)
		r.advance = make(chan struct{})
	}
}

// Applied is the highest stream sequence this replica has handled.
func (r *Replica) Applied() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied
}

// Failed counts writes that were rejected or did not decode.
func (r *Replica) Failed() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed + r.decode
}

// sharedPoll is how often WaitApplied reads a shared consumer's ack floor.
const sharedPoll = 10 * time.Millisecond

// WaitApplied blocks until sequence seq has been handled (by this replica,
// or for a shared replica by any replica of the shared consumer: its ack
// floor is read every sharedPoll) or ctx ends.
func (r *Replica) WaitApplied(ctx context.Context, seq uint64) error {
	if r.durable != "" {
		return r.waitShared(ctx, seq)
	}
	for {
		r.mu.Lock()
		applied, ch := r.applied, r.advance
		r.mu.Unlock()
		if applied >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for cache write %d (applied %d): %w", seq, applied, ctx.Err())
		}
	}
}

func (r *Replica) waitShared(ctx context.Context, seq uint64) error {
	t := time.NewTicker(sharedPoll)
	defer t.Stop()
	for {
		r.mu.Lock()
		cons := r.cons
		r.mu.Unlock()
		if cons != nil {
			info, err := cons.Info(ctx)
			if err == nil && info.AckFloor.Stream >= seq {
				return nil
			}
			if err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
				// Nothing left to deliver. That settles seq only when the
				// stream no longer holds it (purged): a write waiting for
				// its redelivery after a NAK with delay is counted neither
				// as pending nor as ack-pending, and it is still stored.
				if gone, gerr := Removed(ctx, r.js, seq); gerr == nil && gone {
					return nil
				}
			}
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("wait for cache write %d on the shared consumer: %w", seq, ctx.Err())
		}
	}
}
