package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/config"
	pkgmetrics "github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest/usetest"
	"github.com/semrouter/semrouter/services/classifier/server"
)

// handlerEnv is a Handler over one compiled revision (the real classifier
// engine and the real USE-Lite embedder) behind a real HTTP server, with
// its metrics in reg.
type handlerEnv struct {
	h   *server.Handler
	url string
	reg *prometheus.Registry
}

func newHandlerEnv(t testing.TB, doc []byte) *handlerEnv {
	t.Helper()
	emb := usetest.UseLite(t)
	cfg, _, err := config.Parse(doc, "batch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := classifier.Compile(context.Background(), cfg, emb, classifier.WithRevision(1))
	if err != nil {
		t.Fatal(err)
	}
	svc := classifier.NewService()
	t.Cleanup(svc.Close)
	svc.Set(c)
	reg := prometheus.NewRegistry()
	m, err := server.NewMetricsWith(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := server.NewHandler(svc, server.HandlerOptions{Embedder: emb, Metrics: m})
	srv := httptest.NewServer(server.Mux(h))
	t.Cleanup(srv.Close)
	return &handlerEnv{h: h, url: srv.URL, reg: reg}
}

// inflight is a batch hook counting the items running at once. The first
// `hold` items wait until all of them have started: a batch that did not
// run them together would never release them (the test then fails after
// a generous bound instead of hanging). While they are held, a batch
// without a bound starts further items, which raises the peak.
type inflight struct {
	hold    int32
	now     atomic.Int32
	peak    atomic.Int32
	started atomic.Int32
	release chan struct{}
	mu      sync.Mutex
	order   []int
	stuck   atomic.Bool
}

func newInflight(hold int32) *inflight { return &inflight{hold: hold, release: make(chan struct{})} }

func (f *inflight) hook(i int) func() {
	n := f.now.Add(1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			break
		}
	}
	f.mu.Lock()
	f.order = append(f.order, i)
	f.mu.Unlock()
	if s := f.started.Add(1); s <= f.hold {
		if s == f.hold {
			// Give any item a broken bound would start beside the held
			// ones the chance to show up in the peak before releasing.
			for range 1000 {
				runtime.Gosched()
			}
			close(f.release)
		}
		select {
		case <-f.release:
		case <-time.After(30 * time.Second):
			f.stuck.Store(true)
		}
	}
	return func() { f.now.Add(-1) }
}

func postBatch(t *testing.T, url string, texts []string, task string) map[string]any {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"texts": texts, "task_type": task})
	resp, err := http.Post(url+"/api/v1/classify/batch", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v %v", resp.StatusCode, err, out)
	}
	return out
}

func manyTexts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("Question %d: how do enzymes speed up reaction number %d?", i, i)
	}
	return out
}

// TestBatchConcurrencyBounded: up to concurrency_threshold texts run one
// after the other, in order; a larger batch runs exactly max_concurrency
// items at once, never more.
func TestBatchConcurrencyBounded(t *testing.T) {
	e := newHandlerEnv(t, withAPI(t, "{concurrency_threshold: 3, max_concurrency: 4}"))
	tests := []struct {
		name  string
		texts int
		hold  int32 // items that must run together
		peak  int32
	}{
		{name: "at the threshold runs sequentially", texts: 3, hold: 1, peak: 1},
		{name: "above the threshold fans out to max_concurrency", texts: 13, hold: 4, peak: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newInflight(tc.hold)
			server.SetBatchHook(e.h, f.hook)
			defer server.SetBatchHook(e.h, nil)
			out := postBatch(t, e.url, manyTexts(tc.texts), "intent")
			if f.stuck.Load() {
				t.Fatalf("%d items never ran at once", tc.hold)
			}
			if got := f.peak.Load(); got != tc.peak {
				t.Errorf("peak in flight %d, want %d", got, tc.peak)
			}
			if got := f.started.Load(); got != int32(tc.texts) {
				t.Errorf("%d items started, want %d", got, tc.texts)
			}
			if tc.peak == 1 {
				for i, idx := range f.order {
					if idx != i {
						t.Errorf("sequential order %v", f.order)
						break
					}
				}
			}
			if n := len(out["results"].([]any)); n != tc.texts {
				t.Errorf("%d results", n)
			}
		})
	}
}

