package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Classifier metric names (upstream names).
const (
	SignalExtractionLatency   = "llm_signal_extraction_latency_seconds"
	SignalMatch               = "llm_signal_match_total"
	DecisionEvaluations       = "llm_decision_evaluation_total"
	DecisionEvaluationLatency = "llm_decision_evaluation_latency_seconds"
	DecisionMatch             = "llm_decision_match_total"
	DecisionConfidence        = "llm_decision_confidence"
)

// Classifier holds the signal and decision series. A nil *Classifier
// records nothing.
type Classifier struct {
	signalLatency *prometheus.HistogramVec
	signalMatch   *prometheus.CounterVec
	evaluations   prometheus.Counter
	decisionLat   prometheus.Histogram
	decisionMatch *prometheus.CounterVec
	confidence    *prometheus.HistogramVec
}

// NewClassifier registers the classifier series in reg (nil: returns nil).
func NewClassifier(reg prometheus.Registerer) (*Classifier, error) {
	if reg == nil {
		return nil, nil
	}
	r := &registrar{reg: reg}
	m := &Classifier{
		signalLatency: histogramVec(r, SignalExtractionLatency,
			"Time to evaluate the signal families of a request, by signal_type (heuristic: keyword, structure, pii, jailbreak, …; embedding: embedding, domain, complexity, …).",
			fastBuckets, "signal_type"),
		signalMatch: counterVec(r, SignalMatch, "Signal rules that matched, by signal type (family) and rule name.", "signal_type", "signal_name"),
		evaluations: counter(r, DecisionEvaluations, "Decision evaluations."),
		decisionLat: histogram(r, DecisionEvaluationLatency, "Time to evaluate projections and decisions.", fastBuckets),
		decisionMatch: counterVec(r, DecisionMatch, "Decisions that matched, by decision name (\"\" = none: the default model).",
			"decision_name"),
		confidence: histogramVec(r, DecisionConfidence, "Confidence of the matched decision, by decision name.",
			[]float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}, "decision_name"),
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

// SignalLatency observes the evaluation time of one signal group.
func (m *Classifier) SignalLatency(signalType string, d time.Duration) {
	if m != nil {
		m.signalLatency.WithLabelValues(signalType).Observe(d.Seconds())
	}
}

// SignalMatched counts one matched signal rule.
func (m *Classifier) SignalMatched(signalType, name string) {
	if m != nil {
		m.signalMatch.WithLabelValues(signalType, name).Inc()
	}
}

// Decision records one decision evaluation: its latency and, when matched
// is true, the decision and its confidence.
func (m *Classifier) Decision(name string, matched bool, confidence float64, d time.Duration) {
	if m == nil {
		return
	}
	m.evaluations.Inc()
	m.decisionLat.Observe(d.Seconds())
	m.decisionMatch.WithLabelValues(name).Inc()
	if matched {
		m.confidence.WithLabelValues(name).Observe(confidence)
	}
}
