package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/metrics"
)

// TestBatchSeries records batches, swaps the histogram buckets as a config
// reload does, and checks the exposition (a pedantic registry checks the
// collected metrics against their descriptors).
func TestBatchSeries(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := metrics.NewBatch(reg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := metrics.NewBatch(reg)
	if err != nil {
		t.Fatalf("second NewBatch on the same registry: %v", err)
	}
	m.Configure([]float64{2, 8}, []float64{0.5, 1})
	m.Observe(3, "small", 200*time.Millisecond, 1)
	again.Observe(10, "large", 2*time.Second, 0)
	m.Goroutines(4)
	m.Goroutines(-1)
	var none *metrics.Batch
	none.Observe(1, "x", time.Second, 0) // records nothing
	none.Configure(nil, nil)
	none.Goroutines(1)

	checks := []struct {
		name string
		want []string
	}{
		{metrics.BatchRequests, []string{`semrouter_classifier_batch_requests_total{size_range="small"} 1`, `semrouter_classifier_batch_requests_total{size_range="large"} 1`}},
		{metrics.BatchSize, []string{`semrouter_classifier_batch_size_bucket{le="2"} 0`, `semrouter_classifier_batch_size_bucket{le="8"} 1`,
			`semrouter_classifier_batch_size_bucket{le="+Inf"} 2`, `semrouter_classifier_batch_size_sum 13`}},
		{metrics.BatchDuration, []string{`semrouter_classifier_batch_duration_seconds_bucket{le="0.5"} 1`, `semrouter_classifier_batch_duration_seconds_bucket{le="1"} 1`,
			`semrouter_classifier_batch_duration_seconds_count 2`}},
		{metrics.BatchTexts, []string{`semrouter_classifier_batch_texts_total{outcome="ok"} 12`, `semrouter_classifier_batch_texts_total{outcome="error"} 1`}},
		{metrics.BatchGoroutines, []string{`semrouter_classifier_batch_goroutines 3`}},
	}
	for _, c := range checks {
		got := exposition(t, reg, c.name)
		for _, w := range c.want {
			if !strings.Contains(got, w+"\n") {
				t.Errorf("want %q in\n%s", w, got)
			}
		}
	}

	// New buckets restart the histograms; the same buckets keep them.
	m.Configure([]float64{2, 8}, []float64{0.5, 1})
	if got := exposition(t, reg, metrics.BatchSize); !strings.Contains(got, "semrouter_classifier_batch_size_count 2\n") {
		t.Errorf("same buckets reset the histogram:\n%s", got)
	}
	m.Configure([]float64{4}, nil)
	m.Observe(1, "small", time.Millisecond, 0)
	got := exposition(t, reg, metrics.BatchSize)
	if !strings.Contains(got, `semrouter_classifier_batch_size_bucket{le="4"} 1`+"\n") || !strings.Contains(got, "semrouter_classifier_batch_size_count 1\n") ||
		strings.Contains(got, `le="8"`) {
		t.Errorf("after new buckets:\n%s", got)
	}
	if got := exposition(t, reg, metrics.BatchDuration); !strings.Contains(got, `semrouter_classifier_batch_duration_seconds_bucket{le="0.001"} 1`+"\n") {
		t.Errorf("empty duration buckets should take the defaults:\n%s", got)
	}
}
