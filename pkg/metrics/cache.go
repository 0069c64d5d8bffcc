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

// Cache operation statuses.
const (
	CacheStatusOK    = "success"
	CacheStatusError = "error"
)

// Cache holds the cache service's operation series (the gateway's view of
// hits and misses is in Gateway; entry counts are read from the backend at
// scrape time by the cache service). A nil *Cache records nothing.
type Cache struct {
	duration *prometheus.HistogramVec
	ops      *prometheus.CounterVec
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
		ops: counterVec(r, CacheOperations, "Cache operations by backend, operation (lookup, store, publish) and status (success, error).",
			"backend", "operation", "status"),
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

// Operation records one cache operation; a non-nil err counts as an error.
func (m *Cache) Operation(backend, op string, err error, d time.Duration) {
	if m == nil {
		return
	}
	status := CacheStatusOK
	if err != nil {
		status = CacheStatusError
	}
	m.duration.WithLabelValues(backend, op).Observe(d.Seconds())
	m.ops.WithLabelValues(backend, op, status).Inc()
}
