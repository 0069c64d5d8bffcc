package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Gateway metric names (upstream names where upstream has the series).
const (
	ModelRequests          = "llm_model_requests_total"
	RequestErrors          = "llm_request_errors_total"
	ModelPromptTokens      = "llm_model_prompt_tokens_total"
	ModelCompletionTokens  = "llm_model_completion_tokens_total"
	ModelTokens            = "llm_model_tokens_total"
	ModelCompletionLatency = "llm_model_completion_latency_seconds"
	ModelTTFT              = "llm_model_ttft_seconds"
	ModelTPOT              = "llm_model_tpot_seconds"
	ModelRoutingLatency    = "llm_model_routing_latency_seconds"
	CachePluginHits        = "llm_cache_plugin_hits_total"
	CachePluginMisses      = "llm_cache_plugin_misses_total"
	GatewayRoutedRequests  = "semrouter_gateway_routed_requests_total"
	GatewayStageDegraded   = "semrouter_gateway_stage_degraded_total"
	GatewayAttemptFailures = "semrouter_gateway_upstream_attempt_failures_total"
	GatewayEjections       = "semrouter_gateway_upstream_ejections_total"
	GatewayEjected         = "semrouter_gateway_upstream_ejected"
	GatewayServedReports   = "semrouter_gateway_cache_served_reports_total"
	GatewayLooperCalls     = "semrouter_gateway_looper_calls_total"
	GatewayLooperEscalate  = "semrouter_gateway_looper_escalations_total"
)

// Outcomes of semrouter_gateway_cache_served_reports_total.
const (
	// ServedReportSent: delivered at the first attempt.
	ServedReportSent = "sent"
	// ServedReportRetried: delivered by a retry.
	ServedReportRetried = "retried"
	// ServedReportRefused: the cache answered Unimplemented (a replica
	// that predates served reports); reports pause, then are probed again.
	ServedReportRefused = "refused"
	// ServedReportDroppedFull: lost, and the retry buffer was full.
	ServedReportDroppedFull = "dropped_full"
	// ServedReportDroppedExpired: still undelivered at the end of the
	// retry window.
	ServedReportDroppedExpired = "dropped_expired"
	// ServedReportFailed: the cache rejected the report (not retried).
	ServedReportFailed = "failed"
)

// Error reasons of llm_request_errors_total (upstream vocabulary).
const (
	ReasonJailbreakBlock = "jailbreak_block"
	ReasonPIIDenied      = "pii_policy_denied"
	ReasonPolicyBlock    = "policy_block"
	ReasonParseError     = "parse_error"
	// ReasonModelNotFound: the request named a model the router does not
	// serve (answered 404 before routing).
	ReasonModelNotFound = "model_not_found"
	// ReasonRejected: the router answered a routed request itself with a
	// 4xx because no candidate model can take it (context window,
	// image input) or a request control was invalid.
	ReasonRejected       = "request_rejected"
	ReasonUpstream4xx    = "upstream_4xx"
	ReasonUpstream5xx    = "upstream_5xx"
	ReasonUpstreamFailed = "upstream_unreachable"
	ReasonTimeout        = "timeout"
	ReasonCancellation   = "cancellation"
)

// PluginSemanticCache is the plugin_type of the response cache in the
// llm_cache_plugin_* series.
const PluginSemanticCache = "semantic-cache"

