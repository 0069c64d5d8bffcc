package metrics

import (
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Batch classification metric names (the classifier's POST
// /api/v1/classify/batch, global.services.api.batch_classification.metrics).
const (
	BatchRequests   = "semrouter_classifier_batch_requests_total"
	BatchSize       = "semrouter_classifier_batch_size"
	BatchDuration   = "semrouter_classifier_batch_duration_seconds"
	BatchTexts      = "semrouter_classifier_batch_texts_total"
	BatchGoroutines = "semrouter_classifier_batch_goroutines"
)

// Default bucket layouts of the batch histograms (metrics.size_buckets and
// metrics.duration_buckets left empty).
var (
	DefaultBatchSizeBuckets     = []float64{1, 2, 5, 10, 20, 50, 100, 200}
	DefaultBatchDurationBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
)

// Batch holds the batch classification series. Its two histograms take
// their buckets from the active config revision: Configure swaps in new
// histograms when the buckets change (their counts restart), under the
// same metric names. A nil *Batch records nothing.
type Batch struct {
	requests   *prometheus.CounterVec
	texts      *prometheus.CounterVec
	goroutines prometheus.Gauge
	size       *swappableHistogram
	duration   *swappableHistogram
}

// NewBatch registers the batch series in reg (nil: returns nil), with the
// default buckets until Configure.
func NewBatch(reg prometheus.Registerer) (*Batch, error) {
	if reg == nil {
		return nil, nil
	}
	r := &registrar{reg: reg}
	m := &Batch{
		requests: counterVec(r, BatchRequests,
			"Batch classification requests, by the label of the configured batch_size_ranges entry holding their size (\"other\": none).", "size_range"),
		texts: counterVec(r, BatchTexts, "Texts classified in batches, by outcome (ok, error).", "outcome"),
		goroutines: gauge(r, BatchGoroutines,
			"Batch classification workers running now (recorded with metrics.detailed_goroutine_tracking)."),
		size: swappable(r, prometheus.HistogramOpts{Name: BatchSize, Help: "Texts per batch classification request.",
			Buckets: DefaultBatchSizeBuckets}),
		duration: swappable(r, prometheus.HistogramOpts{Name: BatchDuration, Help: "Time to classify one batch, all texts.",
			Buckets: DefaultBatchDurationBuckets}),
	}
	if r.err != nil {
		return nil, r.err
	}
	return m, nil
}

// Configure sets the histogram buckets (nil or empty: the defaults).
func (m *Batch) Configure(sizeBuckets, durationBuckets []float64) {
	if m == nil {
		return
	}
	if len(sizeBuckets) == 0 {
		sizeBuckets = DefaultBatchSizeBuckets
	}
	if len(durationBuckets) == 0 {
		durationBuckets = DefaultBatchDurationBuckets
	}
	m.size.setBuckets(sizeBuckets)
	m.duration.setBuckets(durationBuckets)
}

// Observe records one batch: its size, the label of its size range, how
// long it took and how many of its texts failed.
func (m *Batch) Observe(size int, sizeRange string, d time.Duration, failed int) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(sizeRange).Inc()
	m.size.observe(float64(size))
	m.duration.observe(d.Seconds())
	m.texts.WithLabelValues("ok").Add(float64(size - failed))
	m.texts.WithLabelValues("error").Add(float64(failed))
}

// Goroutines adds delta to the running batch workers gauge.
func (m *Batch) Goroutines(delta int) {
	if m != nil {
		m.goroutines.Add(float64(delta))
	}
}

// swappableHistogram is a histogram collector whose buckets can change:
// the descriptor (name, help, no labels) stays, the histogram behind it is
// replaced.
type swappableHistogram struct {
	desc *prometheus.Desc
	opts prometheus.HistogramOpts
	mu   sync.RWMutex
	h    prometheus.Histogram
}

var _ prometheus.Collector = (*swappableHistogram)(nil)

func swappable(r *registrar, opts prometheus.HistogramOpts) *swappableHistogram {
	s := &swappableHistogram{desc: prometheus.NewDesc(opts.Name, opts.Help, nil, nil), opts: opts, h: prometheus.NewHistogram(opts)}
	got, err := register(r.reg, s)
	r.err = errors.Join(r.err, err)
	return got
}

func (s *swappableHistogram) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

func (s *swappableHistogram) Collect(ch chan<- prometheus.Metric) {
	s.mu.RLock()
	h := s.h
	s.mu.RUnlock()
	h.Collect(ch)
}

func (s *swappableHistogram) observe(v float64) {
	s.mu.RLock()
	h := s.h
	s.mu.RUnlock()
	h.Observe(v)
}

func (s *swappableHistogram) setBuckets(b []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Equal(b, s.opts.Buckets) {
		return
	}
	s.opts.Buckets = slices.Clone(b)
	s.h = prometheus.NewHistogram(s.opts)
}
