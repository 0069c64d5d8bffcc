// Package batching coalesces concurrent embedding requests for one model into
// batched model runs (dynamic batching): requests that arrive within a short
// window, up to a maximum number of texts, become one ONNX Runtime call.
// A request whose context ends while it waits is dropped from its batch and
// answered with the context's error.
package batching

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
)

// Defaults for Config.
const (
	DefaultWindow    = 2 * time.Millisecond
	DefaultMaxBatch  = embedding.DefaultMaxBatch
	DefaultQueueSize = 4096
)

// ErrClosed is returned for requests sent after Close or still queued when
// Close ran.
var ErrClosed = errors.New("batcher closed")

// ErrPanic wraps a panic raised by the model during a batch.
var ErrPanic = errors.New("embedding model panicked")

// Config tunes a Batcher.
type Config struct {
	// Window is how long the first request of a batch waits for others
	// (0: DefaultWindow; negative: no waiting, take what is queued).
	Window time.Duration
	// MaxBatch is the number of texts that closes a batch at once
	// (0: DefaultMaxBatch). A single request with more texts runs alone.
	MaxBatch int
	// QueueSize bounds the requests waiting for a batch (0: DefaultQueueSize);
	// a sender blocks (until its context ends) while the queue is full.
	QueueSize int
	// Concurrency is the number of batches run at once (default 1: a local
	// model already uses every core per run; a remote backend gains from
	// more). Batches are formed one at a time, by the next free runner.
	Concurrency int

	// OnBatch, when set, is called after every model run with the model
	// name, the number of texts in the batch, the run's duration and its
	// error (metrics).
	OnBatch func(model string, texts int, elapsed time.Duration, err error)

	// afterEnqueue, when set (tests only), is called after a request entered the queue.
	afterEnqueue func()
}

// Result is the answer to one request.
type Result struct {
	Vectors [][]float32
	Info    embedding.Info
	// InferenceTime is the duration of the model run(s) that served the
	// request's batch (queueing excluded).
	InferenceTime time.Duration
	// BatchTexts is the number of texts in that batch.
	BatchTexts int
}

type request struct {
	ctx   context.Context
	texts []string
	done  chan response // buffered(1): the loop never blocks on it
}

type response struct {
	res Result
	err error
}

// Batcher serves Embed calls for one model. It is safe for concurrent use.
type Batcher struct {
	model  embedding.Embedder
	cfg    Config
	logger *slog.Logger
	queue  chan *request

	mu      sync.RWMutex // guards closed against sends racing Close
	closed  bool
	stop    chan struct{}
	stopped chan struct{}

	collectMu sync.Mutex // one runner forms a batch at a time
	carry     *request   // a request that did not fit the previous batch (under collectMu)
}

// New starts a batcher for model; Close stops it.
func New(logger *slog.Logger, model embedding.Embedder, cfg Config) *Batcher {
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	b := &Batcher{
		model:   model,
		cfg:     cfg,
		logger:  logger,
		queue:   make(chan *request, cfg.QueueSize),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	var runners sync.WaitGroup
	for range cfg.Concurrency {
		runners.Go(b.runner)
	}
	go func() {
		runners.Wait()
		b.drain()
		close(b.stopped)
	}()
	return b
}

// QueueLen is the number of requests waiting for a batch.
func (b *Batcher) QueueLen() int { return len(b.queue) }

// Model is the embedder the batcher feeds.
func (b *Batcher) Model() embedding.Embedder { return b.model }

// Embed queues texts for the next batch and waits for their vectors. It
// returns ctx's error (wrapped) when ctx ends first.
func (b *Batcher) Embed(ctx context.Context, texts []string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("embed: %w", err)
	}
	if len(texts) == 0 {
		return Result{Info: embedding.Info{Model: b.model.Name()}}, nil
	}
	req := &request{ctx: ctx, texts: texts, done: make(chan response, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return Result{}, ErrClosed
	}
	select {
	case b.queue <- req:
	case <-ctx.Done():
		b.mu.RUnlock()
		return Result{}, fmt.Errorf("embed: wait for queue: %w", ctx.Err())
	}
	b.mu.RUnlock()
	if b.cfg.afterEnqueue != nil {
		b.cfg.afterEnqueue()
	}
	select {
	case r := <-req.done:
		return r.res, r.err
	case <-ctx.Done():
		return Result{}, fmt.Errorf("embed: wait for batch: %w", ctx.Err())
	}
}

// Close stops the batcher: queued requests are answered ErrClosed, a batch
// already running finishes. It does not close the model.
func (b *Batcher) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		<-b.stopped
		return
	}
	b.closed = true
	close(b.stop)
	b.mu.Unlock()
	<-b.stopped
}

