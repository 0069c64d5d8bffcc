package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/jetstream"
)

// FlushPhrase is the confirmation a FlushRequest must carry.
const FlushPhrase = "flush the semrouter cache"

// maxSkipRules bounds the invalidations remembered for stream replays.
const maxSkipRules = 256

// ServiceOptions configure a Service.
type ServiceOptions struct {
	// NATS carries the writes stream and the control broadcasts; nil
	// serves from the local backend only.
	NATS *nats.Conn
	// Instance names this replica in logs.
	Instance string
	// Clock defaults to the wall clock.
	Clock  cache.Clock
	Logger *slog.Logger
	// Metrics, when set, records lookups, writes and backend stats.
	Metrics *Metrics
	// Build builds backends (default Build).
	Build BuildFunc
	// Settings are the initial settings (default DefaultSettings()).
	Settings *Settings
	// Stream tunes the writes stream (MaxAge is always the store TTL).
	Stream jetstream.StreamConfig
	// NoStream disables the writes stream even when JetStream is there.
	NoStream bool
	// OnControl is called after an invalidation or flush broadcast by
	// another replica has been applied here (tests, metrics).
	OnControl func(kind string)
	// StoreWait bounds how long Store waits for this replica to apply the
	// write it published (default 5s); the write is in the stream either
	// way.
	StoreWait time.Duration
}

// Service is one cache replica: a backend fed from the writes stream,
// answering the CacheService API.
type Service struct {
	o      ServiceOptions
	log    *slog.Logger
	clock  cache.Clock
	js     natsjs.JetStream // nil: no writes stream
	origin string
	ctx    context.Context
	cancel context.CancelFunc
	ctlSub *nats.Subscription
	bg     sync.WaitGroup

	installMu sync.Mutex // serialises install
	mu        sync.RWMutex
	st        *state
	dim       int           // learnt embedding dimension (0: none yet)
	rebuilt   chan struct{} // non-nil while a rebuild for a learnt dimension runs

	skipMu sync.Mutex
	skips  []skipRule
}

type state struct {
	settings Settings
	dim      int
	backend  cache.Backend
	replica  *jetstream.Replica
	stop     context.CancelFunc
	done     chan struct{}
}

type skipRule struct {
	flush  bool
	filter cache.InvalidateFilter
	upTo   uint64
}

// NewService starts a replica: it creates the writes stream when JetStream
// is available (idempotently), starts consuming it from the beginning and
// subscribes to the control broadcasts. Close stops it.
func NewService(ctx context.Context, o ServiceOptions) (*Service, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = cache.SystemClock{}
	}
	if o.Build == nil {
		o.Build = Build
	}
	if o.StoreWait <= 0 {
		o.StoreWait = 5 * time.Second
	}
	settings := DefaultSettings()
	if o.Settings != nil {
		settings = *o.Settings
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Service{o: o, log: o.Logger, clock: o.Clock, origin: o.Instance + "/" + nuid.Next(), ctx: sctx, cancel: cancel}
	if o.NATS != nil && !o.NoStream {
		js, err := natsjs.New(o.NATS)
		if err == nil {
			_, err = jetstream.EnsureStream(ctx, js, s.streamConfig(settings))
		}
		if err != nil {
			s.log.Warn("cache writes stream unavailable: writes are stored by the replica that receives them",
				slog.String("error", err.Error()))
		} else {
			s.js = js
		}
	}
	if err := s.install(ctx, settings); err != nil {
		cancel()
		return nil, err
	}
	o.Metrics.attach(s)
	if o.NATS != nil {
		sub, err := jetstream.SubscribeControl(o.NATS, s.onControl, func(err error) {
			s.log.Warn("cache control message", slog.String("error", err.Error()))
		})
		if err != nil {
			s.Close()
			return nil, err
		}
		s.ctlSub = sub
	}
	return s, nil
}

func (s *Service) streamConfig(st Settings) jetstream.StreamConfig {
	c := s.o.Stream
	c.MaxAge = st.Options.DefaultTTL
	return c
}

// Replicated reports whether writes go through the writes stream.
func (s *Service) Replicated() bool { return s.js != nil }

// Settings returns the settings being served.
func (s *Service) Settings() Settings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.st.settings
}

// Apply switches to new settings (Prepare, then Swap).
func (s *Service) Apply(ctx context.Context, settings Settings) error {
	p, err := s.Prepare(ctx, settings)
	if err != nil {
		return err
	}
	s.Swap(p)
	return nil
}

// Prepared is a backend built for new settings, ready to be swapped in;
// nil backend means the settings equal the ones serving.
type Prepared struct {
	settings Settings
	dim      int
	backend  cache.Backend
}

