package batching

import (
	"log/slog"

	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
)

// NewWithHook is New with a hook called after each request entered the queue.
func NewWithHook(logger *slog.Logger, model embedding.Embedder, cfg Config, afterEnqueue func()) *Batcher {
	cfg.afterEnqueue = afterEnqueue
	return New(logger, model, cfg)
}
