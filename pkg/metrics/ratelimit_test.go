package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/metrics"
)

func TestRateLimitSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	g, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	g.RateLimited("per-user", "local-limiter")
	g.RateLimited("per-user", "local-limiter")
	g.RateLimitProviderError("envoy-ratelimit", true)
	g.RateLimitProviderError("envoy-ratelimit", false)
	g.RequestError("m1", metrics.ReasonRateLimited)
	var nilGateway *metrics.Gateway
	nilGateway.RateLimited("r", "p") // a nil *Gateway records nothing
	nilGateway.RateLimitProviderError("p", true)
	for _, tc := range []struct {
		name, metric, want string
	}{
		{"refusals by rule", metrics.GatewayRateLimited, `semrouter_gateway_rate_limited_total{provider="local-limiter",rule="per-user"} 2`},
		{"fail open", metrics.GatewayRateLimitErrors, `semrouter_gateway_ratelimit_provider_errors_total{outcome="allowed",provider="envoy-ratelimit"} 1`},
		{"fail closed", metrics.GatewayRateLimitErrors, `semrouter_gateway_ratelimit_provider_errors_total{outcome="refused",provider="envoy-ratelimit"} 1`},
		{"error reason", metrics.RequestErrors, `llm_request_errors_total{model="m1",reason="rate_limited"} 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exposition(t, reg, tc.metric); !strings.Contains(got, tc.want+"\n") {
				t.Errorf("want %q in\n%s", tc.want, got)
			}
		})
	}
}
