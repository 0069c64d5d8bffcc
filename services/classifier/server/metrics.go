package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	pkgmetrics "github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/classifier/classifier"
)

// Metrics are the classifier's Prometheus metrics: its own
// semrouter_classifier_* series plus the shared signal/decision series
// (llm_signal_extraction_latency_seconds, llm_decision_match_total, …) and
// the NATS RPC histograms.
type Metrics struct {
	gatherer  prometheus.Gatherer
	requests  *prometheus.CounterVec
	duration  prometheus.Histogram
	degraded  *prometheus.CounterVec
	revision  prometheus.Gauge
	latencies prometheus.Counter
	shared    *pkgmetrics.Classifier
	rpc       *pkgmetrics.RPC
	batch     *pkgmetrics.Batch
}

// NewMetrics registers the metrics (plus Go and process collectors) in a
// fresh registry, served by Handler.
func NewMetrics() *Metrics {
	reg := pkgmetrics.NewRegistry()
	m, err := NewMetricsWith(reg)
	if err != nil {
		// A fresh registry holds nothing that could collide.
		panic(err)
	}
	m.gatherer = reg
	return m
}

// NewMetricsWith registers the metrics in reg (semrouter serve passes one
// registry to every service). Handler serves reg when it is a Gatherer.
func NewMetricsWith(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
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
	var errs []error
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.degraded, m.revision, m.latencies} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	var err error
	m.shared, err = pkgmetrics.NewClassifier(reg)
	errs = append(errs, err)
	m.rpc, err = pkgmetrics.NewRPC(reg)
	errs = append(errs, err)
	m.batch, err = pkgmetrics.NewBatch(reg)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	}
	return m, nil
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler { return pkgmetrics.Handler(m.gatherer) }

// RPC is the NATS RPC series (nil for a nil *Metrics).
func (m *Metrics) RPC() *pkgmetrics.RPC {
	if m == nil {
		return nil
	}
	return m.rpc
}

// batchSeries is the batch classification series (nil for a nil
// *Metrics).
func (m *Metrics) batchSeries() *pkgmetrics.Batch {
	if m == nil {
		return nil
	}
	return m.batch
}

// signalType maps a classifier stage timing to the signal_type label.
func signalType(stage string) (string, bool) {
	switch stage {
	case "signals/heuristic":
		return "heuristic", true
	case "signals/embedding":
		return "embedding", true
	}
	return "", false
}

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
	var decisions time.Duration
	for _, t := range res.Timings {
		if st, ok := signalType(t.Stage); ok {
			m.shared.SignalLatency(st, t.Duration)
		} else if t.Stage == "decisions" {
			decisions = t.Duration
		}
	}
	for _, s := range res.Signals {
		if s.Matched {
			m.shared.SignalMatched(string(s.Family), s.Name)
		}
	}
	m.shared.Decision(res.Decision, !res.IsDefault, res.Confidence, decisions)
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
