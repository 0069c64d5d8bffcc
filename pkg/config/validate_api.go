package config

import (
	"fmt"
	"math"
	"sort"
)

// Defaults of global.services.api.batch_classification (the classifier's
// POST /api/v1/classify/batch) for fields left at 0.
const (
	DefaultBatchMaxSize              = 100
	DefaultBatchConcurrencyThreshold = 5
	DefaultBatchMaxConcurrency       = 8
)

// validateAPIService checks global.services.api.batch_classification:
// sizes are not negative, max_concurrency is at least 1 when set, the
// batch size ranges are well-formed and do not overlap, the histogram
// buckets increase strictly and sample_rate is a probability.
func (v *validator) validateAPIService() {
	api := v.cfg.Global.Services.API
	if api == nil || api.BatchClassification == nil {
		return
	}
	b := api.BatchClassification
	p := "global.services.api.batch_classification"
	for _, f := range []struct {
		name string
		n    int
	}{{"max_batch_size", b.MaxBatchSize}, {"concurrency_threshold", b.ConcurrencyThreshold}} {
		if f.n < 0 {
			v.errorf(sub(p, f.name), "must not be negative (0: the default)")
		}
	}
	if b.MaxConcurrency < 0 {
		v.errorf(sub(p, "max_concurrency"), "must be at least 1 (0: the default, %d)", DefaultBatchMaxConcurrency)
	}
	maxSize := b.MaxBatchSize
	if maxSize == 0 {
		maxSize = DefaultBatchMaxSize
	}
	if b.ConcurrencyThreshold >= maxSize && b.MaxBatchSize >= 0 {
		v.warnf(sub(p, "concurrency_threshold"), "is not below max_batch_size (%d): batches never fan out", maxSize)
	}
	m := b.Metrics
	if m == nil {
		return
	}
	mp := sub(p, "metrics")
	v.checkUnit(sub(mp, "sample_rate"), m.SampleRate)
	v.checkBuckets(sub(mp, "duration_buckets"), m.DurationBuckets)
	v.checkBuckets(sub(mp, "size_buckets"), m.SizeBuckets)
	if m.HighResolutionTiming {
		v.warnf(sub(mp, "high_resolution_timing"), "has no effect: batch durations are always measured on the monotonic clock in nanoseconds")
	}
	v.checkBatchRanges(sub(mp, "batch_size_ranges"), m.BatchSizeRanges)
}

// checkBuckets reports histogram bucket bounds that are not finite or do
// not increase strictly.
func (v *validator) checkBuckets(path string, bs []float64) {
	for i, b := range bs {
		at := joinIndex(path, i)
		switch {
		case math.IsNaN(b) || math.IsInf(b, 0):
			v.errorf(at, "bucket bound must be a finite number")
		case b < 0:
			v.errorf(at, "bucket bound must not be negative, got %s", formatFloat(b))
		case i > 0 && b <= bs[i-1]:
			v.errorf(at, "buckets must increase strictly: %s follows %s", formatFloat(b), formatFloat(bs[i-1]))
		}
	}
}

// checkBatchRanges reports ranges with a negative bound, min above max, an
// empty or repeated label, or overlapping another range.
func (v *validator) checkBatchRanges(path string, rs []BatchSizeRange) {
	labels := map[string]int{}
	var ok []int
	for i, r := range rs {
		at := joinIndex(path, i)
		good := true
		if r.Min < 0 {
			v.errorf(sub(at, "min"), "must not be negative")
			good = false
		}
		if r.Max < 0 {
			v.errorf(sub(at, "max"), "must not be negative")
			good = false
		}
		if good && r.Min > r.Max {
			v.errorf(sub(at, "max"), "max %d is below min %d", r.Max, r.Min)
			good = false
		}
		switch j, dup := labels[r.Label]; {
		case r.Label == "":
			v.errorf(sub(at, "label"), "required")
		case dup:
			v.errorf(sub(at, "label"), "label %q is already used by %s", r.Label, joinIndex(path, j))
		default:
			labels[r.Label] = i
		}
		if good {
			ok = append(ok, i)
		}
	}
	sort.SliceStable(ok, func(a, b int) bool { return rs[ok[a]].Min < rs[ok[b]].Min })
	for k := 1; k < len(ok); k++ {
		prev, cur := rs[ok[k-1]], rs[ok[k]]
		if cur.Min <= prev.Max {
			v.errorf(joinIndex(path, ok[k]), "range %s overlaps %s (%s)", rangeText(cur), joinIndex(path, ok[k-1]), rangeText(prev))
		}
	}
}

func rangeText(r BatchSizeRange) string { return fmt.Sprintf("%d-%d", r.Min, r.Max) }
