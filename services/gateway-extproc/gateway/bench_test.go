package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/semrouter/semrouter/pkg/metrics"
)

// body2KB is a ~2 KB multi-turn chat request.
func body2KB() []byte {
	var sb strings.Builder
	sb.WriteString(`{"model":"auto","temperature":0.2,"max_tokens":512,"messages":[`)
	sb.WriteString(`{"role":"system","content":"You are a helpful assistant that answers briefly and precisely."},`)
	turn := strings.Repeat("Please explain how the quarterly revenue forecast changes with churn. ", 4)
	for i := 0; i < 3; i++ {
		sb.WriteString(`{"role":"user","content":"` + turn + `"},`)
		sb.WriteString(`{"role":"assistant","content":"` + turn[:200] + `"},`)
	}
	sb.WriteString(`{"role":"user","content":"` + turn + `"}]}`)
	return []byte(sb.String())
}

// BenchmarkRequestBodyHeuristic measures request-body processing for a
// heuristic-only route (no embedding, no cache): parse, classify (a fake
// that answers at once), decision application and rewrite.
func BenchmarkRequestBodyHeuristic(b *testing.B) {
	spec := testSpec()
	spec.NeedsEmbedding = false
	g := newGateway(b, spec, Stages{Classifier: staticClassifier{&Decision{Name: "complex", Confidence: 0.8}}})
	body := body2KB()
	if len(body) < 1900 || len(body) > 2300 {
		b.Fatalf("body is %d bytes", len(body))
	}
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		x := g.NewExchange()
		x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
		imm, fwd := x.RequestBody(ctx, body)
		if imm != nil || !fwd.BodyChanged {
			b.Fatal("unexpected result")
		}
		_ = x.ResponseHeaders(200, "application/json")
	}
}

// staticClassifier is a FAKE classifier that answers one decision at once
// and records nothing (so the benchmark measures the gateway only).
type staticClassifier struct{ dec *Decision }

func (s staticClassifier) Classify(context.Context, *RouteRequest) (*Decision, error) {
	return s.dec, nil
}

var _ Classifier = staticClassifier{}

// BenchmarkRequestObserved is BenchmarkRequestBodyHeuristic with the
// request accounting on: metrics in a registry and a sampling tracer with
// a discarding exporter (Begin, RequestBody, End).
func BenchmarkRequestObserved(b *testing.B) {
	spec := testSpec()
	spec.NeedsEmbedding = false
	m, err := metrics.NewGateway(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	g := newGateway(b, spec, Stages{Classifier: staticClassifier{&Decision{Name: "complex", Confidence: 0.8}}},
		WithMetrics(m), WithTracerProvider(tp))
	body := body2KB()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		x := g.NewExchange()
		ctx := x.Begin(context.Background(), nil)
		x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
		imm, fwd := x.RequestBody(ctx, body)
		if imm != nil || !fwd.BodyChanged {
			b.Fatal("unexpected result")
		}
		_ = x.ResponseHeaders(200, "application/json")
		x.End(200)
	}
}

// rttStages are FAKE classifier and cache stages that each take a fixed
// simulated round trip (rtt) and answer decision business (whose
// response_cache plugin is enabled) and a cache miss.
type rttStages struct{ rtt time.Duration }

func (s rttStages) wait(ctx context.Context) error {
	t := time.NewTimer(s.rtt)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s rttStages) Classify(ctx context.Context, _ *RouteRequest) (*Decision, error) {
	return &Decision{Name: "business", Confidence: 0.9}, s.wait(ctx)
}

func (s rttStages) Lookup(ctx context.Context, _ *CacheQuery) ([]CachedResponse, error) {
	return nil, s.wait(ctx)
}

func (s rttStages) Store(context.Context, *CacheEntry) error { return nil }

// rttPartitionsCache adds the speculative lookup to rttStages.
type rttPartitionsCache struct{ rttStages }

func (s rttPartitionsCache) LookupPartitions(ctx context.Context, _ *CacheQuery, parts []CachePartition) ([][]CachedResponse, error) {
	return make([][]CachedResponse, len(parts)), s.wait(ctx)
}

// reportingCache adds served reports to rttPartitionsCache; a report
// costs nothing here (BenchmarkReportServed in natsstages measures the
// real one), so the benchmark shows what reporting adds to the request
// path: the report and the goroutine that sends it.
type reportingCache struct{ rttPartitionsCache }

func (reportingCache) ReportServed(context.Context, *ServedReport) error { return nil }

var (
	_ Classifier      = rttStages{}
	_ Cache           = rttStages{}
	_ PartitionsCache = rttPartitionsCache{}
	_ ServedReporter  = reportingCache{}
)

// BenchmarkRequestBodyCacheDecision measures request-body processing of a
// 2 KB body routed to a decision with the response cache enabled (a
// miss), when the classifier and the cache each take a simulated 500 µs
// round trip: "parallel" looks the cache up speculatively while the
// classifier runs (a PartitionsCache), "parallel-reported" also reports
// the miss it served (a ServedReporter, in the background), "sequential"
// looks up after the classifier (a plain Cache, the fallback path).
func BenchmarkRequestBodyCacheDecision(b *testing.B) {
	const rtt = 500 * time.Microsecond
	spec := testSpec()
	spec.NeedsEmbedding = false
	spec.StageTimeout = time.Second
	for _, bc := range []struct {
		name  string
		cache Cache
	}{
		{"parallel", rttPartitionsCache{rttStages{rtt}}},
		{"parallel-reported", reportingCache{rttPartitionsCache{rttStages{rtt}}}},
		{"sequential", rttStages{rtt}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := newGateway(b, spec, Stages{Classifier: rttStages{rtt}, Cache: bc.cache})
			body := body2KB()
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				x := g.NewExchange()
				x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
				imm, fwd := x.RequestBody(ctx, body)
				if imm != nil || fwd == nil || len(x.routed.degraded) > 0 {
					b.Fatalf("unexpected result: degraded %v", x.routed.degraded)
				}
			}
			g.Wait()
		})
	}
}

// BenchmarkStaleRateLimitHeaders: the per-response check of which
// upstream x-ratelimit-* headers the router's own replace.
func BenchmarkStaleRateLimitHeaders(b *testing.B) {
	h := []Header{{HeaderSchemaVersion, "2"}, {HeaderResponsePath, "upstream"}, {HeaderSelectedModel, "m"},
		{HeaderRateLimitLimitRequests, "3"}, {HeaderRateLimitRemainingReq, "2"}, {HeaderRateLimitResetRequests, "20s"}}
	b.ReportAllocs()
	for b.Loop() {
		if len(StaleRateLimitHeaders(h)) != 3 {
			b.Fatal("want the 3 token headers")
		}
	}
}
