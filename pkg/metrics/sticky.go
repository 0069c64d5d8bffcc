package metrics

import "github.com/prometheus/client_golang/prometheus"

// GatewaySticky counts what model switch protection
// (global.router.learning.protection) did per routed turn, by decision
// and outcome: new (the turn's model was pinned), pinned (the
// conversation stayed on its model), switched (the pin moved) or
// store_error (the pin store failed: the turn was routed without
// stickiness, or its pin could not be written).
const GatewaySticky = "semrouter_gateway_sticky_total"

// Outcomes of semrouter_gateway_sticky_total besides the policy's own
// (new, pinned, switched).
const StickyStoreError = "store_error"

func newStickySeries(r *registrar) *prometheus.CounterVec {
	return counterVec(r, GatewaySticky,
		"Model switch protection per routed turn, by decision and outcome (new, pinned, switched, store_error).",
		"decision_name", "outcome")
}

// Sticky counts one outcome of model switch protection.
func (m *Gateway) Sticky(decision, outcome string) {
	if m != nil {
		m.sticky.WithLabelValues(decision, outcome).Inc()
	}
}