// Gateway holds the gateway's request-path series. A nil *Gateway records
// nothing.
type Gateway struct {
	requests         *prometheus.CounterVec
	errors           *prometheus.CounterVec
	promptTokens     *prometheus.CounterVec
	completionTokens *prometheus.CounterVec
	tokens           *prometheus.CounterVec
	completion       *prometheus.HistogramVec
	ttft             *prometheus.HistogramVec
	tpot             *prometheus.HistogramVec
	routing          prometheus.Histogram
	cacheHits        *prometheus.CounterVec
	cacheMisses      *prometheus.CounterVec
	routed           *prometheus.CounterVec
	degraded         *prometheus.CounterVec
	attemptFailures  *prometheus.CounterVec
	ejections        *prometheus.CounterVec
	ejected          *prometheus.GaugeVec
	servedReports    *prometheus.CounterVec
	looperCalls      *prometheus.CounterVec
	looperEscalate   *prometheus.CounterVec
	rateLimit        rateLimitSeries // ratelimit.go
	hallucination    *prometheus.CounterVec
	replayDropped    *prometheus.CounterVec
	windows          *windowSeries          // windows.go
	sticky           *prometheus.CounterVec // sticky.go
	cost             *costSeries            // cost.go
	imageGen         *prometheus.CounterVec // imagegen.go
}

