package metrics

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Config-hub metric names. The revision gauge and the applied-revisions
// counter have the shape of every service's config series
// (semrouter_<service>_config_revision, …_config_revisions_total{outcome}).
const (
	ConfigHubRevisionsPublished = "semrouter_config_hub_revisions_published_total"
	ConfigHubRevisionsRejected  = "semrouter_config_hub_revisions_rejected_total"
	ConfigHubConfigRevision     = "semrouter_config_hub_config_revision"
	ConfigHubConfigRevisions    = "semrouter_config_hub_config_revisions_total"
	ConfigHubAPIRequests        = "semrouter_config_hub_api_requests_total"
	ConfigHubXDSStreams         = "semrouter_config_hub_xds_streams"
	ConfigHubXDSResponses       = "semrouter_config_hub_xds_responses_total"
	ConfigHubXDSRejections      = "semrouter_config_hub_xds_rejections_total"
)

// Sources of a published or rejected revision (the source label).
const (
	// ConfigSourceFile: the --config file, at start or when it changed.
	ConfigSourceFile = "file"
	// ConfigSourceAPI: a management API write (PUT, PATCH, ConfigService).
	ConfigSourceAPI = "api"
	// ConfigSourceRollback: a rollback republishing an older revision.
	ConfigSourceRollback = "rollback"
)

// Outcomes of ConfigHubConfigRevisions (the same words as the services').
const (
	OutcomeAccepted = "accepted"
	OutcomeRejected = "rejected"
)

// ConfigHub holds config-hub's series: revisions written to and refused
// before the KV key, the revision it serves, management API requests and
// the xDS streams. A nil *ConfigHub records nothing.
type ConfigHub struct {
	published    *prometheus.CounterVec
	rejected     *prometheus.CounterVec
	revision     prometheus.Gauge
	applied      *prometheus.CounterVec
	requests     *prometheus.CounterVec
	streams      prometheus.Gauge
	responses    *prometheus.CounterVec
	xdsRejection *prometheus.CounterVec
}

// NewConfigHub registers the config-hub series in reg (nil: returns nil).
func NewConfigHub(reg prometheus.Registerer) (*ConfigHub, error) {
	if reg == nil {
		return nil, nil
	}
	r := &registrar{reg: reg}
	m := &ConfigHub{
		published: counterVec(r, ConfigHubRevisionsPublished,
			"Config revisions written to the KV key, by source (file, api, rollback); a document equal to the active one writes none.", "source"),
		rejected: counterVec(r, ConfigHubRevisionsRejected,
			"Config documents refused by validation before reaching the KV key, by source (file, api, rollback).", "source"),
		applied: counterVec(r, ConfigHubConfigRevisions,
			"KV revisions config-hub compiled for xDS and the management API, by outcome (accepted, rejected).", "outcome"),
		requests: counterVec(r, ConfigHubAPIRequests,
			"Management API requests, by route pattern (\"GET /config/router\", the ConfigService prefix; \"\" when none matched) and HTTP status code.",
			"route", "code"),
		responses: counterVec(r, ConfigHubXDSResponses,
			"xDS responses pushed to clients, by resource type (listener, route, cluster, endpoint, other).", "type"),
		xdsRejection: counterVec(r, ConfigHubXDSRejections,
			"xDS responses a client refused (a NACK naming the error), by resource type.", "type"),
	}
	m.revision = gauge(r, ConfigHubConfigRevision, "Config KV revision config-hub serves (xDS snapshots, management API auth).")
	m.streams = gauge(r, ConfigHubXDSStreams, "Open xDS streams (Envoys and gRPC clients; ADS is one stream per client).")
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

func gauge(r *registrar, name, help string) prometheus.Gauge {
	g, err := register(r.reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help}))
	r.err = errors.Join(r.err, err)
	return g
}

// Published counts one revision written to KV by source.
func (m *ConfigHub) Published(source string) {
	if m != nil {
		m.published.WithLabelValues(source).Inc()
	}
}

// Rejected counts one document refused by validation.
func (m *ConfigHub) Rejected(source string) {
	if m != nil {
		m.rejected.WithLabelValues(source).Inc()
	}
}

// Applied records the outcome of compiling one KV revision and the
// revision served afterwards.
func (m *ConfigHub) Applied(accepted bool, serving uint64) {
	if m == nil {
		return
	}
	outcome := OutcomeRejected
	if accepted {
		outcome = OutcomeAccepted
	}
	m.applied.WithLabelValues(outcome).Inc()
	m.revision.Set(float64(serving))
}

// APIRequest counts one management API request answered with code.
func (m *ConfigHub) APIRequest(route string, code int) {
	if m != nil {
		m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	}
}

// StreamOpened counts an xDS stream in.
func (m *ConfigHub) StreamOpened() {
	if m != nil {
		m.streams.Inc()
	}
}

// StreamClosed counts an xDS stream out.
func (m *ConfigHub) StreamClosed() {
	if m != nil {
		m.streams.Dec()
	}
}

// XDSResponse counts one response of resource type typ sent to a client.
func (m *ConfigHub) XDSResponse(typ string) {
	if m != nil {
		m.responses.WithLabelValues(typ).Inc()
	}
}

// XDSRejected counts one response of type typ a client refused.
func (m *ConfigHub) XDSRejected(typ string) {
	if m != nil {
		m.xdsRejection.WithLabelValues(typ).Inc()
	}
}
