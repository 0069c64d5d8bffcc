package service

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	pkgmetrics "github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
)

// metrics are the gateway's config series. A nil *metrics records
// nothing.
type metrics struct {
	revision prometheus.Gauge
	configs  *prometheus.CounterVec
	// listenerUp is 1 while an API listener serves the address of the
	// active revision, 0 while that address could not be bound.
	listenerUp *prometheus.GaugeVec
	// bindErrors counts failed binds of API listeners.
	bindErrors *prometheus.CounterVec
	// untrusted counts identity and debug headers removed from requests
	// of peers outside --trusted-proxies.
	untrusted *prometheus.CounterVec

	mu        sync.Mutex
	listeners map[string]struct{} // listener label values set
}

// observability is everything the gateway records into one registerer.
type observability struct {
	config  *metrics
	gateway *pkgmetrics.Gateway
	rpc     *pkgmetrics.RPC
}

func newObservability(reg prometheus.Registerer) (observability, error) {
	if reg == nil {
		return observability{}, nil
	}
	m := &metrics{
		revision: prometheus.NewGauge(prometheus.GaugeOpts{Name: "semrouter_gateway_config_revision",
			Help: "Config KV revision the gateway is serving."}),
		configs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semrouter_gateway_config_revisions_total",
			Help: "Config revisions handled, by outcome (accepted, rejected)."}, []string{"outcome"}),
		listenerUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "semrouter_gateway_api_listener_up",
			Help: "1 while the API-mode listener serves the address of the active config revision, 0 while that address could not be bound (an older address may still serve it)."},
			[]string{"listener"}),
		bindErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semrouter_gateway_api_listener_bind_errors_total",
			Help: "API-mode listener binds that failed when a config revision added or moved the listener."}, []string{"listener"}),
		untrusted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semrouter_gateway_untrusted_headers_removed_total",
			Help: "Identity (user_id, user_groups) and debug headers removed from API-mode requests whose peer is not in --trusted-proxies."},
			[]string{"header"}),
		listeners: map[string]struct{}{},
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.revision, m.configs, m.listenerUp, m.bindErrors, m.untrusted} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	gw, err := pkgmetrics.NewGateway(reg)
	errs = append(errs, err)
	rpc, err := pkgmetrics.NewRPC(reg)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return observability{}, err
	}
	return observability{config: m, gateway: gw, rpc: rpc}, nil
}

func (m *metrics) config(accepted bool, serving uint64) {
	if m == nil {
		return
	}
	outcome := "rejected"
	if accepted {
		outcome = "accepted"
	}
	m.configs.WithLabelValues(outcome).Inc()
	m.revision.Set(float64(serving))
}

// apiListening records a newly bound API listener.
func (m *metrics) apiListening(name string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listeners[name] = struct{}{}
	m.listenerUp.WithLabelValues(name).Set(1)
}

// apiListeners records the API listeners after a revision was applied:
// failed binds, up or not, and listeners that are gone.
func (m *metrics) apiListeners(states []apimode.ListenerState) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := make(map[string]struct{}, len(states))
	for _, st := range states {
		seen[st.Name] = struct{}{}
		m.listeners[st.Name] = struct{}{}
		up := 1.0
		if st.Err != nil {
			up = 0
			m.bindErrors.WithLabelValues(st.Name).Inc()
		}
		m.listenerUp.WithLabelValues(st.Name).Set(up)
	}
	for name := range m.listeners {
		if _, ok := seen[name]; !ok {
			m.listenerUp.DeleteLabelValues(name)
			delete(m.listeners, name)
		}
	}
}

// UntrustedHeaderRemoved counts a header removed from an untrusted peer's
// request (apimode.HeaderObserver).
func (m *metrics) UntrustedHeaderRemoved(kind string) {
	if m == nil {
		return
	}
	m.untrusted.WithLabelValues(kind).Inc()
}

var _ apimode.HeaderObserver = (*metrics)(nil)