// NewGateway registers the gateway series in reg (nil: returns nil).
func NewGateway(reg prometheus.Registerer) (*Gateway, error) {
	if reg == nil {
		return nil, nil
	}
	r := &registrar{reg: reg}
	m := &Gateway{
		requests: counterVec(r, ModelRequests, "Requests sent to each LLM model (routed or named by the client).", "model"),
		errors: counterVec(r, RequestErrors,
			"Request errors by model and reason (jailbreak_block, pii_policy_denied, parse_error, upstream_5xx, timeout, rate_limited, …).", "model", "reason"),
		promptTokens:     counterVec(r, ModelPromptTokens, "Prompt tokens reported by each LLM model.", "model"),
		completionTokens: counterVec(r, ModelCompletionTokens, "Completion tokens reported by each LLM model.", "model"),
		tokens:           counterVec(r, ModelTokens, "Prompt plus completion tokens reported by each LLM model.", "model"),
		completion: histogramVec(r, ModelCompletionLatency, "Time from request arrival to the end of the upstream response, by model.",
			latencyBuckets, "model"),
		ttft: histogramVec(r, ModelTTFT, "Time to first token (streaming) or to the response headers, by model.", latencyBuckets, "model"),
		tpot: histogramVec(r, ModelTPOT, "Mean time per output token after the first, by model.",
			[]float64{0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28}, "model"),
		routing: histogram(r, ModelRoutingLatency, "Time the router spent choosing the model (embed, classify, cache lookup).", latencyBuckets),
		cacheHits: counterVec(r, CachePluginHits, "Response-cache hits seen by the gateway, by decision and plugin type.",
			"decision_name", "plugin_type"),
		cacheMisses: counterVec(r, CachePluginMisses, "Response-cache misses seen by the gateway, by decision and plugin type.",
			"decision_name", "plugin_type"),
		routed: counterVec(r, GatewayRoutedRequests,
			"Chat requests the gateway answered, by decision (\"\" = none), model and response path (upstream, cache, blocked, fast_response; error: refused before routing, e.g. an unknown model).",
			"decision_name", "model", "path"),
		degraded: counterVec(r, GatewayStageDegraded, "Router stages that degraded (unavailable, late or failing), by stage.", "stage"),
		attemptFailures: counterVec(r, GatewayAttemptFailures,
			"API-mode upstream attempts that failed, by model, backend and reason (upstream_unreachable, timeout, upstream_5xx, upstream_4xx for 429).",
			"model", "backend", "reason"),
		ejections: counterVec(r, GatewayEjections, "API-mode backends ejected by passive outlier detection, by model and backend.", "model", "backend"),
		ejected:   gaugeVec(r, GatewayEjected, "1 while an API-mode backend is ejected by passive outlier detection, else 0.", "model", "backend"),
		servedReports: counterVec(r, GatewayServedReports,
			"Served reports (CacheService/Served) by outcome: sent, retried, refused, dropped_full, dropped_expired, failed.", "outcome"),
		hallucination: newHallucinationSeries(r),
		looperCalls: counterVec(r, GatewayLooperCalls,
			"API-mode sub-calls of the multi-call algorithms (confidence, automix, fusion), by algorithm, model and outcome (ok, failed).",
			"algorithm", "model", "outcome"),
		looperEscalate: counterVec(r, GatewayLooperEscalate,
			"API-mode escalations to a next model by the cascade algorithms (confidence, automix), by algorithm.", "algorithm"),
		rateLimit: newRateLimitSeries(r),
		replayDropped: counterVec(r, GatewayReplayDropped,
			"router_replay records lost on the way to the shared store, by reason (queue_full, write_failed).", "reason"),
		windows:  newWindowSeries(r),
		sticky:   newStickySeries(r),
		cost:     newCostSeries(r),
		imageGen: newImageGenSeries(r),
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

// ModelRequest counts one request sent to model.
func (m *Gateway) ModelRequest(model string) {
	if m != nil {
		m.requests.WithLabelValues(model).Inc()
	}
}

// RequestError counts one failed request.
func (m *Gateway) RequestError(model, reason string) {
	if m != nil {
		m.errors.WithLabelValues(model, reason).Inc()
	}
}

// UpstreamAttemptFailed counts one failed upstream attempt of model on
// backend.
func (m *Gateway) UpstreamAttemptFailed(model, backend, reason string) {
	if m != nil {
		m.attemptFailures.WithLabelValues(model, backend, reason).Inc()
	}
}

// UpstreamEjected records that backend of model was ejected (true) or
// returned to rotation (false).
func (m *Gateway) UpstreamEjected(model, backend string, ejected bool) {
	if m == nil {
		return
	}
	if ejected {
		m.ejections.WithLabelValues(model, backend).Inc()
		m.ejected.WithLabelValues(model, backend).Set(1)
		return
	}
	m.ejected.WithLabelValues(model, backend).Set(0)
}

// ServedReport counts one served report outcome (ServedReport*).
func (m *Gateway) ServedReport(outcome string) {
	if m != nil {
		m.servedReports.WithLabelValues(outcome).Inc()
	}
}

// RoutingLatency observes the time spent choosing a model.
func (m *Gateway) RoutingLatency(d time.Duration) {
	if m != nil {
		m.routing.Observe(d.Seconds())
	}
}

// Routed counts one answered chat request.
func (m *Gateway) Routed(decision, model, path string) {
	if m != nil {
		m.routed.WithLabelValues(decision, model, path).Inc()
	}
}

// CacheLookup counts one response-cache lookup outcome for decision.
func (m *Gateway) CacheLookup(decision string, hit bool) {
	if m == nil {
		return
	}
	if hit {
		m.cacheHits.WithLabelValues(decision, PluginSemanticCache).Inc()
	} else {
		m.cacheMisses.WithLabelValues(decision, PluginSemanticCache).Inc()
	}
}

// StageDegraded counts one degraded router stage.
func (m *Gateway) StageDegraded(stage string) {
	if m != nil {
		m.degraded.WithLabelValues(stage).Inc()
	}
}

// Completion records one finished upstream response of model: total
// latency, TTFT, TPOT (when > 0) and token usage.
func (m *Gateway) Completion(model string, total, ttft, tpot time.Duration, promptTokens, completionTokens int64) {
	if m == nil {
		return
	}
	m.completion.WithLabelValues(model).Observe(total.Seconds())
	if ttft > 0 {
		m.ttft.WithLabelValues(model).Observe(ttft.Seconds())
	}
	if tpot > 0 {
		m.tpot.WithLabelValues(model).Observe(tpot.Seconds())
	}
	if promptTokens > 0 {
		m.promptTokens.WithLabelValues(model).Add(float64(promptTokens))
	}
	if completionTokens > 0 {
		m.completionTokens.WithLabelValues(model).Add(float64(completionTokens))
	}
	if promptTokens+completionTokens > 0 {
		m.tokens.WithLabelValues(model).Add(float64(promptTokens + completionTokens))
	}
}
