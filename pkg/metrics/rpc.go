package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// NATS RPC metric names.
const (
	RPCClientDuration = "semrouter_natsrpc_client_duration_seconds"
	RPCServerDuration = "semrouter_natsrpc_server_duration_seconds"
)

// RPC holds the Connect-over-NATS round-trip series, shared by every
// natsrpc client and server of a process. A nil *RPC records nothing.
type RPC struct {
	client *prometheus.HistogramVec
	server *prometheus.HistogramVec
}

// NewRPC registers the RPC series in reg (nil: returns nil).
func NewRPC(reg prometheus.Registerer) (*RPC, error) {
	if reg == nil {
		return nil, nil
	}
	r := &registrar{reg: reg}
	m := &RPC{
		client: histogramVec(r, RPCClientDuration,
			"Round trip of a Connect call over NATS as the caller sees it, by procedure and code (ok, a Connect code, or http_<status>).",
			fastBuckets, "procedure", "code"),
		server: histogramVec(r, RPCServerDuration,
			"Time a natsrpc server spent handling one request, by procedure and code (ok or http_<status>).",
			fastBuckets, "procedure", "code"),
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

// Client observes one client round trip.
func (m *RPC) Client(procedure, code string, d time.Duration) {
	if m != nil {
		m.client.WithLabelValues(procedure, code).Observe(d.Seconds())
	}
}

// Server observes one handled request.
func (m *RPC) Server(procedure, code string, d time.Duration) {
	if m != nil {
		m.server.WithLabelValues(procedure, code).Observe(d.Seconds())
	}
}
