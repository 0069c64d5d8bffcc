// Package server is the embedder service: the semrouter.embedding.v1
// EmbeddingService Connect handler in front of dynamically batched models,
// served over NATS (natsrpc, one queue group per model) and over HTTP
// (Connect, gRPC, gRPC-Web).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/durationpb"

	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
	"github.com/semrouter/semrouter/services/embedder-gpu/batching"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
)

// MaxTexts bounds the texts of one Embed request.
const MaxTexts = 2048

// Model is one servable model.
type Model struct {
	// Embedder computes the vectors; its Name is the model's main name.
	Embedder embedding.Embedder
	// Aliases are further names the model answers to (e.g. the upstream
	// model_type "bert" for the model loaded from bert_model_path).
	Aliases []string
	// Default makes the model answer requests with an empty model name
	// (exactly one model must be the default; with one model it is implied).
	Default bool
	// Backend and Device describe the model in ListModels
	// (e.g. "onnxruntime" / "cpu"); Device defaults to the embedder's
	// execution provider when it reports one.
	Backend string
	Device  string
	// SupportedDimensions lists the Matryoshka truncations the model is
	// meant for (informational; any dimension up to the native one works).
	SupportedDimensions []int32
	// Concurrency, when > 0, overrides batching.Config.Concurrency for this
	// model (e.g. several batches in flight to a remote backend).
	Concurrency int
}

// Names is the model's main name followed by its aliases.
func (m Model) Names() []string {
	return append([]string{m.Embedder.Name()}, m.Aliases...)
}

// providerReporter is implemented by models that know their execution
// provider (embedding.Model, hfmodel.Model).
type providerReporter interface{ Provider() string }

// tokenLimiter is implemented by models that can read fewer tokens per text
// than their maximum for one call (EmbedRequest.max_tokens).
type tokenLimiter interface {
	EmbedLimit(ctx context.Context, texts []string, maxTokens int) ([][]float32, embedding.Info, error)
}

type served struct {
	Model
	batcher *batching.Batcher
}

// Service implements embeddingv1connect.EmbeddingServiceHandler.
type Service struct {
	logger   *slog.Logger
	models   []*served
	byName   map[string]*served
	fallback *served
}

var _ embeddingv1connect.EmbeddingServiceHandler = (*Service)(nil)

// NewService validates models and starts one batcher per model. Close stops
// the batchers (the models stay open: their owner closes them).
func NewService(logger *slog.Logger, models []Model, cfg batching.Config) (*Service, error) {
	if len(models) == 0 {
		return nil, errors.New("new embedding service: no models")
	}
	s := &Service{logger: logger, byName: map[string]*served{}}
	var errs []error
	defaults := 0
	for i, m := range models {
		if m.Embedder == nil {
			errs = append(errs, fmt.Errorf("model %d: no embedder", i))
			continue
		}
		for _, name := range m.Names() {
			if name == "" {
				errs = append(errs, fmt.Errorf("model %d: empty name", i))
				continue
			}
			if _, dup := s.byName[name]; dup {
				errs = append(errs, fmt.Errorf("model name %q is used twice", name))
				continue
			}
			s.byName[name] = nil
		}
		if m.Default {
			defaults++
		}
	}
	if defaults > 1 {
		errs = append(errs, fmt.Errorf("%d models are marked default: want one", defaults))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new embedding service: %w", err)
	}
	for i, m := range models {
		if defaults == 0 && i == 0 {
			m.Default = true
		}
		if m.Backend == "" {
			m.Backend = "onnxruntime"
		}
		if p, ok := m.Embedder.(providerReporter); ok && m.Device == "" {
			m.Device = p.Provider()
		}
		sv := &served{Model: m}
		mcfg := cfg
		if m.Concurrency > 0 {
			mcfg.Concurrency = m.Concurrency
		}
		sv.batcher = batching.New(logger, m.Embedder, mcfg)
		s.models = append(s.models, sv)
		for _, name := range m.Names() {
			s.byName[name] = sv
		}
		if m.Default {
			s.fallback = sv
		}
	}
	return s, nil
}

// Models lists the served models (Default set on exactly one).
func (s *Service) Models() []Model {
	out := make([]Model, len(s.models))
	for i, m := range s.models {
		out[i] = m.Model
	}
	return out
}

// DefaultModel is the name of the model answering an empty model name.
func (s *Service) DefaultModel() string { return s.fallback.Embedder.Name() }

// Close stops the batchers; queued requests get UNAVAILABLE.
func (s *Service) Close() {
	for _, m := range s.models {
		m.batcher.Close()
	}
}

// ListModels implements EmbeddingServiceHandler.
func (s *Service) ListModels(context.Context, *connect.Request[embeddingv1.ListModelsRequest]) (*connect.Response[embeddingv1.ListModelsResponse], error) {
	res := &embeddingv1.ListModelsResponse{}
	for _, m := range s.models {
		res.Models = append(res.Models, &embeddingv1.ModelInfo{
			Name:                m.Embedder.Name(),
			Dimensions:          int32(m.Embedder.Dims()),
			MaxTokens:           int32(m.Embedder.MaxTokens()),
			Backend:             m.Backend,
			Device:              m.Device,
			SupportedDimensions: m.SupportedDimensions,
			Default:             m == s.fallback,
		})
	}
	return connect.NewResponse(res), nil
}