// runner forms batches and runs them until Close.
func (b *Batcher) runner() {
	for {
		batch, ok := b.collect()
		if !ok {
			return
		}
		b.run(batch)
	}
}

// collect waits for a first request, then gathers more until the batch is
// full or the window has passed. It returns false after Close.
func (b *Batcher) collect() ([]*request, bool) {
	b.collectMu.Lock()
	defer b.collectMu.Unlock()
	first := b.carry
	b.carry = nil
	if first == nil {
		select {
		case first = <-b.queue:
		case <-b.stop:
			return nil, false
		}
	}
	batch := []*request{first}
	total := len(first.texts)
	var deadline <-chan time.Time
	if b.cfg.Window > 0 {
		timer := time.NewTimer(b.cfg.Window)
		defer timer.Stop()
		deadline = timer.C
	}
	for total < b.cfg.MaxBatch {
		var next *request
		if deadline == nil {
			select {
			case next = <-b.queue:
			default:
				return batch, true
			}
		} else {
			select {
			case next = <-b.queue:
			case <-deadline:
				return batch, true
			case <-b.stop:
				return batch, true
			}
		}
		if total+len(next.texts) > b.cfg.MaxBatch {
			b.carry = next
			return batch, true
		}
		batch = append(batch, next)
		total += len(next.texts)
	}
	return batch, true
}

// drain answers every queued request after Close.
func (b *Batcher) drain() {
	if b.carry != nil {
		b.carry.done <- response{err: ErrClosed}
		b.carry = nil
	}
	for {
		select {
		case r := <-b.queue:
			r.done <- response{err: ErrClosed}
		default:
			return
		}
	}
}

// run drops the requests whose context ended, embeds the rest in one model
// call and hands every request its slice of the result.
func (b *Batcher) run(batch []*request) {
	live := batch[:0]
	var texts []string
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- response{err: fmt.Errorf("embed: dropped from batch: %w", err)}
			continue
		}
		live = append(live, r)
		texts = append(texts, r.texts...)
	}
	if len(live) == 0 {
		return
	}
	start := time.Now()
	vecs, info, err := b.embed(texts)
	elapsed := time.Since(start)
	if err == nil && len(vecs) != len(texts) {
		err = fmt.Errorf("embed: model %q returned %d vectors for %d texts", b.model.Name(), len(vecs), len(texts))
	}
	if b.cfg.OnBatch != nil {
		b.cfg.OnBatch(b.model.Name(), len(texts), elapsed, err)
	}
	offset := 0
	for _, r := range live {
		n := len(r.texts)
		if err != nil {
			r.done <- response{err: err}
			continue
		}
		res := Result{
			Vectors:       vecs[offset : offset+n : offset+n],
			Info:          embedding.Info{Model: info.Model, Provider: info.Provider},
			InferenceTime: elapsed,
			BatchTexts:    len(texts),
		}
		if len(info.Tokens) == len(texts) {
			res.Info.Tokens = info.Tokens[offset : offset+n : offset+n]
		}
		if len(info.Truncated) == len(texts) {
			res.Info.Truncated = info.Truncated[offset : offset+n : offset+n]
		}
		r.done <- response{res: res}
		offset += n
	}
}

// embed runs the model, turning a panic into an error so that one bad batch
// cannot take the process down.
func (b *Batcher) embed(texts []string) (vecs [][]float32, info embedding.Info, err error) {
	defer func() {
		if p := recover(); p != nil {
			b.logger.Error("embedding model panicked", slog.String("model", b.model.Name()), slog.Any("panic", p))
			vecs, err = nil, fmt.Errorf("embed with %q: %w: %v", b.model.Name(), ErrPanic, p)
		}
	}()
	// The batch belongs to several callers: it runs to completion even if
	// the caller that opened it goes away.
	return b.model.Embed(context.Background(), texts)
}
