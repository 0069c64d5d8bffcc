package server_test

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
)

// gatedScorer wraps the real jailbreak scorer and, once armed, holds the
// next call until release is closed, so a test can keep a request in
// flight while it publishes a new config revision.
type gatedScorer struct {
	inner   heuristic.JailbreakScorer
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *gatedScorer) arm() { g.armed.Store(true) }

func (g *gatedScorer) JailbreakScore(ctx context.Context, text string) (float64, error) {
	if g.armed.CompareAndSwap(true, false) {
		g.entered <- struct{}{}
		select {
		case <-g.release:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return g.inner.JailbreakScore(ctx, text)
}

// familyTimeout gives the held request room: the heuristic families'
// deadline would otherwise end it.
func familyTimeout() classifier.Option { return classifier.WithFamilyTimeout(time.Minute) }
