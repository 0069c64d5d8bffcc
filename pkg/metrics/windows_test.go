package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/metrics"
)

// windowSource is a fixed metrics.WindowSource.
type windowSource struct{ s metrics.WindowSeries }

func (w windowSource) WindowSeries() metrics.WindowSeries { return w.s }

var _ metrics.WindowSource = windowSource{}

func TestWindowSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	g, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := exposition(t, reg, metrics.GatewayWindowRequests); got != "" {
		t.Errorf("series before a source is set:\n%s", got)
	}
	g.SetWindowSource(windowSource{metrics.WindowSeries{
		Rows: []metrics.WindowRow{
			{Model: "m1", Window: "1m", Requests: 12, RequestRate: 0.2, ErrorRatio: 0.25, TokensPerSecond: 40,
				Latency: []float64{0.5, 1.5, 2}, TTFT: []float64{0.1, 0.3}, TPOT: []float64{0.01, 0.02}},
			{Model: "m2", Window: "5m", Requests: 1},
		},
		Load: []metrics.ModelLoad{{Model: "m1", InFlight: 3, QueueSeconds: 1.5}},
	}})
	var nilGateway *metrics.Gateway
	nilGateway.SetWindowSource(nil) // a nil *Gateway records nothing
	for _, tc := range []struct {
		name, metric, want string
	}{
		{"requests", metrics.GatewayWindowRequests, `semrouter_gateway_window_requests{model="m1",window="1m"} 12`},
		{"requests of a quiet model", metrics.GatewayWindowRequests, `semrouter_gateway_window_requests{model="m2",window="5m"} 1`},
		{"rate", metrics.GatewayWindowRequestRate, `semrouter_gateway_window_request_rate{model="m1",window="1m"} 0.2`},
		{"errors", metrics.GatewayWindowErrorRatio, `semrouter_gateway_window_error_ratio{model="m1",window="1m"} 0.25`},
		{"tokens", metrics.GatewayWindowTokenRate, `semrouter_gateway_window_completion_tokens_per_second{model="m1",window="1m"} 40`},
		{"p99", metrics.GatewayWindowLatency, `semrouter_gateway_window_latency_seconds{model="m1",quantile="0.99",window="1m"} 2`},
		{"ttft p95", metrics.GatewayWindowTTFT, `semrouter_gateway_window_ttft_seconds{model="m1",quantile="0.95",window="1m"} 0.3`},
		{"tpot p50", metrics.GatewayWindowTPOT, `semrouter_gateway_window_tpot_seconds{model="m1",quantile="0.5",window="1m"} 0.01`},
		{"in flight", metrics.GatewayInflight, `semrouter_gateway_inflight_requests{model="m1"} 3`},
		{"queue", metrics.GatewayQueueEstimate, `semrouter_gateway_estimated_queue_seconds{model="m1"} 1.5`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exposition(t, reg, tc.metric); !strings.Contains(got, tc.want+"\n") {
				t.Errorf("want %q in\n%s", tc.want, got)
			}
		})
	}
	if got := exposition(t, reg, metrics.GatewayWindowLatency); strings.Contains(got, `model="m2"`) {
		t.Errorf("latency quantiles of a model without responses:\n%s", got)
	}
	// A second NewGateway on the same registry shares the collector.
	g2, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	g2.SetWindowSource(nil)
	if got := exposition(t, reg, metrics.GatewayWindowRequests); got != "" {
		t.Errorf("series after the source was cleared:\n%s", got)
	}
}
