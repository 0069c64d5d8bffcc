// Package configwatch keeps a service on the newest config revision that it
// can compile. It watches one JetStream KV key, compiles every revision it
// sees into the service's runtime form and swaps it in atomically. A revision
// that fails to compile is rejected and reported; the previous one keeps
// serving.
package configwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Compiler turns one published config document into a service's immutable
// runtime form. It must not keep doc.
type Compiler[T any] func(ctx context.Context, doc []byte, revision uint64) (T, error)

// Snapshot is one compiled revision.
type Snapshot[T any] struct {
	Revision  uint64
	Value     T
	AppliedAt time.Time
}

// Status describes what happened to one revision in one service.
type Status struct {
	Service  string    `json:"service"`
	Instance string    `json:"instance,omitempty"`
	Revision uint64    `json:"revision"`
	Accepted bool      `json:"accepted"`
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at"`
	// Serving is the revision the service is answering with after this
	// event (the new one when accepted, the previous one otherwise).
	Serving uint64 `json:"serving"`
}

// Reporter receives a Status for every revision the watcher handles.
type Reporter func(ctx context.Context, s Status)

// Option tunes a Watcher.
type Option func(*options)

type options struct {
	logger   *slog.Logger
	reporter Reporter
	service  string
	instance string
	now      func() time.Time
	onSwap   func(revision uint64)
}

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithReporter publishes a Status for every revision handled.
func WithReporter(r Reporter) Option { return func(o *options) { o.reporter = r } }

// WithIdentity names the service and instance in status reports. Log lines
// do not repeat the service: the logger given to WithLogger carries it
// (semrouter serve and config-hub add a service attribute; a standalone
// process's log is one service's).
func WithIdentity(service, instance string) Option {
	return func(o *options) { o.service, o.instance = service, instance }
}

// WithClock injects the clock used for timestamps.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithOnSwap is called after a new revision has been swapped in.
func WithOnSwap(f func(revision uint64)) Option { return func(o *options) { o.onSwap = f } }

// Watcher follows one KV key.
type Watcher[T any] struct {
	kv      jetstream.KeyValue
	key     string
	compile Compiler[T]
	opts    options

	current   atomic.Pointer[Snapshot[T]]
	ready     chan struct{}
	readyOnce sync.Once
}

// New returns a watcher of key in kv. Call Run to start it.
func New[T any](kv jetstream.KeyValue, key string, compile Compiler[T], opts ...Option) *Watcher[T] {
	o := options{logger: slog.Default(), now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	return &Watcher[T]{kv: kv, key: key, compile: compile, opts: o, ready: make(chan struct{})}
}

// Ready is closed once a first revision has been compiled and swapped in.
func (w *Watcher[T]) Ready() <-chan struct{} { return w.ready }

// Current returns the revision being served, or nil before the first one.
func (w *Watcher[T]) Current() *Snapshot[T] { return w.current.Load() }

// Run watches until ctx ends. It returns ctx's error, or an error when the
// watch itself cannot be established.
func (w *Watcher[T]) Run(ctx context.Context) error {
	kw, err := w.kv.Watch(ctx, w.key, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("watch config key %q: %w", w.key, err)
	}
	defer func() { _ = kw.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case entry, ok := <-kw.Updates():
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return errors.New("config watch closed")
			}
			if entry == nil {
				// End of the initial values: nothing published yet is not
				// an error, the service waits for the first revision.
				continue
			}
			w.apply(ctx, entry.Value(), entry.Revision())
		}
	}
}

// apply compiles one revision and swaps it in when it compiles.
func (w *Watcher[T]) apply(ctx context.Context, doc []byte, rev uint64) {
	log := w.opts.logger.With(slog.Uint64("revision", rev))
	prev := w.current.Load()
	if prev != nil && rev <= prev.Revision {
		return
	}
	st := Status{Service: w.opts.service, Instance: w.opts.instance, Revision: rev, At: w.opts.now()}
	val, err := w.compile(ctx, doc, rev)
	if err != nil {
		st.Error = err.Error()
		if prev != nil {
			st.Serving = prev.Revision
		}
		log.Error("config revision rejected; previous revision keeps serving",
			slog.Uint64("serving", st.Serving), slog.String("error", st.Error))
		w.report(ctx, st)
		return
	}
	w.current.Store(&Snapshot[T]{Revision: rev, Value: val, AppliedAt: st.At})
	st.Accepted, st.Serving = true, rev
	log.Info("config revision applied")
	w.readyOnce.Do(func() { close(w.ready) })
	if w.opts.onSwap != nil {
		w.opts.onSwap(rev)
	}
	w.report(ctx, st)
}

func (w *Watcher[T]) report(ctx context.Context, st Status) {
	if w.opts.reporter != nil {
		w.opts.reporter(ctx, st)
	}
}
