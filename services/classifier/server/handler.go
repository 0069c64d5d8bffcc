// Package server exposes the classifier service: the Connect
// ClassifierService handler, served over NATS request-reply (queue group)
// and over HTTP (Connect, gRPC, gRPC-Web), plus plain JSON endpoints
// compatible with the upstream router's /api/v1/eval and
// /api/v1/classify/{intent,pii,security}, plus /api/v1/classify/{combined,
// batch,info} (batch.go). Run wires it to the config KV
// (hot reload) and to the cluster-wide latency observations.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/engine"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/heuristic/pii"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// Handler implements the ClassifierService over a classifier.Service.
type Handler struct {
	svc       *classifier.Service
	emb       classifier.Embedder
	jailbreak heuristic.JailbreakScorer
	pii       *pii.Detector
	logger    *slog.Logger
	metrics   *Metrics
	tracer    trace.Tracer
	now       func() time.Time

	// batchCache holds the batch settings of the revision last served
	// (batchconfig.go).
	batchCache atomic.Pointer[batchCached]
	// sample returns a number in [0,1) deciding whether a batch is
	// recorded in the metrics (below sample_rate: recorded).
	sample func() float64
	// batchHook, when set (tests), is called as each batch item starts;
	// the function it returns is called when the item is done.
	batchHook func(i int) func()
}

var _ classifierv1connect.ClassifierServiceHandler = (*Handler)(nil)

// HandlerOptions are the handler's collaborators.
type HandlerOptions struct {
	// Embedder embeds texts for the text-only APIs (ClassifyIntent, the
	// JSON endpoints); nil leaves their embedding families degraded.
	Embedder classifier.Embedder
	// Jailbreak scores texts for ClassifySecurity when the config has no
	// jailbreak rules; optional.
	Jailbreak heuristic.JailbreakScorer
	Logger    *slog.Logger
	// Metrics, when set, records every classification.
	Metrics *Metrics
	// TracerProvider records signal and decision evaluation spans (nil:
	// none).
	TracerProvider trace.TracerProvider
}

// NewHandler returns a handler serving svc.
func NewHandler(svc *classifier.Service, o HandlerOptions) *Handler {
	l := o.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	tp := o.TracerProvider
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return &Handler{svc: svc, emb: o.Embedder, jailbreak: o.Jailbreak, pii: pii.New(), logger: l, metrics: o.Metrics,
		tracer: tp.Tracer(tracerName), now: time.Now, sample: rand.Float64}
}

// current returns the active revision or an Unavailable error.
func (h *Handler) current() (*classifier.Classifier, error) {
	c := h.svc.Current()
	if c == nil {
		return nil, connect.NewError(connect.CodeUnavailable, classifier.ErrNotReady)
	}
	return c, nil
}

func classifyErr(err error) error {
	switch {
	case errors.Is(err, engine.ErrDecisionUnresolved):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	}
	return connect.NewError(connect.CodeInternal, err)
}

// Classify evaluates one request.
func (h *Handler) Classify(ctx context.Context, r *connect.Request[classifierv1.ClassifyRequest]) (*connect.Response[classifierv1.ClassifyResponse], error) {
	c, err := h.current()
	if err != nil {
		return nil, err
	}
	res, err := h.classify(ctx, c, toRequest(c, r.Msg.GetFacts(), r.Msg.GetQueryEmbeddings()))
	if err != nil {
		return nil, classifyErr(err)
	}
	return connect.NewResponse(&classifierv1.ClassifyResponse{Evaluation: toEvaluation(c, res)}), nil
}

// Eval is Classify with unmatched signals and stage timings.
func (h *Handler) Eval(ctx context.Context, r *connect.Request[classifierv1.EvalRequest]) (*connect.Response[classifierv1.EvalResponse], error) {
	c, err := h.current()
	if err != nil {
		return nil, err
	}
	req := toRequest(c, r.Msg.GetFacts(), r.Msg.GetQueryEmbeddings())
	req.IncludeUnmatched = r.Msg.GetIncludeUnmatched()
	res, err := h.classify(ctx, c, req)
	if err != nil {
		return nil, classifyErr(err)
	}
	ev := toEvaluation(c, res)
	out := &classifierv1.EvalResponse{Evaluation: ev, Timings: toTimings(res.Timings)}
	if ev.Decision != nil {
		out.Candidates = append(out.Candidates, ev.Decision)
	}
	return connect.NewResponse(out), nil
}

