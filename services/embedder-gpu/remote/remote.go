// Package remote is an embedding backend that calls an OpenAI-compatible
// /v1/embeddings endpoint (vLLM, TEI, Infinity, OpenAI, ...) with the
// official openai-go client, behind the same embedding.Embedder interface
// as the local ONNX Runtime models.
package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
)

// Backend is the embedding_config.backend value selecting this package.
const Backend = "openai_compatible"

// DefaultMaxTokens is reported by MaxTokens when Config.MaxTokens is 0 (the
// input limit of OpenAI's embedding models).
const DefaultMaxTokens = 8192

// Config selects the endpoint.
type Config struct {
	// Name is the model name the embedder serves it under (default: Model).
	Name string
	// BaseURL of the API, e.g. "http://embedding-service:8000/v1".
	BaseURL string
	// Model is the remote model id, e.g. "BAAI/bge-m3".
	Model string
	// APIKey is sent as a bearer token when set.
	APIKey string
	// Dimensions, when > 0, is sent with every request (Matryoshka models)
	// and must match the returned vectors; 0 learns the width from a probe
	// request at New.
	Dimensions int
	// MaxTokens is the per-text input limit reported to callers.
	MaxTokens int
	// Timeout bounds each HTTP attempt (default 30s); MaxRetries is the
	// number of retries of retryable failures (default 2).
	Timeout    time.Duration
	MaxRetries *int
	// HTTPClient replaces the default HTTP client.
	HTTPClient *http.Client
}

// Embedder calls the remote endpoint. It is safe for concurrent use.
type Embedder struct {
	cfg    Config
	client openai.Client
	dims   int
}

var _ embedding.Embedder = (*Embedder)(nil)

// New builds the client; without Config.Dimensions it embeds one probe
// text to learn the vector width.
func New(ctx context.Context, logger *slog.Logger, cfg Config) (*Embedder, error) {
	var errs []error
	if cfg.BaseURL == "" {
		errs = append(errs, errors.New("base_url is empty"))
	}
	if cfg.Model == "" {
		errs = append(errs, errors.New("model is empty"))
	}
	if cfg.Dimensions < 0 {
		errs = append(errs, fmt.Errorf("dimensions %d must not be negative", cfg.Dimensions))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("remote embedder: %w", err)
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Model
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	retries := 2
	if cfg.MaxRetries != nil {
		retries = *cfg.MaxRetries
	}
	opts := []option.RequestOption{
		option.WithBaseURL(cfg.BaseURL),
		option.WithRequestTimeout(cfg.Timeout),
		option.WithMaxRetries(retries),
		option.WithAPIKey(cfg.APIKey), // an empty key sends no usable credential; local servers ignore it
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
	}
	e := &Embedder{cfg: cfg, client: openai.NewClient(opts...), dims: cfg.Dimensions}
	if e.dims == 0 {
		vecs, err := e.call(ctx, []string{"dimension probe"})
		if err != nil {
			return nil, fmt.Errorf("remote embedder %q: probe dimensions: %w", cfg.Name, err)
		}
		e.dims = len(vecs[0])
	}
	logger.Info("remote embedding model", slog.String("model", cfg.Name), slog.String("base_url", cfg.BaseURL),
		slog.String("remote_model", cfg.Model), slog.Int("dims", e.dims))
	return e, nil
}

// Name implements embedding.Embedder.
func (e *Embedder) Name() string { return e.cfg.Name }

// Dims implements embedding.Embedder.
func (e *Embedder) Dims() int { return e.dims }

// MaxTokens implements embedding.Embedder.
func (e *Embedder) MaxTokens() int { return e.cfg.MaxTokens }

// Provider reports where the model runs.
func (e *Embedder) Provider() string { return "remote" }

// Embed implements embedding.Embedder: one request for all texts, vectors
// L2-normalised. Token counts are not known per text (the API reports a
// total), so Info.Tokens stays zero and Info.Truncated false.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, embedding.Info, error) {
	info := embedding.Info{Model: e.cfg.Name, Provider: "remote", Tokens: make([]int, len(texts)), Truncated: make([]bool, len(texts))}
	if len(texts) == 0 {
		return nil, info, nil
	}
	vecs, err := e.call(ctx, texts)
	if err != nil {
		return nil, info, fmt.Errorf("embed with %q: %w", e.cfg.Name, err)
	}
	for i, v := range vecs {
		if len(v) != e.dims {
			return nil, info, fmt.Errorf("embed with %q: vector %d has %d dimensions, want %d", e.cfg.Name, i, len(v), e.dims)
		}
	}
	return vecs, info, nil
}

func (e *Embedder) call(ctx context.Context, texts []string) ([][]float32, error) {
	params := openai.EmbeddingNewParams{
		Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts},
		Model:          openai.EmbeddingModel(e.cfg.Model),
		EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat,
	}
	if e.cfg.Dimensions > 0 {
		params.Dimensions = openai.Int(int64(e.cfg.Dimensions))
	}
	res, err := e.client.Embeddings.New(ctx, params)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("call %s: %w", e.cfg.BaseURL, ctx.Err())
		}
		var apiErr *openai.Error
		if errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 && apiErr.StatusCode != http.StatusTooManyRequests {
			return nil, fmt.Errorf("call %s: %w", e.cfg.BaseURL, err)
		}
		return nil, fmt.Errorf("call %s: %w: %w", e.cfg.BaseURL, embedding.ErrUpstream, err)
	}
	if len(res.Data) != len(texts) {
		return nil, fmt.Errorf("call %s: %d embeddings for %d texts", e.cfg.BaseURL, len(res.Data), len(texts))
	}
	out := make([][]float32, len(texts))
	for _, d := range res.Data {
		if d.Index < 0 || int(d.Index) >= len(texts) || out[d.Index] != nil {
			return nil, fmt.Errorf("call %s: bad or repeated embedding index %d", e.cfg.BaseURL, d.Index)
		}
		v := make([]float32, len(d.Embedding))
		for k, x := range d.Embedding {
			v[k] = float32(x)
		}
		embedding.Normalize(v)
		out[d.Index] = v
	}
	return out, nil
}
