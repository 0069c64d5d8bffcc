package server

import (
	"math"
	"slices"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/classifier"
)

// batchSettings are a revision's global.services.api.batch_classification
// with the defaults filled in.
type batchSettings struct {
	maxSize   int
	threshold int
	maxConc   int

	metrics bool
	// sampleRate is the share of batches recorded (1: every one).
	sampleRate      float64
	ranges          []config.BatchSizeRange
	sizeBuckets     []float64
	durationBuckets []float64
	// goroutines: record the running workers gauge.
	goroutines bool
}

// defaultBatchRanges label batch sizes when metrics.batch_size_ranges is
// empty.
var defaultBatchRanges = []config.BatchSizeRange{
	{Min: 1, Max: 1, Label: "1"}, {Min: 2, Max: 5, Label: "2-5"}, {Min: 6, Max: 10, Label: "6-10"},
	{Min: 11, Max: 20, Label: "11-20"}, {Min: 21, Max: 50, Label: "21-50"}, {Min: 51, Max: 100, Label: "51-100"},
	{Min: 101, Max: math.MaxInt, Label: "101+"},
}

// otherRange labels a batch size no configured range holds.
const otherRange = "other"

// newBatchSettings resolves api (nil: every default). The config was
// validated: values are in range.
func newBatchSettings(api *config.APIService) *batchSettings {
	s := &batchSettings{maxSize: config.DefaultBatchMaxSize, threshold: config.DefaultBatchConcurrencyThreshold,
		maxConc: config.DefaultBatchMaxConcurrency, sampleRate: 1, ranges: defaultBatchRanges}
	if api == nil || api.BatchClassification == nil {
		return s
	}
	b := api.BatchClassification
	if b.MaxBatchSize > 0 {
		s.maxSize = b.MaxBatchSize
	}
	if b.ConcurrencyThreshold > 0 {
		s.threshold = b.ConcurrencyThreshold
	}
	if b.MaxConcurrency > 0 {
		s.maxConc = b.MaxConcurrency
	}
	m := b.Metrics
	if m == nil {
		return s
	}
	s.metrics = m.Enabled
	if m.SampleRate > 0 {
		s.sampleRate = m.SampleRate
	}
	if len(m.BatchSizeRanges) > 0 {
		s.ranges = slices.Clone(m.BatchSizeRanges)
	}
	s.sizeBuckets = slices.Clone(m.SizeBuckets)
	s.durationBuckets = slices.Clone(m.DurationBuckets)
	s.goroutines = m.DetailedGoroutineTracking
	return s
}

// rangeLabel is the label of the range holding n.
func (s *batchSettings) rangeLabel(n int) string {
	for _, r := range s.ranges {
		if n >= r.Min && n <= r.Max {
			return r.Label
		}
	}
	return otherRange
}

// batchCached is the settings of one compiled revision.
type batchCached struct {
	c *classifier.Classifier
	s *batchSettings
}

// batchSettingsFor returns c's batch settings, resolving them (and
// applying its histogram buckets to the metrics) the first time c serves
// a batch: a config reload takes effect with the next request.
func (h *Handler) batchSettingsFor(c *classifier.Classifier) *batchSettings {
	if cached := h.batchCache.Load(); cached != nil && cached.c == c {
		return cached.s
	}
	s := newBatchSettings(c.APIService())
	if s.metrics {
		h.metrics.batchSeries().Configure(s.sizeBuckets, s.durationBuckets)
	}
	h.batchCache.Store(&batchCached{c: c, s: s})
	return s
}
