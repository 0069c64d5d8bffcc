package server

import (
	"context"
	"fmt"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"

	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/services/classifier/classifier"
)

// NATSEmbedder is a classifier.Embedder that asks the embedder service
// over NATS (the pool serving Model, subjects.EmbedModel). Large batches
// are sent in chunks so no message exceeds the NATS payload limit.
type NATSEmbedder struct {
	client  embeddingv1connect.EmbeddingServiceClient
	model   string
	chunk   int
	timeout time.Duration
}

var _ classifier.Embedder = (*NATSEmbedder)(nil)

// NewNATSEmbedder returns an embedder for model over nc. chunk is the most
// texts per request (default 64); timeout bounds each request (default 30s);
// opts tune the natsrpc client (tracing, metrics).
func NewNATSEmbedder(nc *nats.Conn, model string, chunk int, timeout time.Duration, opts ...natsrpc.ClientOption) *NATSEmbedder {
	if chunk <= 0 {
		chunk = 64
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	return &NATSEmbedder{
		client:  embeddingv1connect.NewEmbeddingServiceClient(natsrpc.NewClient(nc, opts...), natsrpc.BaseURL),
		model:   model,
		chunk:   chunk,
		timeout: timeout,
	}
}

// Model is the embedding model asked for.
func (e *NATSEmbedder) Model() string { return e.model }

// Embed embeds texts (normalised vectors), in chunks.
func (e *NATSEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, 0, len(texts))
	ctx = natsrpc.ContextWithSubjectSuffix(ctx, e.model)
	for start := 0; start < len(texts); start += e.chunk {
		end := min(start+e.chunk, len(texts))
		cctx, cancel := context.WithTimeout(ctx, e.timeout)
		res, err := e.client.Embed(cctx, connect.NewRequest(&embeddingv1.EmbedRequest{Texts: texts[start:end], Model: e.model, Normalize: true}))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("embed %d texts with %q: %w", end-start, e.model, err)
		}
		embs := res.Msg.GetEmbeddings()
		if len(embs) != end-start {
			return nil, fmt.Errorf("embed with %q: got %d embeddings for %d texts", e.model, len(embs), end-start)
		}
		for _, v := range embs {
			out = append(out, v.GetValues())
		}
	}
	return out, nil
}
