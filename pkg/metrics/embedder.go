package metrics

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Embedder metric names.
const (
	EmbedderBatchSize     = "semrouter_embedder_batch_size"
	EmbedderBatchDuration = "semrouter_embedder_batch_duration_seconds"
	EmbedderBatchErrors   = "semrouter_embedder_batch_errors_total"
	EmbedderQueueDepth    = "semrouter_embedder_queue_depth"
)

// Embedder holds the embedder's batching series. A nil *Embedder records
// nothing.
type Embedder struct {
	size     *prometheus.HistogramVec
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	queue    *queueCollector
}

// NewEmbedder registers the embedder series in reg (nil: returns nil).
func NewEmbedder(reg prometheus.Registerer) (*Embedder, error) {
	if reg == nil {
		return nil, nil
	}
	r := &registrar{reg: reg}
	m := &Embedder{
		size: histogramVec(r, EmbedderBatchSize, "Texts per model run (dynamic batch size), by model.",
			[]float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}, "model"),
		duration: histogramVec(r, EmbedderBatchDuration, "Duration of one model run (one batch), by model.", latencyBuckets, "model"),
		errors:   counterVec(r, EmbedderBatchErrors, "Model runs that failed, by model.", "model"),
	}
	q, err := register(reg, newQueueCollector())
	m.queue = q
	if err := errors.Join(r.err, err); err != nil {
		return nil, err
	}
	return m, nil
}

// Batch records one model run of n texts.
func (m *Embedder) Batch(model string, n int, d time.Duration, err error) {
	if m == nil {
		return
	}
	m.size.WithLabelValues(model).Observe(float64(n))
	m.duration.WithLabelValues(model).Observe(d.Seconds())
	if err != nil {
		m.errors.WithLabelValues(model).Inc()
	}
}

// TrackQueue reports depth() as model's queue depth at every scrape until
// the returned function is called.
func (m *Embedder) TrackQueue(model string, depth func() int) (untrack func()) {
	if m == nil {
		return func() {}
	}
	return m.queue.track(model, depth)
}

// queueCollector reads the batchers' queue lengths at scrape time.
type queueCollector struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	next   int
	depths map[int]queueSource
}

type queueSource struct {
	model string
	depth func() int
}

var _ prometheus.Collector = (*queueCollector)(nil)

func newQueueCollector() *queueCollector {
	return &queueCollector{
		desc:   prometheus.NewDesc(EmbedderQueueDepth, "Embedding requests waiting for a batch, by model.", []string{"model"}, nil),
		depths: map[int]queueSource{},
	}
}

func (c *queueCollector) track(model string, depth func() int) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.next
	c.next++
	c.depths[id] = queueSource{model: model, depth: depth}
	return func() {
		c.mu.Lock()
		delete(c.depths, id)
		c.mu.Unlock()
	}
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	sum := map[string]int{}
	for _, s := range c.depths {
		sum[s.model] += s.depth()
	}
	c.mu.Unlock()
	for model, n := range sum {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), model)
	}
}
