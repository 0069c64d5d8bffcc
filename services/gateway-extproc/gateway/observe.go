package gateway

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/semrouter/semrouter/pkg/metrics"
)

// Span names (the upstream router's span vocabulary).
const (
	SpanRequest     = "semantic_router.request.received"
	SpanCacheLookup = "semantic_router.cache.lookup"
	SpanUpstream    = "semantic_router.upstream.request"
)

// Span attribute keys.
const (
	AttrDecisionName       = "decision.name"
	AttrDecisionConfidence = "decision.confidence"
	AttrModelName          = "model.name"
	AttrOriginalModel      = "routing.original_model"
	AttrSelectedModel      = "routing.selected_model"
	AttrResponsePath       = "routing.response_path"
	AttrDegraded           = "routing.degraded"
	AttrRoutingLatencyMs   = "routing.latency_ms"
	AttrCacheHit           = "cache.hit"
	AttrCacheCandidates    = "cache.candidates"
	AttrCacheSimilarity    = "cache.similarity"
	AttrStatus             = "http.response.status_code"
)

const tracerName = "github.com/semrouter/semrouter/services/gateway-extproc/gateway"

// WithMetrics records the request-path series (llm_model_requests_total,
// TTFT/TPOT, cache hits, …) in m.
func WithMetrics(m *metrics.Gateway) Option { return func(g *Gateway) { g.metrics = m } }

// WithTracerProvider traces requests with tp (default: no tracing).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(g *Gateway) { g.tracer = tp.Tracer(tracerName) }
}

// WithPropagator extracts the caller's trace context in Begin and injects
// it into upstream requests (default: W3C trace context).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(g *Gateway) { g.propagator = p }
}

func defaultTracer() trace.Tracer { return noop.NewTracerProvider().Tracer(tracerName) }

// Begin starts the request span (semantic_router.request.received), a
// child of the trace context found in carrier (nil: a new trace), and
// returns ctx carrying it; pass that ctx to RequestBody so that the stage
// calls join the trace. End ends the span.
func (x *Exchange) Begin(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	if carrier != nil {
		ctx = x.g.propagator.Extract(ctx, carrier)
	}
	ctx, x.span = x.g.tracer.Start(ctx, SpanRequest, trace.WithSpanKind(trace.SpanKindServer))
	return ctx
}

// InjectTrace writes the trace context of ctx into h (upstream requests).
func (x *Exchange) InjectTrace(ctx context.Context, h http.Header) {
	x.g.propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// StartUpstream starts the semantic_router.upstream.request span around
// sending the request to its backends; call the returned function with
// the status the client gets (0: none) when the upstream exchange ends.
func (x *Exchange) StartUpstream(ctx context.Context) (context.Context, func(status int, err error)) {
	ctx, span := x.g.tracer.Start(ctx, SpanUpstream, trace.WithSpanKind(trace.SpanKindClient))
	return ctx, func(status int, err error) {
		if m := x.routed.target.Model; m != nil {
			span.SetAttributes(attribute.String(AttrSelectedModel, m.Name), attribute.String(AttrModelName, m.UpstreamModelID()))
		}
		if status > 0 {
			span.SetAttributes(attribute.Int(AttrStatus, status))
		}
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		} else if status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		span.End()
	}
}