// TestBatchCancellation: once the context ends, the items not yet started
// answer CANCELED instead of running, sequentially and fanned out.
func TestBatchCancellation(t *testing.T) {
	e := newHandlerEnv(t, withAPI(t, "{concurrency_threshold: 4, max_concurrency: 2}"))
	tests := []struct {
		name     string
		texts    int
		maxAfter int // items that may still run after the cancel
	}{
		{"sequential", 4, 0},
		{"fanned out", 12, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var ran atomic.Int32
			server.SetBatchHook(e.h, func(int) func() {
				if ran.Add(1) == 1 {
					cancel()
				}
				return func() {}
			})
			defer server.SetBatchHook(e.h, nil)
			results := server.ClassifyBatch(ctx, e.h, manyTexts(tc.texts), "pii")
			canceled := 0
			for i, r := range results {
				if r["index"] != i {
					t.Errorf("result %d has index %v", i, r["index"])
				}
				if e, ok := r["error"].(map[string]any); ok && e["code"] == "CANCELED" {
					canceled++
				}
			}
			if got := int(ran.Load()); got > 1+tc.maxAfter || canceled != tc.texts-got {
				t.Errorf("%d items ran, %d canceled of %d", got, canceled, tc.texts)
			}
		})
	}
}

// gather renders the samples of the series named name in the text format,
// as /metrics serves them.
func gather(t *testing.T, reg *prometheus.Registry, name string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	pkgmetrics.Handler(reg).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("metrics: status %d", rec.Code)
	}
	var b strings.Builder
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"_bucket") ||
			strings.HasPrefix(line, name+"_sum") || strings.HasPrefix(line, name+"_count") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// TestBatchMetrics: with metrics enabled, sampled batches are recorded
// with the configured buckets and size ranges; the injected sampler
// decides which (sample_rate 0.5: draws below it are recorded).
func TestBatchMetrics(t *testing.T) {
	e := newHandlerEnv(t, withAPI(t, `{concurrency_threshold: 2, max_concurrency: 3, metrics: {enabled: true, sample_rate: 0.5,
        detailed_goroutine_tracking: true, size_buckets: [2, 4, 8], duration_buckets: [0.5, 60],
        batch_size_ranges: [{min: 1, max: 2, label: tiny}, {min: 3, max: 6, label: small}]}}`))
	draws := []float64{0.1, 0.9, 0.2, 0.49}
	var n atomic.Int32
	server.SetBatchSampler(e.h, func() float64 { return draws[int(n.Add(1)-1)%len(draws)] })

	postBatch(t, e.url, manyTexts(2), "pii")                         // 0.1: recorded, tiny
	postBatch(t, e.url, manyTexts(5), "pii")                         // 0.9: skipped
	postBatch(t, e.url, manyTexts(5), "pii")                         // 0.2: recorded, small
	postBatch(t, e.url, append(manyTexts(6), "", "", " "), "intent") // 0.49: recorded, other; 3 blank texts fail
	if got := n.Load(); got != 4 {
		t.Errorf("sampler drawn %d times, want 4", got)
	}
	checks := []struct {
		name string
		want []string
	}{
		{pkgmetrics.BatchRequests, []string{`semrouter_classifier_batch_requests_total{size_range="tiny"} 1`,
			`semrouter_classifier_batch_requests_total{size_range="small"} 1`, `semrouter_classifier_batch_requests_total{size_range="other"} 1`}},
		{pkgmetrics.BatchSize, []string{`semrouter_classifier_batch_size_bucket{le="2"} 1`, `semrouter_classifier_batch_size_bucket{le="4"} 1`,
			`semrouter_classifier_batch_size_bucket{le="8"} 2`, `semrouter_classifier_batch_size_bucket{le="+Inf"} 3`, `semrouter_classifier_batch_size_sum 16`}},
		{pkgmetrics.BatchDuration, []string{`semrouter_classifier_batch_duration_seconds_bucket{le="60"} 3`, `semrouter_classifier_batch_duration_seconds_count 3`}},
		{pkgmetrics.BatchTexts, []string{`semrouter_classifier_batch_texts_total{outcome="ok"} 13`, `semrouter_classifier_batch_texts_total{outcome="error"} 3`}},
		{pkgmetrics.BatchGoroutines, []string{`semrouter_classifier_batch_goroutines 0`}},
	}
	for _, c := range checks {
		got := gather(t, e.reg, c.name)
		for _, w := range c.want {
			if !strings.Contains(got, w+"\n") {
				t.Errorf("want %q in\n%s", w, got)
			}
		}
	}
}

// TestBatchMetricsOff: without metrics.enabled nothing is recorded and the
// sampler is not consulted.
func TestBatchMetricsOff(t *testing.T) {
	e := newHandlerEnv(t, withAPI(t, "{metrics: {enabled: false, sample_rate: 1}}"))
	server.SetBatchSampler(e.h, func() float64 { t.Error("sampler called with metrics off"); return 0 })
	postBatch(t, e.url, manyTexts(3), "pii")
	if got := gather(t, e.reg, pkgmetrics.BatchRequests); got != "" {
		t.Errorf("recorded with metrics off:\n%s", got)
	}
}