// Prepare builds the backend of settings unless they equal the ones
// serving. On error nothing changes.
func (s *Service) Prepare(ctx context.Context, settings Settings) (*Prepared, error) {
	s.mu.RLock()
	var cur Settings
	if s.st != nil {
		cur = s.st.settings
	}
	same, dim := s.st != nil && cur.Equal(settings), s.dim
	s.mu.RUnlock()
	p := &Prepared{settings: settings}
	if same {
		return p, nil
	}
	if settings.Options.Dim > 0 {
		dim = settings.Options.Dim
	}
	b, err := s.o.Build(ctx, settings, dim, s.clock, s.log)
	if err != nil {
		return nil, fmt.Errorf("build %s cache backend: %w", settings.Backend, err)
	}
	p.dim, p.backend = dim, b
	return p, nil
}

// Swap puts a prepared backend in service. With the writes stream the new
// backend is refilled from the stream (lookups may miss while it catches
// up); without it a memory backend starts empty, while redis, milvus and
// hybrid backends find their entries in their store. The old backend is
// closed once no request uses it.
func (s *Service) Swap(p *Prepared) {
	if p == nil || p.backend == nil {
		return
	}
	s.installMu.Lock()
	defer s.installMu.Unlock()
	s.swapLocked(p)
}

func (s *Service) install(ctx context.Context, settings Settings) error {
	s.installMu.Lock()
	defer s.installMu.Unlock()
	s.mu.RLock()
	dim := s.dim
	s.mu.RUnlock()
	if settings.Options.Dim > 0 {
		dim = settings.Options.Dim
	}
	b, err := s.o.Build(ctx, settings, dim, s.clock, s.log)
	if err != nil {
		return fmt.Errorf("build %s cache backend: %w", settings.Backend, err)
	}
	s.swapLocked(&Prepared{settings: settings, dim: dim, backend: b})
	return nil
}

