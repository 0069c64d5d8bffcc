package server

import "context"

// SetBatchHook makes h call f as each batch item starts (the function f
// returns is called when the item is done).
func SetBatchHook(h *Handler, f func(i int) func()) { h.batchHook = f }

// SetBatchSampler replaces the randomness deciding which batches the
// metrics record.
func SetBatchSampler(h *Handler, f func() float64) { h.sample = f }

// ClassifyBatch runs one batch against h's current revision as the batch
// endpoint does, with ctx (so a test can cancel it mid-batch).
func ClassifyBatch(ctx context.Context, h *Handler, texts []string, task string) []map[string]any {
	c, err := h.current()
	if err != nil {
		panic(err)
	}
	return h.classifyBatch(ctx, c, h.batchSettingsFor(c), texts, task, nil)
}
