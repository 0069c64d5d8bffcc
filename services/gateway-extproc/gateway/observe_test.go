package gateway

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/semrouter/semrouter/pkg/metrics"
)

const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := make(map[attribute.Key]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// TestObservability runs exchanges through fake stages (FAKES of the
// stage interfaces) with a recording tracer and a registry, and checks the
// spans and series each response path produces.
func TestObservability(t *testing.T) {
	usageBody := `{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}],` +
		`"usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}}`
	cases := []struct {
		name     string
		stages   func() Stages
		body     string
		upstream int // status the fake upstream answers (0: none)
		wantSpan map[string]string
		// wantHit is the cache span's cache.hit (nil: no cache span).
		wantHit *bool
		series  map[string]string // metric name → sample that must be there
	}{
		{
			name: "cache hit",
			stages: func() Stages {
				return Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "business", Confidence: 0.8}},
					Cache: &fakeCache{hits: []CachedResponse{{Decision: "business", Exact: true, Body: []byte(cachedBody)}}}}
			},
			body:     `{"model":"auto","messages":[{"role":"user","content":"q"}]}`,
			wantSpan: map[string]string{AttrDecisionName: "business", AttrResponsePath: "cache", AttrCacheHit: "true"},
			wantHit:  new(true),
			series: map[string]string{
				metrics.CachePluginHits:       `llm_cache_plugin_hits_total{decision_name="business",plugin_type="semantic-cache"} 1`,
				metrics.GatewayRoutedRequests: `semrouter_gateway_routed_requests_total{decision_name="business",model="qwen3-8b",path="cache"} 1`,
				metrics.ModelRoutingLatency:   `llm_model_routing_latency_seconds_count 1`,
			},
		},
		{
			name: "upstream after a miss",
			stages: func() Stages {
				return Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "business"}}, Cache: &fakeCache{}}
			},
			body:     `{"model":"auto","messages":[{"role":"user","content":"q"}]}`,
			upstream: http.StatusOK,
			wantSpan: map[string]string{AttrDecisionName: "business", AttrResponsePath: "upstream", AttrCacheHit: "false",
				AttrSelectedModel: "qwen3-8b", AttrStatus: "200"},
			wantHit: new(false),
			series: map[string]string{
				metrics.CachePluginMisses:     `llm_cache_plugin_misses_total{decision_name="business",plugin_type="semantic-cache"} 1`,
				metrics.ModelRequests:         `llm_model_requests_total{model="qwen3-8b"} 1`,
				metrics.ModelPromptTokens:     `llm_model_prompt_tokens_total{model="qwen3-8b"} 4`,
				metrics.ModelCompletionTokens: `llm_model_completion_tokens_total{model="qwen3-8b"} 3`,
				metrics.ModelTTFT:             `llm_model_ttft_seconds_count{model="qwen3-8b"} 1`,
			},
		},
		{
			name: "upstream 5xx with the classifier down",
			stages: func() Stages {
				return Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{err: ErrStageUnavailable}}
			},
			body:     `{"model":"auto","messages":[{"role":"user","content":"q"}]}`,
			upstream: http.StatusBadGateway,
			wantSpan: map[string]string{AttrDegraded: "classifier", AttrResponsePath: "upstream", AttrStatus: "502"},
			series: map[string]string{
				metrics.GatewayStageDegraded: `semrouter_gateway_stage_degraded_total{stage="classifier"} 1`,
				metrics.RequestErrors:        `llm_request_errors_total{model="qwen3-8b",reason="upstream_5xx"} 1`,
			},
		},
		{
			name: "jailbreak block",
			stages: func() Stages {
				return Stages{Classifier: &fakeClassifier{dec: &Decision{Name: "complex", Block: &Block{Signal: "jailbreak"}}}}
			},
			body:     `{"model":"auto","messages":[{"role":"user","content":"q"}]}`,
			wantSpan: map[string]string{AttrDecisionName: "complex", AttrResponsePath: "blocked", AttrStatus: "403"},
			series: map[string]string{
				metrics.RequestErrors: `llm_request_errors_total{model="qwen3-32b",reason="jailbreak_block"} 1`,
			},
		},
		{
			// Refused before routing: counted under path "error", never with
			// all-empty labels.
			name:     "unknown model",
			stages:   func() Stages { return Stages{} },
			body:     `{"model":"gpt-9","messages":[{"role":"user","content":"q"}]}`,
			wantSpan: map[string]string{AttrResponsePath: "error", AttrStatus: "404"},
			series: map[string]string{
				metrics.GatewayRoutedRequests: `semrouter_gateway_routed_requests_total{decision_name="",model="",path="error"} 1`,
				metrics.RequestErrors:         `llm_request_errors_total{model="",reason="model_not_found"} 1`,
			},
		},
		{
			name:     "unparsable body",
			stages:   func() Stages { return Stages{} },
			body:     `{"model":`,
			wantSpan: map[string]string{AttrStatus: "400"},
			series: map[string]string{
				metrics.RequestErrors: `llm_request_errors_total{model="",reason="parse_error"} 1`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			reg := prometheus.NewRegistry()
			m, err := metrics.NewGateway(reg)
			if err != nil {
				t.Fatal(err)
			}
			g := newGateway(t, testSpec(), tc.stages(), WithMetrics(m), WithTracerProvider(tp))

			x := g.NewExchange()
			carrier := propagation.HeaderCarrier(http.Header{"Traceparent": {"00-" + callerTrace + "-00f067aa0ba902b7-01"}})
			ctx := x.Begin(context.Background(), carrier)
			x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
			imm, fwd := x.RequestBody(ctx, []byte(tc.body))
			status := 0
			switch {
			case imm != nil:
				status = imm.Status
			case fwd != nil && tc.upstream != 0:
				_, end := x.StartUpstream(ctx)
				x.ResponseHeaders(tc.upstream, "application/json")
				x.ResponseBody([]byte(usageBody), true)
				end(tc.upstream, nil)
				x.Finish(ctx)
				status = tc.upstream
			}
			x.End(status)
			x.End(status) // a second End changes nothing
			g.Wait()

			spans := exp.GetSpans()
			var req, cache *tracetest.SpanStub
			for i := range spans {
				if got := spans[i].SpanContext.TraceID().String(); got != callerTrace {
					t.Errorf("span %s in trace %s, want the caller's %s", spans[i].Name, got, callerTrace)
				}
				switch spans[i].Name {
				case SpanRequest:
					req = &spans[i]
				case SpanCacheLookup:
					cache = &spans[i]
				}
			}
			if req == nil {
				t.Fatalf("no request span among %d spans", len(spans))
			}
			attrs := attrMap(req.Attributes)
			for k, want := range tc.wantSpan {
				if got := attrs[attribute.Key(k)].Emit(); got != want {
					t.Errorf("request span %s = %q, want %q", k, got, want)
				}
			}
			switch {
			case tc.wantHit == nil && cache != nil:
				t.Errorf("unexpected cache lookup span")
			case tc.wantHit != nil && cache == nil:
				t.Errorf("no cache lookup span")
			case tc.wantHit != nil:
				if got := attrMap(cache.Attributes)[AttrCacheHit].AsBool(); got != *tc.wantHit {
					t.Errorf("cache span hit = %v, want %v", got, *tc.wantHit)
				}
				if cache.Parent.SpanID() != req.SpanContext.SpanID() {
					t.Errorf("cache span is not a child of the request span")
				}
			}
			for metric, want := range tc.series {
				if got := exposition(t, reg, metric); !strings.Contains(got, want+"\n") {
					t.Errorf("%s: want sample %q in\n%s", metric, want, got)
				}
			}
		})
	}
}

// exposition renders one metric family in the Prometheus text format.
func exposition(t *testing.T, g prometheus.Gatherer, name string) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if mf.GetName() == name {
			if err := enc.Encode(mf); err != nil {
				t.Fatal(err)
			}
		}
	}
	return buf.String()
}
