package service

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	pkgmetrics "github.com/semrouter/semrouter/pkg/metrics"
)

// metrics are the gateway's config series. A nil *metrics records
// nothing.
type metrics struct {
	revision prometheus.Gauge
	configs  *prometheus.CounterVec
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
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.revision, m.configs} {
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
