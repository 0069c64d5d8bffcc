package natsrpc_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/trace"

	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	configv1 "github.com/semrouter/semrouter/gen/semrouter/config/v1"
	"github.com/semrouter/semrouter/gen/semrouter/config/v1/configv1connect"
	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
)

// configService is a small but real ConfigService implementation used to
// exercise the transport: it keeps an active revision and documents in memory.
type configService struct {
	mu       sync.Mutex
	revision int64
	docs     map[int64][]byte

	// sawDeadline receives, for each ValidateConfig call, whether the handler
	// context had a deadline. ValidateConfig then waits for its context to end.
	sawDeadline chan bool
	// tracer, when set, starts a span inside GetConfig (to check trace nesting).
	tracer trace.Tracer
}

var _ configv1connect.ConfigServiceHandler = (*configService)(nil)

func newConfigService() *configService {
	return &configService{revision: 7, docs: map[int64][]byte{7: []byte("version: v0.3\n")}, sawDeadline: make(chan bool, 16)}
}

func (s *configService) GetConfig(ctx context.Context, req *connect.Request[configv1.GetConfigRequest]) (*connect.Response[configv1.GetConfigResponse], error) {
	if s.tracer != nil {
		_, span := s.tracer.Start(ctx, "load-document")
		span.End()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rev := req.Msg.GetRevision()
	if rev == 0 {
		rev = s.revision
	}
	doc, ok := s.docs[rev]
	if !ok {
		return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("revision %d not found", rev))
	}
	res := connect.NewResponse(&configv1.GetConfigResponse{Document: doc, Revision: rev, Format: configv1.ConfigFormat_CONFIG_FORMAT_YAML})
	res.Header().Set("X-Echo-Tenant", req.Header().Get("X-Tenant"))
	res.Trailer().Set("X-Served-Revision", fmt.Sprint(rev))
	return res, nil
}

func (s *configService) PutConfig(_ context.Context, req *connect.Request[configv1.PutConfigRequest]) (*connect.Response[configv1.PutConfigResponse], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(req.Msg.GetDocument()) == 0 {
		cerr := connect.NewError(connect.CodeInvalidArgument, errors.New("document is empty"))
		if d, err := connect.NewErrorDetail(&commonv1.ProblemList{Problems: []*commonv1.Problem{{
			Severity: commonv1.Severity_SEVERITY_ERROR, Path: "$", Line: 1, Message: "empty document",
		}}}); err == nil {
			cerr.AddDetail(d)
		}
		return nil, cerr
	}
	if exp := req.Msg.GetExpectedRevision(); exp != 0 && exp != s.revision {
		cerr := connect.NewError(connect.CodeAborted, fmt.Errorf("expected revision %d, active is %d", exp, s.revision))
		if d, err := connect.NewErrorDetail(&configv1.RevisionConflict{ExpectedRevision: exp, CurrentRevision: s.revision}); err == nil {
			cerr.AddDetail(d)
		}
		cerr.Meta().Set("X-Active-Revision", fmt.Sprint(s.revision))
		return nil, cerr
	}
	s.revision++
	s.docs[s.revision] = req.Msg.GetDocument()
	return connect.NewResponse(&configv1.PutConfigResponse{Revision: s.revision, Changed: true}), nil
}

func (s *configService) ValidateConfig(ctx context.Context, _ *connect.Request[configv1.ValidateConfigRequest]) (*connect.Response[configv1.ValidateConfigResponse], error) {
	_, ok := ctx.Deadline()
	s.sawDeadline <- ok
	<-ctx.Done()
	return nil, connect.NewError(connect.CodeDeadlineExceeded, ctx.Err())
}

func (s *configService) ListVersions(_ context.Context, req *connect.Request[configv1.ListVersionsRequest]) (*connect.Response[configv1.ListVersionsResponse], error) {
	// Comments are pseudo-random so that response compression cannot shrink
	// them, except with before_revision -1 (then they are all 'x').
	rng := rand.New(rand.NewPCG(1, 2))
	res := &configv1.ListVersionsResponse{}
	for i := range req.Msg.GetPageSize() {
		comment := make([]byte, 1024)
		for j := range comment {
			comment[j] = 'x'
			if req.Msg.GetBeforeRevision() != -1 {
				comment[j] = byte('a' + rng.IntN(26))
			}
		}
		res.Versions = append(res.Versions, &configv1.ConfigVersion{Revision: int64(i + 1), Comment: string(comment)})
	}
	return connect.NewResponse(res), nil
}

func (s *configService) Rollback(context.Context, *connect.Request[configv1.RollbackRequest]) (*connect.Response[configv1.RollbackResponse], error) {
	panic("rollback exploded")
}

// embeddingService is a deterministic EmbeddingService: the vector of a text
// is derived from its bytes, and the model name says which replica answered.
type embeddingService struct {
	id    string
	calls atomic.Int64

	// When gate is set, Embed signals entered and waits for gate (or ctx).
	entered chan struct{}
	gate    chan struct{}
	running atomic.Int64
	maxSeen atomic.Int64
}

var _ embeddingv1connect.EmbeddingServiceHandler = (*embeddingService)(nil)

func (s *embeddingService) Embed(ctx context.Context, req *connect.Request[embeddingv1.EmbedRequest]) (*connect.Response[embeddingv1.EmbedResponse], error) {
	s.calls.Add(1)
	if s.gate != nil {
		n := s.running.Add(1)
		defer s.running.Add(-1)
		for {
			m := s.maxSeen.Load()
			if n <= m || s.maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		s.entered <- struct{}{}
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, connect.NewError(connect.CodeDeadlineExceeded, ctx.Err())
		}
	}
	if len(req.Msg.GetTexts()) == 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("no texts"))
	}
	dims := req.Msg.GetDimensions()
	if dims == 0 {
		dims = 8
	}
	res := &embeddingv1.EmbedResponse{Model: s.id + "/" + req.Msg.GetModel(), Dimensions: dims}
	for _, text := range req.Msg.GetTexts() {
		v := make([]float32, dims)
		for i := range v {
			if len(text) > 0 {
				v[i] = float32(text[i%len(text)]) / 255
			}
		}
		res.Embeddings = append(res.Embeddings, &embeddingv1.Embedding{Values: v, TokenCount: int32(len(strings.Fields(text)))})
		res.TotalTokens += int64(len(strings.Fields(text)))
	}
	return connect.NewResponse(res), nil
}

func (s *embeddingService) ListModels(context.Context, *connect.Request[embeddingv1.ListModelsRequest]) (*connect.Response[embeddingv1.ListModelsResponse], error) {
	return connect.NewResponse(&embeddingv1.ListModelsResponse{Models: []*embeddingv1.ModelInfo{{Name: s.id, Dimensions: 8, Backend: "test", Device: "cpu"}}}), nil
}
