package metrics

// GatewayReplayDropped counts router_replay records a gateway could not
// write to the shared replay store (global.services.router_replay), by
// reason: queue_full (the async queue was full) or write_failed (the
// store was down, slow or refused the write).
const GatewayReplayDropped = "semrouter_gateway_replay_dropped_total"

// ReplayDropped counts one record lost for reason.
func (m *Gateway) ReplayDropped(reason string) {
	if m != nil {
		m.replayDropped.WithLabelValues(reason).Inc()
	}
}
