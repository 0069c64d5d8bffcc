package metrics

import "github.com/prometheus/client_golang/prometheus"

// Rate-limit series of the gateway (global.services.ratelimit).
const (
	// GatewayRateLimited counts requests refused by a rate limit, by rule
	// and provider (local-limiter, envoy-ratelimit).
	GatewayRateLimited = "semrouter_gateway_rate_limited_total"
	// GatewayRateLimitErrors counts rate limit provider failures (errors,
	// timeouts) by provider and outcome (allowed: fail_open let the
	// request through; refused: answered 503).
	GatewayRateLimitErrors = "semrouter_gateway_ratelimit_provider_errors_total"
)

// ReasonRateLimited is the llm_request_errors_total reason of a request
// refused by a rate limit (429) or because a rate limit provider failed
// with fail_open false (503).
const ReasonRateLimited = "rate_limited"

// Outcomes of semrouter_gateway_ratelimit_provider_errors_total.
const (
	RateLimitFailOpen   = "allowed"
	RateLimitFailClosed = "refused"
)

type rateLimitSeries struct {
	limited *prometheus.CounterVec
	errors  *prometheus.CounterVec
}

func newRateLimitSeries(r *registrar) rateLimitSeries {
	return rateLimitSeries{
		limited: counterVec(r, GatewayRateLimited, "Requests refused with 429 by a rate limit, by rule and provider (local-limiter, envoy-ratelimit).",
			"rule", "provider"),
		errors: counterVec(r, GatewayRateLimitErrors,
			"Rate limit provider failures (error or timeout), by provider and outcome (allowed: fail_open; refused: answered 503).",
			"provider", "outcome"),
	}
}

// RateLimited counts one request refused by rule of provider.
func (m *Gateway) RateLimited(rule, provider string) {
	if m != nil {
		m.rateLimit.limited.WithLabelValues(rule, provider).Inc()
	}
}

// RateLimitProviderError counts one failed rate limit check of provider;
// allowed says whether fail_open let the request through.
func (m *Gateway) RateLimitProviderError(provider string, allowed bool) {
	if m == nil {
		return
	}
	outcome := RateLimitFailClosed
	if allowed {
		outcome = RateLimitFailOpen
	}
	m.rateLimit.errors.WithLabelValues(provider, outcome).Inc()
}