// End finishes the exchange's accounting: the request span (with the
// decision, model, response path, cache and degradation attributes) and
// the per-request series. status is the HTTP status the client got (0:
// the upstream status seen by ResponseHeaders, if any). Calling End twice
// is a no-op.
func (x *Exchange) End(status int) {
	if x.ended {
		return
	}
	x.ended = true
	if status == 0 && x.resp.started {
		status = x.resp.status
	}
	x.recordReplay(status)
	r := &x.routed
	model, decision := "", ""
	if r.target.Model != nil {
		model = r.target.Model.Name
	}
	if r.decision != nil {
		decision = r.decision.Name
	}
	if x.req != nil {
		m := x.g.metrics
		m.Routed(decision, model, r.path)
		if x.auto {
			m.RoutingLatency(r.latency)
		}
		if r.path == "upstream" && model != "" {
			m.ModelRequest(model)
		}
		reason := x.errorReason(status)
		if reason != "" {
			m.RequestError(model, reason)
		}
		x.windowEnd(model, reason)
	} else if x.parseErr {
		x.g.metrics.RequestError("", metrics.ReasonParseError)
	}
	if x.win != nil {
		x.windowEnd("", "") // no request body: only the in-flight count ends
	}
	if x.span == nil {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 10)
	if x.req != nil {
		attrs = append(attrs, attribute.String(AttrOriginalModel, x.req.Model), attribute.String(AttrResponsePath, r.path),
			attribute.Bool(AttrCacheHit, r.cacheHit))
		if model != "" {
			attrs = append(attrs, attribute.String(AttrSelectedModel, model))
		}
		if r.decision != nil {
			attrs = append(attrs, attribute.String(AttrDecisionName, decision), attribute.Float64(AttrDecisionConfidence, r.decision.Confidence))
		}
		if x.auto {
			attrs = append(attrs, attribute.Float64(AttrRoutingLatencyMs, float64(r.latency.Microseconds())/1000))
		}
		if len(r.degraded) > 0 {
			attrs = append(attrs, attribute.String(AttrDegraded, strings.Join(r.degraded, ",")))
		}
	}
	if status > 0 {
		attrs = append(attrs, attribute.Int(AttrStatus, status))
		if status >= 500 {
			x.span.SetStatus(codes.Error, http.StatusText(status))
		}
	}
	x.span.SetAttributes(attrs...)
	x.span.End()
}

// errorReason classifies a failed request for llm_request_errors_total
// ("" when it did not fail).
func (x *Exchange) errorReason(status int) string {
	r := &x.routed
	if r.path == "blocked" && r.decision != nil && r.decision.Block != nil {
		switch r.decision.Block.Signal {
		case "jailbreak":
			return metrics.ReasonJailbreakBlock
		case "pii":
			return metrics.ReasonPIIDenied
		}
		return metrics.ReasonPolicyBlock
	}
	if r.path == PathError {
		return metrics.ReasonModelNotFound
	}
	if reason := x.errorReasonRateLimited(); reason != "" {
		return reason
	}
	if r.path == PathRejected && status >= 400 && status < 500 {
		return metrics.ReasonRejected
	}
	if r.clientGone {
		return metrics.ReasonCancellation
	}
	if r.upstreamFail != "" && status >= 500 {
		return r.upstreamFail
	}
	switch {
	case status == http.StatusGatewayTimeout:
		return metrics.ReasonTimeout
	case status == http.StatusBadGateway && !x.resp.started:
		return metrics.ReasonUpstreamFailed
	case status >= 500:
		return metrics.ReasonUpstream5xx
	case status >= 400:
		return metrics.ReasonUpstream4xx
	}
	return ""
}

// startCacheSpan starts the cache lookup span.
func (x *Exchange) startCacheSpan(ctx context.Context, decision string) context.Context {
	ctx, x.cacheSpan = x.g.tracer.Start(ctx, SpanCacheLookup, trace.WithAttributes(attribute.String(AttrDecisionName, decision)))
	return ctx
}

// endCacheSpan records the outcome of a lookup that was made.
func (x *Exchange) endCacheSpan(candidates int, err error) {
	s := x.cacheSpan
	if s == nil {
		return
	}
	x.cacheSpan = nil
	name := ""
	if x.routed.decision != nil {
		name = x.routed.decision.Name
	}
	x.g.metrics.CacheLookup(name, x.routed.cacheHit)
	s.SetAttributes(attribute.Bool(AttrCacheHit, x.routed.cacheHit), attribute.Int(AttrCacheCandidates, candidates))
	if x.routed.cacheHit {
		s.SetAttributes(attribute.Float64(AttrCacheSimilarity, float64(x.routed.similarity)))
	}
	if err != nil {
		s.RecordError(err)
		s.SetStatus(codes.Error, err.Error())
	}
	s.End()
}
