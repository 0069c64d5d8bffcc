package natsstages

import (
	"context"
	"fmt"
	"sync/atomic"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"

	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// Embedder asks the embedder pool for L2-normalised embeddings.
type Embedder struct {
	client embeddingv1connect.EmbeddingServiceClient
	model  string
	dims   int32
	// resolved is the model name the pool last answered with.
	resolved atomic.Pointer[string]
}

var _ gateway.Embedder = (*Embedder)(nil)

// NewEmbedder returns an Embedder for model ("" = the pool's default model,
// the one the embedder derives from global.model_catalog.embeddings).
// dims > 0 asks for Matryoshka-truncated vectors.
func NewEmbedder(nc *nats.Conn, model string, dims int32, opts ...natsrpc.ClientOption) *Embedder {
	return &Embedder{
		client: embeddingv1connect.NewEmbeddingServiceClient(natsrpc.NewClient(nc, opts...), natsrpc.BaseURL),
		model:  model, dims: dims,
	}
}

// Embed embeds texts in one batched request.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if e.model != "" {
		ctx = natsrpc.ContextWithSubjectSuffix(ctx, e.model)
	}
	res, err := e.client.Embed(ctx, connect.NewRequest(&embeddingv1.EmbedRequest{
		Texts: texts, Model: e.model, Dimensions: e.dims, Normalize: true}))
	if err != nil {
		return nil, stageError(fmt.Sprintf("embed %d texts with %q", len(texts), e.model), err)
	}
	embs := res.Msg.GetEmbeddings()
	if len(embs) != len(texts) {
		return nil, fmt.Errorf("embed with %q: got %d embeddings for %d texts", e.model, len(embs), len(texts))
	}
	if m := res.Msg.GetModel(); m != "" {
		e.resolved.Store(&m)
	}
	out := make([][]float32, len(embs))
	for i, v := range embs {
		out[i] = v.GetValues()
	}
	return out, nil
}

// Model is the model asked for ("" = the pool's default).
func (e *Embedder) Model() string { return e.model }

// ResolvedModel is the model the pool answered with last ("" before the
// first answer).
func (e *Embedder) ResolvedModel() string {
	if m := e.resolved.Load(); m != nil {
		return *m
	}
	return e.model
}

// Keys are the names under which the query embedding is sent to the
// classifier (ClassifyRequest.query_embeddings): the model the pool
// answered with, the name asked for when it differs, and "" (the
// classifier's "default model" entry) when no name was asked for.
func (e *Embedder) Keys() []string {
	resolved := e.ResolvedModel()
	keys := make([]string, 0, 3)
	if resolved != "" {
		keys = append(keys, resolved)
	}
	if e.model != "" && e.model != resolved {
		keys = append(keys, e.model)
	}
	if e.model == "" {
		keys = append(keys, "")
	}
	return keys
}
