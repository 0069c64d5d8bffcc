package apimode

// Helpers of the added-latency benchmark (latency_bench_test.go): quantiles
// of request durations and an open-loop pacer.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// quantile returns the q-quantile (0 ≤ q ≤ 1, nearest rank) of ds, which it
// sorts in place; zero for an empty slice.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func TestQuantile(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100..1, unsorted
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"single", ms(7), 0.99, 7 * time.Millisecond},
		{"median of odd count", ms(5, 1, 3), 0.5, 3 * time.Millisecond},
		{"p50 of 1..100", ms(hundred...), 0.5, 50 * time.Millisecond},
		{"p99 of 1..100", ms(hundred...), 0.99, 99 * time.Millisecond},
		{"p100 is the maximum", ms(hundred...), 1, 100 * time.Millisecond},
		{"p0 is the minimum", ms(hundred...), 0, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := quantile(tc.in, tc.q); got != tc.want {
				t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

// latencyTarget is one HTTP endpoint the pacer calls, with its own
// connection pool so the two sides of a comparison do not share sockets.
type latencyTarget struct {
	url    string
	body   []byte // the chat request sent
	client *http.Client
	// check validates one answer (status, headers, body).
	check func(resp *http.Response, body []byte) error
	// degraded counts answers carrying x-vsr-degraded (a stage missed its
	// deadline, e.g. when the machine stalls: the gateway then routes to
	// the default model, which check accepts).
	degraded atomic.Int64
}

func newLatencyTarget(url string, body []byte, check func(*http.Response, []byte) error) *latencyTarget {
	return &latencyTarget{url: url, body: body, check: check, client: &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     time.Minute,
	}}}
}

// do sends one chat request and returns how long it took, from the send to
// the last byte of the answer.
func (t *latencyTarget) do(ctx context.Context) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("read answer: %w", err)
	}
	if err := t.check(resp, out); err != nil {
		return 0, err
	}
	if resp.Header.Get(gateway.HeaderDegraded) != "" {
		t.degraded.Add(1)
	}
	return d, nil
}

// pacedResult holds the durations of both sides of one paced run.
type pacedResult struct {
	routed, direct []time.Duration
}

// runPaced is an open-loop load: request i of the routed side starts at
// start + i/rate whether or not earlier ones finished, and the matching
// direct request starts half an interval earlier, so both sides see the
// same machine load. It sends n of each and fails b on the first error.
func runPaced(b *testing.B, n int, rate float64, routed, direct *latencyTarget) pacedResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(float64(n)/rate*float64(time.Second))+time.Minute)
	defer cancel()
	res := pacedResult{routed: make([]time.Duration, n), direct: make([]time.Duration, n)}
	interval := time.Duration(float64(time.Second) / rate)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fire := func(t *latencyTarget, slot *time.Duration) {
		wg.Go(func() {
			d, err := t.do(ctx)
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				return
			}
			*slot = d
		})
	}
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at)) // pacing (open loop), not synchronisation
		fire(direct, &res.direct[i])
		time.Sleep(time.Until(at.Add(interval / 2)))
		fire(routed, &res.routed[i])
	}
	wg.Wait()
	if first != nil {
		b.Fatalf("paced load: %v", first)
	}
	return res
}

// reportAdded reports the quantiles of both sides and their differences
// ("added" = routed − direct at the same quantile) in microseconds, and
// how many routed answers were degraded.
func reportAdded(b *testing.B, r pacedResult, routed *latencyTarget) {
	b.Helper()
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	rp50, rp99 := quantile(r.routed, 0.5), quantile(r.routed, 0.99)
	dp50, dp99 := quantile(r.direct, 0.5), quantile(r.direct, 0.99)
	b.ReportMetric(us(dp50), "direct-p50-us")
	b.ReportMetric(us(dp99), "direct-p99-us")
	b.ReportMetric(us(rp50), "routed-p50-us")
	b.ReportMetric(us(rp99), "routed-p99-us")
	b.ReportMetric(us(rp50-dp50), "added-p50-us")
	b.ReportMetric(us(rp99-dp99), "added-p99-us")
	b.ReportMetric(float64(routed.degraded.Load()), "degraded")
}

// fixedClassifier is a TEST DOUBLE of the classifier stage (the real one
// lives in another module): it returns the same decision at once, so the
// benchmark measures the gateway's own cost around a classification.
type fixedClassifier struct{ dec *gateway.Decision }

func (f fixedClassifier) Classify(context.Context, *gateway.RouteRequest) (*gateway.Decision, error) {
	return f.dec, nil
}

// fixedEmbedder is a TEST DOUBLE of the embedding stage: it returns a
// fixed unit vector per text at once (no model), so the benchmark measures
// the gateway's plumbing of an embedding call; the real embedder's cost is
// measured end to end by `semrouter bench e2e`.
type fixedEmbedder struct{ dims int }

func (f fixedEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		v := make([]float32, f.dims)
		v[0] = 1
		out[i] = v
	}
	return out, nil
}

var (
	_ gateway.Classifier = fixedClassifier{}
	_ gateway.Embedder   = fixedEmbedder{}
)
