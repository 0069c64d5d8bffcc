package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Cache service metric names (upstream names).
const (
	CacheOperationDuration = "llm_cache_operation_duration_seconds"
	CacheOperations        = "llm_cache_operations_total"
	CacheEntries           = "llm_cache_entries_total"
)

// Cache operation names and statuses for the cache service's series.
const (
	CacheOpLookup = "lookup"
	CacheOpStore  = "store"
	CacheOpEvict  = "evict"

	CacheStatusHit   = "hit"
	CacheStatusMiss  = "miss"
	CacheStatusOK    = "ok"
	CacheStatusError = "error"
)

// Cache holds the cache service's series (the gateway's view of hits and
// misses is in Gateway). A nil *Cache records nothing.
type Cache struct {
	duration *prometheus.HistogramVec
	ops      *prometheus.CounterVec
	entries  *prometheus.GaugeVec
}

// NewCache registers the cache series in reg (nil: returns nil).
func NewCache(reg prometheus.Registerer) (*Cache, error) {
	if reg == nil {
		return nil, nil
	}
	r := &registrar{reg: reg}
	m := &Cache{
		duration: histogramVec(r, CacheOperationDuration, "Duration of cache operations, by backend and operation.",
			fastBuckets, "backend", "operation"),
		ops: counterVec(r, CacheOperations, "Cache operations by backend, operation (lookup, store, evict) and status (hit, miss, ok, error).",
			"backend", "operation", "status"),
		entries: gaugeVec(r, CacheEntries, "Entries held in the cache, by backend.", "backend"),
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

// Operation records one cache operation.
func (m *Cache) Operation(backend, op, status string, d time.Duration) {
	if m == nil {
		return
	}
	m.duration.WithLabelValues(backend, op).Observe(d.Seconds())
	m.ops.WithLabelValues(backend, op, status).Inc()
}

// SetEntries sets the number of entries a backend holds.
func (m *Cache) SetEntries(backend string, n int) {
	if m != nil {
		m.entries.WithLabelValues(backend).Set(float64(n))
	}
}
