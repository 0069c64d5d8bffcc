package metrics

// LooperCall counts one sub-call of a multi-call algorithm to model;
// outcome is ok or failed. The labels are bounded by the config (algorithm
// types, configured models).
func (m *Gateway) LooperCall(algorithm, model, outcome string) {
	if m != nil {
		m.looperCalls.WithLabelValues(algorithm, model, outcome).Inc()
	}
}

// LooperEscalation counts one escalation of a cascade algorithm to its
// next model.
func (m *Gateway) LooperEscalation(algorithm string) {
	if m != nil {
		m.looperEscalate.WithLabelValues(algorithm).Inc()
	}
}
