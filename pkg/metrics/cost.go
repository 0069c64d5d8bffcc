package metrics

import "github.com/prometheus/client_golang/prometheus"

// Cost series. Amounts are in the currency of the model's pricing block
// (the currency label); the router never converts between currencies.
const (
	// ModelCost is upstream's name: the running cost attributed to each
	// model, computed from the reported token usage and the model's
	// providers.models[].pricing.
	ModelCost = "llm_model_cost_total"
	// GatewayDecisionCost is the cost of the requests each decision
	// served upstream (a multi-call algorithm counts every sub-call).
	GatewayDecisionCost = "semrouter_gateway_decision_cost_total"
	// GatewayCacheSavedCost is what the answers served from the response
	// cache cost when they were generated (priced with the serving model's
	// current pricing).
	GatewayCacheSavedCost = "semrouter_gateway_cache_saved_cost_total"
	// GatewayCostUnknown counts answers of a priced model whose usage was
	// not reported (a stream without stream_options.include_usage, a cut
	// or unreadable answer): they have no cost in the series above.
	GatewayCostUnknown = "semrouter_gateway_cost_unknown_total"
)

type costSeries struct {
	model, decision, saved *prometheus.CounterVec
	unknown                *prometheus.CounterVec
}

func newCostSeries(r *registrar) *costSeries {
	return &costSeries{
		model: counterVec(r, ModelCost,
			"Cost of the upstream calls of each model, from reported token usage and the model's pricing, by model and currency.",
			"model", "currency"),
		decision: counterVec(r, GatewayDecisionCost,
			"Cost of the upstream calls made for each decision (every sub-call of a multi-call algorithm), by decision and currency.",
			"decision_name", "currency"),
		saved: counterVec(r, GatewayCacheSavedCost,
			"Cost the response cache saved: what the cached answers cost when they were generated, by decision and currency.",
			"decision_name", "currency"),
		unknown: counterVec(r, GatewayCostUnknown,
			"Answers of a priced model that reported no token usage (no cost recorded), by model.", "model"),
	}
}

// ModelCost adds amount (in currency) to model's running cost.
func (m *Gateway) ModelCost(model, currency string, amount float64) {
	if m != nil && amount >= 0 {
		m.cost.model.WithLabelValues(model, currency).Add(amount)
	}
}

// DecisionCost adds amount (in currency) to decision's running cost.
func (m *Gateway) DecisionCost(decision, currency string, amount float64) {
	if m != nil && amount >= 0 {
		m.cost.decision.WithLabelValues(decision, currency).Add(amount)
	}
}

// CacheSavedCost adds amount (in currency) to what the response cache
// saved for decision.
func (m *Gateway) CacheSavedCost(decision, currency string, amount float64) {
	if m != nil && amount >= 0 {
		m.cost.saved.WithLabelValues(decision, currency).Add(amount)
	}
}

// CostUnknown counts one answer of a priced model without usage.
func (m *Gateway) CostUnknown(model string) {
	if m != nil {
		m.cost.unknown.WithLabelValues(model).Inc()
	}
}
