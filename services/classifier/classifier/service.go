package classifier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/configwatch"
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
)

// ErrNotReady is returned while no config revision has been compiled.
var ErrNotReady = errors.New("classifier: no config revision loaded yet")

// Service serves the active Classifier. A new revision is swapped in
// atomically; a request keeps the Classifier it started with.
type Service struct {
	current atomic.Pointer[Classifier]
	window  *selection.Window
	done    chan struct{}
	once    sync.Once
	// retryDelay is the first wait before recompiling a revision whose
	// candidate embeddings were unavailable (doubling up to 30s).
	retryDelay time.Duration
}

// Window defaults for the shared latency window.
const (
	DefaultLatencySpan    = 5 * time.Minute
	DefaultLatencySamples = 1024
)

// NewService returns an empty service with a latency window shared by every
// revision it will serve.
func NewService() *Service {
	return &Service{window: selection.NewWindow(DefaultLatencySpan, DefaultLatencySamples), done: make(chan struct{}), retryDelay: time.Second}
}

// Close stops background recompilations.
func (s *Service) Close() { s.once.Do(func() { close(s.done) }) }

// Latency is the latency window the service's selectors read and
// observations are recorded into.
func (s *Service) Latency() *selection.Window { return s.window }

// Set swaps in c.
func (s *Service) Set(c *Classifier) { s.current.Store(c) }

// Current returns the active classifier, or nil before the first revision.
func (s *Service) Current() *Classifier { return s.current.Load() }

// Classify evaluates req against the active revision.
func (s *Service) Classify(ctx context.Context, req *Request) (*Result, error) {
	c := s.current.Load()
	if c == nil {
		return nil, ErrNotReady
	}
	return c.Classify(ctx, req)
}

// Compiler returns the configwatch compile callback: parse the published
// document, then Compile it with emb and opts (the service's latency
// window and the revision are added).
func (s *Service) Compiler(emb Embedder, opts ...Option) configwatch.Compiler[*Classifier] {
	compile := func(ctx context.Context, doc []byte, revision uint64) (*Classifier, error) {
		cfg, _, err := config.Parse(doc, fmt.Sprintf("config revision %d", revision))
		if err != nil {
			return nil, err
		}
		all := append([]Option{WithLatency(s.window), WithRevision(int64(revision))}, opts...)
		return Compile(ctx, cfg, emb, all...)
	}
	return func(ctx context.Context, doc []byte, revision uint64) (*Classifier, error) {
		c, err := compile(ctx, doc, revision)
		if err == nil && c.candidatesMissing {
			go s.recompile(compile, append([]byte(nil), doc...), revision)
		}
		return c, err
	}
}

// recompile retries a revision whose candidate embeddings were unavailable
// (the embedder started after the classifier, or was down) until they can
// be embedded, then swaps the complete classifier in, unless a newer
// revision has been applied meanwhile.
func (s *Service) recompile(compile configwatch.Compiler[*Classifier], doc []byte, revision uint64) {
	delay := s.retryDelay
	for {
		select {
		case <-s.done:
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
		if cur := s.Current(); cur != nil && cur.Revision() > int64(revision) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c, err := compile(ctx, doc, revision)
		cancel()
		if err != nil || c.candidatesMissing {
			continue
		}
		// Swap in only over the degraded form of the same revision; when
		// the watcher has not applied it yet, wait for it.
		for {
			cur := s.Current()
			if cur != nil && cur.Revision() > int64(revision) {
				return
			}
			if cur != nil && cur.Revision() == int64(revision) {
				if s.current.CompareAndSwap(cur, c) {
					return
				}
				continue
			}
			select {
			case <-s.done:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// noLatency answers no observation for every model (used when a
// classifier is compiled without a latency source).
type noLatency struct{}

func (noLatency) Percentile(string, selection.Metric, float64, time.Time) (time.Duration, bool) {
	return 0, false
}
