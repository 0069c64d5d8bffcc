package server

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/semrouter/semrouter/services/classifier/classifier"
)

// Metrics are the classifier's Prometheus metrics, in their own registry.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  prometheus.Histogram
	degraded  *prometheus.CounterVec
	revision  prometheus.Gauge
	latencies prometheus.Counter
}

// NewMetrics registers the metrics (plus Go and process collectors) in a
// fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "semrouter_classifier_requests_total", Help: "Classifications by decision (\"\" = default model) and outcome.",
		}, []string{"decision", "outcome"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "semrouter_classifier_duration_seconds", Help: "Time to classify one request (signals, projections, decisions).",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1},
		}),
		degraded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "semrouter_classifier_degraded_total", Help: "Signal families that could not be evaluated, by family.",
		}, []string{"family"}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "semrouter_classifier_config_revision", Help: "Config revision being served.",
		}),
		latencies: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "semrouter_classifier_latency_observations_total", Help: "Latency observations recorded.",
		}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.degraded, m.revision, m.latencies,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

func (m *Metrics) observe(res *classifier.Result, err error, d time.Duration) {
	if m == nil {
		return
	}
	m.duration.Observe(d.Seconds())
	if err != nil {
		m.requests.WithLabelValues("", "error").Inc()
		return
	}
	m.requests.WithLabelValues(res.Decision, "ok").Inc()
	for _, dg := range res.Degraded {
		if dg.Family != "" {
			m.degraded.WithLabelValues(string(dg.Family)).Inc()
		}
	}
}

func (m *Metrics) setRevision(rev uint64) {
	if m != nil {
		m.revision.Set(float64(rev))
	}
}

func (m *Metrics) latency() {
	if m != nil {
		m.latencies.Inc()
	}
}