// Embed implements EmbeddingServiceHandler.
func (s *Service) Embed(ctx context.Context, req *connect.Request[embeddingv1.EmbedRequest]) (*connect.Response[embeddingv1.EmbedResponse], error) {
	msg := req.Msg
	m := s.fallback
	if name := msg.GetModel(); name != "" {
		var ok bool
		if m, ok = s.byName[name]; !ok {
			return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("model %q is not served here (models: %s)", name, strings.Join(s.names(), ", ")))
		}
	}
	if err := validate(msg, m.Embedder); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	var (
		res batching.Result
		err error
	)
	limit := int(msg.GetMaxTokens())
	if lim, ok := m.Embedder.(tokenLimiter); ok && limit > 0 && limit < m.Embedder.MaxTokens() {
		// A lower token limit than the model's cannot share a batch with
		// other requests: run it on its own.
		res, err = embedLimited(ctx, lim, msg.GetTexts(), limit)
	} else {
		res, err = m.batcher.Embed(ctx, msg.GetTexts())
	}
	if err != nil {
		return nil, s.toConnectError(ctx, m.Embedder.Name(), err)
	}
	dims := m.Embedder.Dims()
	if d := int(msg.GetDimensions()); d > 0 && d < dims {
		dims = d
	}
	out := &embeddingv1.EmbedResponse{
		Model:         m.Embedder.Name(),
		Dimensions:    int32(dims),
		Embeddings:    make([]*embeddingv1.Embedding, len(res.Vectors)),
		InferenceTime: durationpb.New(res.InferenceTime),
	}
	for i, v := range res.Vectors {
		if len(v) > dims {
			v = v[:dims:dims]
			embedding.Normalize(v)
		} else if msg.GetNormalize() {
			embedding.Normalize(v)
		}
		e := &embeddingv1.Embedding{Values: v}
		if i < len(res.Info.Tokens) {
			e.TokenCount = int32(res.Info.Tokens[i])
			out.TotalTokens += int64(res.Info.Tokens[i])
		}
		if i < len(res.Info.Truncated) {
			e.Truncated = res.Info.Truncated[i]
		}
		out.Embeddings[i] = e
	}
	return connect.NewResponse(out), nil
}

func embedLimited(ctx context.Context, lim tokenLimiter, texts []string, limit int) (batching.Result, error) {
	vecs, info, err := lim.EmbedLimit(ctx, texts, limit)
	if err != nil {
		return batching.Result{}, err
	}
	return batching.Result{Vectors: vecs, Info: info, BatchTexts: len(texts)}, nil
}

// validate checks a request against the model, naming every problem.
func validate(msg *embeddingv1.EmbedRequest, m embedding.Embedder) error {
	var errs []error
	texts := msg.GetTexts()
	switch {
	case len(texts) == 0:
		errs = append(errs, errors.New("texts: at least one text is required"))
	case len(texts) > MaxTexts:
		errs = append(errs, fmt.Errorf("texts: %d texts, at most %d per request", len(texts), MaxTexts))
	}
	var empty []string
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			empty = append(empty, fmt.Sprint(i))
			if len(empty) == 10 {
				empty = append(empty, "...")
				break
			}
		}
	}
	if len(empty) > 0 {
		errs = append(errs, fmt.Errorf("texts[%s]: text is empty", strings.Join(empty, ",")))
	}
	if d := msg.GetDimensions(); d < 0 || int(d) > m.Dims() {
		errs = append(errs, fmt.Errorf("dimensions: %d is outside 0..%d (model %q)", d, m.Dims(), m.Name()))
	}
	if t := msg.GetMaxTokens(); t < 0 {
		errs = append(errs, fmt.Errorf("max_tokens: %d must not be negative", t))
	} else if t > 0 && int(t) < m.MaxTokens() {
		if _, ok := m.(tokenLimiter); !ok {
			errs = append(errs, fmt.Errorf("max_tokens: model %q always reads up to %d tokens; it cannot stop at %d", m.Name(), m.MaxTokens(), t))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) names() []string {
	var out []string
	for name := range s.byName {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// toConnectError maps an embedding failure to a Connect code.
func (s *Service) toConnectError(ctx context.Context, model string, err error) error {
	var ce *connect.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, batching.ErrClosed), errors.Is(err, embedding.ErrClosed):
		return connect.NewError(connect.CodeUnavailable, err)
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, ErrUpstream):
		return connect.NewError(connect.CodeUnavailable, err)
	}
	s.logger.LogAttrs(ctx, slog.LevelError, "embed", slog.String("model", model), slog.String("error", err.Error()))
	return connect.NewError(connect.CodeInternal, err)
}

// ErrUpstream marks errors of a remote embedding backend that a retry on
// another replica or later may fix (mapped to UNAVAILABLE). Remote backends
// wrap their transport errors with it.
var ErrUpstream = embedding.ErrUpstream
