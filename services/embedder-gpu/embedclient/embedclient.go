// Package embedclient is the Go client other semrouter services use to get
// embeddings from the embedder pool:
//
//	c := embedclient.New(nc)                      // over NATS (natsrpc)
//	vecs, err := c.Embed(ctx, "use-lite", texts)  // "" = the pool's default model
//
// Over NATS a request for model M goes to the subject
// subjects.EmbedModel(M), served only by the replicas that load M (the model's
// queue group); an empty model goes to the plain subject, answered by the
// default model of whichever replica takes it.
package embedclient

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"

	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
	"github.com/semrouter/semrouter/pkg/natsrpc"
)

// Client calls the EmbeddingService. It is safe for concurrent use.
type Client struct {
	rpc      embeddingv1connect.EmbeddingServiceClient
	viaNATS  bool
	defaults Defaults
	coalesce *coalescer // nil: every Embed call is its own request
}

// Defaults are applied to every Embed call.
type Defaults struct {
	// Dimensions truncates vectors (Matryoshka) when > 0.
	Dimensions int32
}

// Option configures a Client.
type Option func(*Client)

// WithDimensions asks for vectors truncated to dims components (re-normalised).
func WithDimensions(dims int32) Option { return func(c *Client) { c.defaults.Dimensions = dims } }

// New returns a client that reaches the embedder over NATS request-reply.
func New(nc *nats.Conn, opts ...Option) *Client {
	return NewWithNATSOptions(nc, nil, opts...)
}

// NewWithNATSOptions is New with natsrpc client options (tracing, default
// timeout, ...).
func NewWithNATSOptions(nc *nats.Conn, natsOpts []natsrpc.ClientOption, opts ...Option) *Client {
	rpc := embeddingv1connect.NewEmbeddingServiceClient(natsrpc.NewClient(nc, natsOpts...), natsrpc.BaseURL)
	c := &Client{rpc: rpc, viaNATS: true}
	for _, o := range opts {
		o(c)
	}
	return c
}

// NewHTTP returns a client that reaches the embedder over HTTP (Connect
// protocol) at baseURL, e.g. "http://embedder:8090".
func NewHTTP(httpClient connect.HTTPClient, baseURL string, opts ...Option) *Client {
	return NewFromConnect(embeddingv1connect.NewEmbeddingServiceClient(httpClient, baseURL), opts...)
}

// NewFromConnect wraps any generated EmbeddingService client (over HTTP or
// NATS). Model routing by NATS subject suffix is done only by New.
func NewFromConnect(rpc embeddingv1connect.EmbeddingServiceClient, opts ...Option) *Client {
	c := &Client{rpc: rpc}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Embed returns one L2-normalised vector per text, in order, from model
// ("" = default model). Errors are *connect.Error values: NOT_FOUND (no
// replica or no such model), INVALID_ARGUMENT (empty text, bad dimension),
// DEADLINE_EXCEEDED, UNAVAILABLE (no replica answered).
//
// With WithCoalescing, concurrent calls for the same model share requests.
func (c *Client) Embed(ctx context.Context, model string, texts []string) ([][]float32, error) {
	if co := c.coalesce; co != nil && len(texts) > 0 && len(texts) < co.maxTexts {
		return co.embed(ctx, c, model, texts)
	}
	return c.embedOnce(ctx, model, texts)
}

// EmbedRequest sends a full request (dimensions, max_tokens, normalize) and
// returns the full response (per-text token counts and truncation flags).
func (c *Client) EmbedRequest(ctx context.Context, req *embeddingv1.EmbedRequest) (*embeddingv1.EmbedResponse, error) {
	if req.GetDimensions() == 0 && c.defaults.Dimensions > 0 {
		req.Dimensions = c.defaults.Dimensions
	}
	if c.viaNATS && req.GetModel() != "" {
		ctx = natsrpc.ContextWithSubjectSuffix(ctx, req.GetModel())
	}
	res, err := c.rpc.Embed(ctx, connect.NewRequest(req))
	if err != nil {
		if c.viaNATS && req.GetModel() != "" && errors.Is(err, nats.ErrNoResponders) {
			// Nobody subscribes to the model's subject: no replica serves it.
			return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("embed with %q: no embedder replica serves this model: %w", req.GetModel(), err))
		}
		return nil, fmt.Errorf("embed with %q: %w", req.GetModel(), err)
	}
	return res.Msg, nil
}

// ListModels lists the models of the replica that answers (model "" = any
// replica via the plain subject; otherwise a replica serving that model).
func (c *Client) ListModels(ctx context.Context, model string) ([]*embeddingv1.ModelInfo, error) {
	if c.viaNATS && model != "" {
		ctx = natsrpc.ContextWithSubjectSuffix(ctx, model)
	}
	res, err := c.rpc.ListModels(ctx, connect.NewRequest(&embeddingv1.ListModelsRequest{}))
	if err != nil {
		return nil, fmt.Errorf("list embedding models: %w", err)
	}
	return res.Msg.GetModels(), nil
}