func (s *Service) swapLocked(p *Prepared) {
	s.mu.RLock()
	old := s.st
	s.mu.RUnlock()
	settings := p.settings
	st := &state{settings: settings, dim: p.dim, backend: p.backend}
	if s.js != nil {
		if old != nil && old.settings.Options.DefaultTTL != settings.Options.DefaultTTL {
			if _, err := jetstream.EnsureStream(s.ctx, s.js, s.streamConfig(settings)); err != nil {
				s.log.Warn("update cache writes stream", slog.String("error", err.Error()))
			}
		}
		if shared(settings) {
			st.replica = jetstream.NewSharedReplica(s.js, durableName(settings), s.applier(st), s.log)
		} else {
			st.replica = jetstream.NewReplica(s.js, s.applier(st), s.log)
		}
		rctx, stop := context.WithCancel(s.ctx)
		st.stop, st.done = stop, make(chan struct{})
		go s.runReplica(rctx, st)
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	s.o.Metrics.setBackend(s.backendName(settings))
	if old != nil {
		old.close()
	}
	s.log.Info("cache backend ready", slog.String("backend", settings.Backend), slog.Int("dim", p.dim),
		slog.Bool("replicated", s.js != nil))
}

func (st *state) close() {
	if st.stop != nil {
		st.stop()
		<-st.done
	}
	_ = st.backend.Close()
}

// runReplica consumes the stream into st until its context ends,
// recreating the consumer after failures.
func (s *Service) runReplica(ctx context.Context, st *state) {
	defer close(st.done)
	for {
		err := st.replica.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("cache writes consumer stopped; retrying", slog.Any("error", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		// The stream may have been deleted: recreate it (idempotent).
		if _, err := jetstream.EnsureStream(ctx, s.js, s.streamConfig(st.settings)); err != nil {
			s.log.Warn("recreate cache writes stream", slog.String("error", err.Error()))
		}
	}
}

// shared reports whether the replicas running st share one store: each
// write is then applied once, through a durable consumer named after the
// store, instead of by every replica.
func shared(st Settings) bool {
	switch st.Backend {
	case BackendRedis, BackendValkey, BackendHybrid, BackendMilvus:
		return true
	}
	return false
}

// durableName names the shared consumer of st's store.
func durableName(st Settings) string {
	id := st.Backend
	switch st.Backend {
	case BackendMilvus:
		id += "|" + st.Milvus.Addr + "|" + st.Milvus.Database + "|" + st.Milvus.Collection
	default:
		id += "|" + st.Redis.Addr + "|" + strconv.Itoa(st.Redis.DB) + "|" + st.Redis.KeyPrefix
	}
	sum := sha256.Sum256([]byte(id))
	return "cache_" + hex.EncodeToString(sum[:12])
}

func (s *Service) backendName(st Settings) string {
	if s.js != nil && (st.Backend == BackendMemory || st.Backend == "") {
		return BackendJetStream
	}
	return st.Backend
}

// applier applies stream writes to st's backend.
func (s *Service) applier(st *state) jetstream.Applier {
	return func(ctx context.Context, w jetstream.Write) error {
		if !st.settings.Enabled {
			return nil
		}
		e, err := toEntry(w.Request, w.Published)
		if errors.Is(err, errNotStorable) {
			return nil
		}
		if err != nil {
			s.o.Metrics.write("rejected")
			return err
		}
		if s.skipped(w.Sequence, e) {
			s.o.Metrics.write("invalidated")
			return nil
		}
		if e.Embedding != nil && st.dim == 0 {
			// First embedding: rebuild with its dimension; the new
			// backend replays the stream (private) or gets this write
			// redelivered (shared).
			s.learnDim(len(e.Embedding), true)
			return jetstream.ErrRetry
		}
		if !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(s.clock.Now()) {
			s.o.Metrics.write("expired")
			return nil
		}
		if err := st.backend.Put(ctx, e); err != nil {
			s.o.Metrics.write("failed")
			return err
		}
		s.o.Metrics.write("applied")
		return nil
	}
}

// learnDim records the embedding dimension and rebuilds the backend with
// it (in the background when async; WaitApplied waits for the rebuild).
func (s *Service) learnDim(n int, async bool) {
	s.mu.Lock()
	if s.dim != 0 {
		s.mu.Unlock()
		return
	}
	s.dim = n
	done := make(chan struct{})
	s.rebuilt = done
	s.mu.Unlock()
	s.log.Info("embedding dimension learnt from the first write; rebuilding the cache backend", slog.Int("dim", n))
	rebuild := func() {
		if err := s.install(s.ctx, s.Settings()); err != nil {
			s.log.Error("rebuild cache backend", slog.String("error", err.Error()))
		}
		s.mu.Lock()
		s.rebuilt = nil
		s.mu.Unlock()
		close(done)
	}
	if !async {
		rebuild()
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		rebuild()
	}()
}

func (s *Service) addSkip(r skipRule) {
	s.skipMu.Lock()
	defer s.skipMu.Unlock()
	if len(s.skips) >= maxSkipRules {
		s.skips = append(s.skips[:0], s.skips[1:]...)
	}
	s.skips = append(s.skips, r)
}

// skipped reports whether a replayed write at seq was removed by an
// invalidation or flush made after it was published.
func (s *Service) skipped(seq uint64, e *cache.Entry) bool {
	s.skipMu.Lock()
	defer s.skipMu.Unlock()
	now := s.clock.Now()
	for _, r := range s.skips {
		if seq <= r.upTo && (r.flush || r.filter.Matches(e, now)) {
			return true
		}
	}
	return false
}

// lastSeq is the stream's last sequence (0 without a stream).
func (s *Service) lastSeq(ctx context.Context) uint64 {
	if s.js == nil {
		return 0
	}
	seq, err := jetstream.LastSequence(ctx, s.js)
	if err != nil {
		s.log.Warn("read cache writes stream state", slog.String("error", err.Error()))
	}
	return seq
}

// onControl applies an invalidation or flush broadcast by another replica.
func (s *Service) onControl(c jetstream.Control) {
	if c.Origin == s.origin {
		return
	}
	ctx := s.ctx
	s.mu.RLock()
	b := s.st.backend
	var err error
	switch c.Kind {
	case jetstream.KindFlush:
		s.addSkip(skipRule{flush: true, upTo: c.UpTo})
		err = b.Flush(ctx)
	case jetstream.KindInvalidate:
		var f cache.InvalidateFilter
		if f, err = toFilter(c.Invalidate); err == nil {
			f.DryRun = false
			s.addSkip(skipRule{filter: f, upTo: c.UpTo})
			_, err = b.Invalidate(ctx, f)
		}
	}
	s.mu.RUnlock()
	if err != nil {
		s.log.Warn("apply cache control", slog.String("kind", c.Kind), slog.String("from", c.Origin), slog.String("error", err.Error()))
	}
	if s.o.OnControl != nil {
		s.o.OnControl(c.Kind)
	}
}

// WaitApplied blocks until this replica's current backend has applied
// the writes stream up to seq (at once without a stream), waiting out a
// rebuild in progress.
func (s *Service) WaitApplied(ctx context.Context, seq uint64) error {
	for {
		s.mu.RLock()
		st, rebuilt := s.st, s.rebuilt
		s.mu.RUnlock()
		if rebuilt != nil {
			select {
			case <-rebuilt:
				continue
			case <-ctx.Done():
				return fmt.Errorf("wait for the cache backend rebuild: %w", ctx.Err())
			}
		}
		if st.replica == nil {
			return nil
		}
		if err := st.replica.WaitApplied(ctx, seq); err != nil {
			return err
		}
		s.mu.RLock()
		same := s.st == st && s.rebuilt == nil
		s.mu.RUnlock()
		if same {
			return nil
		}
	}
}

// BackendStats are the current backend's counters and its name. A lookup
// with alternatives counts as one lookup (see lookupAlternatives).
func (s *Service) BackendStats(ctx context.Context) (cache.Stats, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, err := s.st.backend.Stats(ctx)
	return st, s.backendName(s.st.settings), err
}

// Close stops consuming and closes the backend.
func (s *Service) Close() {
	if s.ctlSub != nil {
		_ = s.ctlSub.Unsubscribe()
	}
	s.cancel()
	s.bg.Wait()
	s.installMu.Lock()
	defer s.installMu.Unlock()
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	if st != nil {
		st.close()
	}
}