// classify runs one classification and records it in the metrics.
func (h *Handler) classify(ctx context.Context, c *classifier.Classifier, req *classifier.Request) (*classifier.Result, error) {
	start := time.Now()
	res, err := c.Classify(ctx, req)
	h.metrics.observe(res, err, time.Since(start))
	traceClassification(ctx, h.tracer, start, res, err)
	return res, err
}

// embedText embeds one text with the handler's embedder (nil when none or
// on error: the caller proceeds degraded).
func (h *Handler) embedText(ctx context.Context, c *classifier.Classifier, text string) []float32 {
	if h.emb == nil || h.emb.Model() != c.EmbeddingModel() {
		return nil
	}
	vs, err := h.emb.Embed(ctx, []string{text})
	if err != nil || len(vs) != 1 {
		h.logger.WarnContext(ctx, "embed query", slog.Any("error", err))
		return nil
	}
	return vs[0]
}

// classifyText runs the full classification of a single user turn.
func (h *Handler) classifyText(ctx context.Context, c *classifier.Classifier, text string, query []float32) (*classifier.Result, error) {
	req := toRequest(c, userText(text), nil)
	req.Query = query
	return h.classify(ctx, c, req)
}

// ClassifyIntent predicts the text's domain with the domain head and
// reports the decision the full configuration makes for it.
func (h *Handler) ClassifyIntent(ctx context.Context, r *connect.Request[classifierv1.ClassifyIntentRequest]) (*connect.Response[classifierv1.ClassifyIntentResponse], error) {
	start := h.now()
	c, err := h.current()
	if err != nil {
		return nil, err
	}
	text := r.Msg.GetText()
	if strings.TrimSpace(text) == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("text is empty"))
	}
	out, err := h.intent(ctx, c, text, h.embedText(ctx, c, text), r.Msg.GetOptions(), start)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// intent is ClassifyIntent of a non-empty text with its query embedding q
// (nil: none available), timed from start.
func (h *Handler) intent(ctx context.Context, c *classifier.Classifier, text string, q []float32, opts *classifierv1.ClassifyOptions, start time.Time) (*classifierv1.ClassifyIntentResponse, error) {
	if q == nil {
		return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("intent classification needs a query embedding from %q and none is available", c.EmbeddingModel()))
	}
	pred, probs, err := c.PredictDomain(q)
	if errors.Is(err, classifier.ErrNoDomainHead) {
		return nil, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("intent classification for embedding model %q: %w", c.EmbeddingModel(), err))
	}
	if err != nil {
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	res, err := h.classifyText(ctx, c, text, q)
	if err != nil {
		return nil, classifyErr(err)
	}
	out := &classifierv1.ClassifyIntentResponse{
		Classification: &classifierv1.IntentClassification{
			Category: pred.Label, Confidence: pred.Prob, ProcessingTimeMs: time.Since(start).Milliseconds(),
		},
		RecommendedModel: res.Model,
		RoutingDecision:  res.Decision,
	}
	if min := opts.GetConfidenceThreshold(); min > 0 && pred.Prob < min {
		out.Classification.Category = "other"
	}
	if opts.GetReturnProbabilities() {
		out.Probabilities = probs
	}
	return out, nil
}

// ClassifyPii detects personal data with the PII recognisers.
func (h *Handler) ClassifyPii(ctx context.Context, r *connect.Request[classifierv1.ClassifyPiiRequest]) (*connect.Response[classifierv1.ClassifyPiiResponse], error) {
	return connect.NewResponse(h.detectPII(r.Msg.GetText(), r.Msg.GetOptions(), h.now())), nil
}

