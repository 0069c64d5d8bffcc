package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	pkgmetrics "github.com/semrouter/semrouter/pkg/metrics"
)

// pluginType labels the upstream cache plugin counters.
const pluginType = "response_cache"

// Metrics are the cache service's Prometheus metrics. Names follow the
// upstream router where one exists (llm_cache_plugin_hits_total,
// llm_cache_plugin_misses_total, llm_cache_entries_total,
// llm_cache_operations_total, llm_cache_operation_duration_seconds). A nil
// *Metrics records nothing.
type Metrics struct {
	reg      *prometheus.Registry
	hits     *prometheus.CounterVec
	misses   *prometheus.CounterVec
	series   *pkgmetrics.Cache
	writes   *prometheus.CounterVec
	revision prometheus.Gauge

	mu      sync.Mutex
	backend string
	svc     *Service
}

// newMetrics builds the series this package defines itself, unregistered.
func newMetrics() *Metrics {
	return &Metrics{
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: pkgmetrics.CachePluginHits, Help: "Cache hits by decision and plugin type.",
		}, []string{"decision_name", "plugin_type"}),
		misses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: pkgmetrics.CachePluginMisses, Help: "Cache misses by decision and plugin type.",
		}, []string{"decision_name", "plugin_type"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "semrouter_cache_writes_total",
			Help: "Cache writes handled by this replica by outcome (applied, dropped, rejected, failed, expired, invalidated).",
		}, []string{"outcome"}),
		revision: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "semrouter_cache_config_revision", Help: "Config revision the cache replica serves.",
		}),
	}
}

// NewMetrics returns a registry with the cache metrics and the Go and
// process collectors.
func NewMetrics() *Metrics {
	m := newMetrics()
	m.reg = prometheus.NewRegistry()
	series, err := pkgmetrics.NewCache(m.reg)
	if err != nil { // a fresh registry has nothing to clash with
		panic(err)
	}
	m.series = series
	m.reg.MustRegister(m.hits, m.misses, m.writes, m.revision, statsCollector{m},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// NewMetricsIn registers the cache metrics in reg, for a process that
// shares one registry between the cache and the gateway (semrouter serve):
// the plugin hit and miss counters, which the gateway owns there, and the
// Go and process collectors are left out. Registry and Handler return nil.
func NewMetricsIn(reg prometheus.Registerer) (*Metrics, error) {
	m := newMetrics()
	m.hits, m.misses = nil, nil
	series, err := pkgmetrics.NewCache(reg)
	if err != nil {
		return nil, fmt.Errorf("register cache metrics: %w", err)
	}
	m.series = series
	for _, c := range []prometheus.Collector{m.writes, m.revision, statsCollector{m}} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register cache metrics: %w", err)
		}
	}
	return m, nil
}

// Registry is the metrics registry.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	if m.reg == nil {
		return nil
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// attach makes the backend gauges read svc's backend at scrape time.
func (m *Metrics) attach(svc *Service) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.svc = svc
	m.mu.Unlock()
}

func (m *Metrics) setBackend(name string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.backend = name
	m.mu.Unlock()
}

func (m *Metrics) backendName() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.backend
}

func (m *Metrics) lookup(decision string, hit bool) {
	if m == nil || m.hits == nil {
		return
	}
	if decision == "" {
		decision = "unknown"
	}
	if hit {
		m.hits.WithLabelValues(decision, pluginType).Inc()
	} else {
		m.misses.WithLabelValues(decision, pluginType).Inc()
	}
}

func (m *Metrics) op(name string, err error, d time.Duration) {
	if m == nil {
		return
	}
	m.series.Operation(m.backendName(), name, err, d)
}

func (m *Metrics) write(outcome string) {
	if m == nil {
		return
	}
	m.writes.WithLabelValues(outcome).Inc()
}

func (m *Metrics) setRevision(rev uint64) {
	if m == nil {
		return
	}
	m.revision.Set(float64(rev))
}

var (
	descEntries = prometheus.NewDesc(pkgmetrics.CacheEntries, "Entries in the cache.", []string{"backend"}, nil)
	descEvict   = prometheus.NewDesc("semrouter_cache_evictions_total", "Entries evicted by the size bounds.", []string{"backend"}, nil)
	descExpired = prometheus.NewDesc("semrouter_cache_expirations_total", "Entries dropped by their TTL.", []string{"backend"}, nil)
	descBytes   = prometheus.NewDesc("semrouter_cache_memory_bytes", "Bytes the cache accounts for its entries.", []string{"backend"}, nil)
	descRatio   = prometheus.NewDesc("semrouter_cache_hit_ratio", "Hits / (hits + misses) since the backend started.", []string{"backend"}, nil)
)

// statsCollector reads the backend's counters at scrape time.
type statsCollector struct{ m *Metrics }

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descEntries
	ch <- descEvict
	ch <- descExpired
	ch <- descBytes
	ch <- descRatio
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	svc := c.m.svc
	c.m.mu.Unlock()
	if svc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, name, err := svc.BackendStats(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(descEntries, prometheus.GaugeValue, float64(st.Entries), name)
	ch <- prometheus.MustNewConstMetric(descEvict, prometheus.CounterValue, float64(st.Evictions), name)
	ch <- prometheus.MustNewConstMetric(descExpired, prometheus.CounterValue, float64(st.Expirations), name)
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(st.MemoryBytes), name)
	ch <- prometheus.MustNewConstMetric(descRatio, prometheus.GaugeValue, st.HitRatio(), name)
}
