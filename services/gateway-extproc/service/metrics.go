package service

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the gateway's Prometheus series. A nil *metrics records
// nothing.
type metrics struct {
	reg      *prometheus.Registry
	revision prometheus.Gauge
	configs  *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{Name: "semrouter_gateway_config_revision",
			Help: "Config KV revision the gateway is serving."}),
		configs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "semrouter_gateway_config_revisions_total",
			Help: "Config revisions handled, by outcome (accepted, rejected)."}, []string{"outcome"}),
	}
	m.reg.MustRegister(m.revision, m.configs, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
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