// detectPII is ClassifyPii of text, timed from start.
func (h *Handler) detectPII(text string, opts *classifierv1.ClassifyOptions, start time.Time) *classifierv1.ClassifyPiiResponse {
	min := opts.GetConfidenceThreshold()
	ents := h.pii.Detect(text, nil)
	out := &classifierv1.ClassifyPiiResponse{SecurityRecommendation: "allow"}
	var masked strings.Builder
	last := 0
	for _, e := range ents {
		if e.Score < min || e.Start < last || e.End > len(text) {
			continue
		}
		out.Entities = append(out.Entities, &classifierv1.PiiEntity{
			Type: e.Type, Value: text[e.Start:e.End], Confidence: e.Score, Start: int32(e.Start), End: int32(e.End),
		})
		masked.WriteString(text[last:e.Start])
		masked.WriteString("[" + e.Type + "]")
		last = e.End
	}
	masked.WriteString(text[last:])
	out.HasPii = len(out.Entities) > 0
	out.MaskedText = masked.String()
	if out.HasPii {
		out.SecurityRecommendation = "block"
	}
	out.ProcessingTimeMs = time.Since(start).Milliseconds()
	return out
}

// ClassifySecurity checks a text for jailbreak / prompt injection: with the
// config's jailbreak rules when it has any, else with the model scorer.
func (h *Handler) ClassifySecurity(ctx context.Context, r *connect.Request[classifierv1.ClassifySecurityRequest]) (*connect.Response[classifierv1.ClassifySecurityResponse], error) {
	start := h.now()
	c, err := h.current()
	if err != nil {
		return nil, err
	}
	out, err := h.security(ctx, c, r.Msg.GetText(), r.Msg.GetOptions(), start)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// security is ClassifySecurity of text against c, timed from start.
func (h *Handler) security(ctx context.Context, c *classifier.Classifier, text string, opts *classifierv1.ClassifyOptions, start time.Time) (*classifierv1.ClassifySecurityResponse, error) {
	out := &classifierv1.ClassifySecurityResponse{Recommendation: "allow"}
	switch {
	case c.HasJailbreakRules():
		res, err := h.classifyText(ctx, c, text, nil)
		if err != nil {
			return nil, classifyErr(err)
		}
		if res.DegradedFamily(signal.Jailbreak) {
			return nil, connect.NewError(connect.CodeUnavailable, fmt.Errorf("jailbreak rules could not be evaluated: %s", degradedErr(res, signal.Jailbreak)))
		}
		for _, s := range res.Signals {
			if s.Family != signal.Jailbreak || !s.Matched {
				continue
			}
			out.IsJailbreak = true
			out.DetectionTypes = append(out.DetectionTypes, s.Name)
			out.RiskScore = max(out.RiskScore, s.Value)
			out.Confidence = max(out.Confidence, s.Confidence)
		}
		if !out.IsJailbreak {
			out.Confidence = 1
		}
	case h.jailbreak != nil:
		p, err := h.jailbreak.JailbreakScore(ctx, text)
		if err != nil {
			return nil, connect.NewError(connect.CodeInternal, err)
		}
		thr := opts.GetConfidenceThreshold()
		if thr <= 0 {
			thr = 0.5
		}
		out.RiskScore = p
		out.IsJailbreak = p >= thr
		out.Confidence = max(p, 1-p)
		if out.IsJailbreak {
			out.DetectionTypes = []string{"jailbreak"}
		}
	default:
		return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New("no jailbreak rules in the config and no jailbreak model loaded"))
	}
	if out.IsJailbreak {
		out.Recommendation = "block"
		out.Reasoning = "matched " + strings.Join(out.DetectionTypes, ", ")
	} else {
		out.Reasoning = "no jailbreak or prompt-injection pattern detected"
	}
	out.ProcessingTimeMs = time.Since(start).Milliseconds()
	return out, nil
}

func degradedErr(res *classifier.Result, f signal.Family) string {
	for _, d := range res.Degraded {
		if d.Family == f {
			return d.Err
		}
	}
	return ""
}

// RecordLatency feeds observations to the shared latency window.
func (h *Handler) RecordLatency(_ context.Context, r *connect.Request[classifierv1.RecordLatencyRequest]) (*connect.Response[classifierv1.RecordLatencyResponse], error) {
	n := 0
	for _, o := range r.Msg.GetObservations() {
		if obs, ok := toObservation(o, h.now()); ok {
			h.svc.Latency().Record(obs)
			h.metrics.latency()
			n++
		}
	}
	return connect.NewResponse(&classifierv1.RecordLatencyResponse{Accepted: int32(n)}), nil
}
