package metrics

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Windowed model series (global.services.observability.metrics.
// windowed_metrics): gauges over the recent time windows, read from the
// gateway's windows at each scrape. The aggregates are recomputed at most
// once per update_interval; the in-flight counts are exact at the scrape.
const (
	// GatewayWindowRequests: requests of model that finished in window.
	GatewayWindowRequests = "semrouter_gateway_window_requests"
	// GatewayWindowRequestRate: those requests per second.
	GatewayWindowRequestRate = "semrouter_gateway_window_request_rate"
	// GatewayWindowErrorRatio: the share of them that failed.
	GatewayWindowErrorRatio = "semrouter_gateway_window_error_ratio"
	// GatewayWindowLatency: latency quantiles (0.5, 0.95, 0.99).
	GatewayWindowLatency = "semrouter_gateway_window_latency_seconds"
	// GatewayWindowTTFT and GatewayWindowTPOT: quantiles (0.5, 0.95) of
	// streamed responses.
	GatewayWindowTTFT = "semrouter_gateway_window_ttft_seconds"
	GatewayWindowTPOT = "semrouter_gateway_window_tpot_seconds"
	// GatewayWindowTokenRate: completion tokens per second.
	GatewayWindowTokenRate = "semrouter_gateway_window_completion_tokens_per_second"
	// GatewayInflight: requests forwarded upstream and not finished.
	GatewayInflight = "semrouter_gateway_inflight_requests"
	// GatewayQueueEstimate: estimated queue wait of a new request.
	GatewayQueueEstimate = "semrouter_gateway_estimated_queue_seconds"
)

// WindowRow is one model × window of the windowed series. A nil quantile
// slice means nothing was observed (the series is left out).
type WindowRow struct {
	Model, Window   string
	Requests        float64
	RequestRate     float64
	ErrorRatio      float64
	TokensPerSecond float64
	// Latency holds the 0.5, 0.95 and 0.99 quantiles; TTFT and TPOT the
	// 0.5 and 0.95 quantiles.
	Latency, TTFT, TPOT []float64
}

// ModelLoad is one model's in-flight requests and queue estimate.
type ModelLoad struct {
	Model        string
	InFlight     float64
	QueueSeconds float64
}

// WindowSeries is what one scrape exports.
type WindowSeries struct {
	Rows []WindowRow
	// Load is empty unless queue_depth_estimation is on.
	Load []ModelLoad
}

// WindowSource supplies the windowed series at each scrape.
type WindowSource interface {
	WindowSeries() WindowSeries
}

// windowSeries is the collector of the windowed series.
type windowSeries struct {
	requests, rate, errRatio, tokens, latency, ttft, tpot, inflight, queue *prometheus.Desc

	mu  sync.Mutex
	src WindowSource
}

var _ prometheus.Collector = (*windowSeries)(nil)

var (
	latencyQuantiles = []string{"0.5", "0.95", "0.99"}
	streamQuantiles  = latencyQuantiles[:2]
)

func newWindowSeries(r *registrar) *windowSeries {
	mw := []string{"model", "window"}
	mwq := []string{"model", "window", "quantile"}
	c := &windowSeries{
		requests: prometheus.NewDesc(GatewayWindowRequests, "Requests sent upstream to each model that finished in the window.", mw, nil),
		rate:     prometheus.NewDesc(GatewayWindowRequestRate, "Requests per second of each model over the window.", mw, nil),
		errRatio: prometheus.NewDesc(GatewayWindowErrorRatio,
			"Share of each model's requests in the window that failed (llm_request_errors_total reasons, cancellations excluded).", mw, nil),
		tokens: prometheus.NewDesc(GatewayWindowTokenRate, "Completion tokens per second of each model over the window.", mw, nil),
		latency: prometheus.NewDesc(GatewayWindowLatency,
			"Latency quantiles (0.5, 0.95, 0.99) of each model's responses in the window, from request arrival to the end of the response.", mwq, nil),
		ttft:     prometheus.NewDesc(GatewayWindowTTFT, "Time-to-first-token quantiles (0.5, 0.95) of each model's streamed responses in the window.", mwq, nil),
		tpot:     prometheus.NewDesc(GatewayWindowTPOT, "Time-per-output-token quantiles (0.5, 0.95) of each model's streamed responses in the window.", mwq, nil),
		inflight: prometheus.NewDesc(GatewayInflight, "Requests forwarded upstream to each model and not finished (exact at the scrape).", []string{"model"}, nil),
		queue: prometheus.NewDesc(GatewayQueueEstimate,
			"Estimated queue wait of a new request to each model: max(0, in_flight - rate*mean_latency) / rate over the smallest window with responses.",
			[]string{"model"}, nil),
	}
	got, err := register(r.reg, prometheus.Collector(c))
	r.err = errors.Join(r.err, err)
	if existing, ok := got.(*windowSeries); ok {
		return existing
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *windowSeries) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.rate, c.errRatio, c.tokens, c.latency, c.ttft, c.tpot, c.inflight, c.queue} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *windowSeries) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	src := c.src
	c.mu.Unlock()
	if src == nil {
		return
	}
	s := src.WindowSeries()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	quantiles := func(d *prometheus.Desc, vs []float64, names []string, model, window string) {
		for i, v := range vs {
			if i < len(names) {
				gauge(d, v, model, window, names[i])
			}
		}
	}
	for _, r := range s.Rows {
		gauge(c.requests, r.Requests, r.Model, r.Window)
		gauge(c.rate, r.RequestRate, r.Model, r.Window)
		gauge(c.errRatio, r.ErrorRatio, r.Model, r.Window)
		gauge(c.tokens, r.TokensPerSecond, r.Model, r.Window)
		quantiles(c.latency, r.Latency, latencyQuantiles, r.Model, r.Window)
		quantiles(c.ttft, r.TTFT, streamQuantiles, r.Model, r.Window)
		quantiles(c.tpot, r.TPOT, streamQuantiles, r.Model, r.Window)
	}
	for _, l := range s.Load {
		gauge(c.inflight, l.InFlight, l.Model)
		gauge(c.queue, l.QueueSeconds, l.Model)
	}
}

// SetWindowSource makes the windowed series read src at each scrape (nil:
// no windowed series, windowed_metrics is off).
func (m *Gateway) SetWindowSource(src WindowSource) {
	if m == nil || m.windows == nil {
		return
	}
	m.windows.mu.Lock()
	m.windows.src = src
	m.windows.mu.Unlock()
}
