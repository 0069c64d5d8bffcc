package metrics

import "github.com/prometheus/client_golang/prometheus"

// GatewayHallucinationVerdicts counts the hallucination plugin's checks
// of answers, by decision and verdict.
const GatewayHallucinationVerdicts = "semrouter_gateway_hallucination_verdicts_total"

// Verdicts of semrouter_gateway_hallucination_verdicts_total.
const (
	// HallucinationGrounded: checked against the context, nothing flagged.
	HallucinationGrounded = "grounded"
	// HallucinationDetected: checked, unsupported claims flagged.
	HallucinationDetected = "hallucination_detected"
	// HallucinationUnverified: fact-check flagged, no context to check.
	HallucinationUnverified = "unverified_factual"
	// HallucinationSkipped: the answer could not be checked (too large,
	// not readable).
	HallucinationSkipped = "skipped"
)

func newHallucinationSeries(r *registrar) *prometheus.CounterVec {
	return counterVec(r, GatewayHallucinationVerdicts,
		"Answers checked by the hallucination plugin, by decision and verdict (grounded, hallucination_detected, unverified_factual, skipped).",
		"decision_name", "verdict")
}

// HallucinationVerdict counts one verdict of the hallucination plugin.
func (m *Gateway) HallucinationVerdict(decision, verdict string) {
	if m != nil {
		m.hallucination.WithLabelValues(decision, verdict).Inc()
	}
}
