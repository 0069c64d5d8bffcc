package metrics_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/semrouter/semrouter/pkg/metrics"
)

func TestNilRegistererRecordsNothing(t *testing.T) {
	g, err := metrics.NewGateway(nil)
	if g != nil || err != nil {
		t.Fatalf("NewGateway(nil) = %v, %v; want nil, nil", g, err)
	}
	// Every method of a nil value is a no-op.
	g.ModelRequest("m")
	g.Completion("m", time.Second, time.Millisecond, time.Millisecond, 1, 2)
	g.CacheLookup("d", true)
	var c *metrics.Classifier
	c.Decision("d", true, 0.5, time.Millisecond)
	var e *metrics.Embedder
	e.Batch("m", 3, time.Millisecond, nil)
	e.TrackQueue("m", func() int { return 1 })()
	var r *metrics.RPC
	r.Client("/p", "ok", time.Millisecond)
	var k *metrics.Cache
	k.Operation("memory", "lookup", nil, time.Millisecond)
	h, err := metrics.NewConfigHub(nil)
	if h != nil || err != nil {
		t.Fatalf("NewConfigHub(nil) = %v, %v; want nil, nil", h, err)
	}
	h.Published(metrics.ConfigSourceFile)
	h.Rejected(metrics.ConfigSourceAPI)
	h.Applied(true, 3)
	h.APIRequest("GET /health", 200)
	h.StreamOpened()
	h.StreamClosed()
	h.XDSResponse("listener")
	h.XDSRejected("listener")
}

// TestSharedRegistry checks that services asking for the same series in
// one registry share it (semrouter serve), and that a name clash with a
// different shape is an error.
func TestSharedRegistry(t *testing.T) {
	reg := metrics.NewRegistry()
	a, err := metrics.NewRPC(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := metrics.NewRPC(reg)
	if err != nil {
		t.Fatal(err)
	}
	a.Client("/svc/A", "ok", time.Millisecond)
	b.Client("/svc/A", "ok", time.Millisecond)
	if n := testutil.CollectAndCount(reg, metrics.RPCClientDuration); n != 1 {
		t.Fatalf("%d client series, want 1", n)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == metrics.RPCClientDuration {
			if got := mf.GetMetric()[0].GetHistogram().GetSampleCount(); got != 2 {
				t.Errorf("sample count = %d, want 2 (both constructors share the series)", got)
			}
		}
	}

	clash := prometheus.NewRegistry()
	clash.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: metrics.ModelRequests, Help: "other"}))
	if _, err := metrics.NewGateway(clash); err == nil || !strings.Contains(err.Error(), "register metric") {
		t.Errorf("NewGateway on a clashing registry: err = %v, want a registration error", err)
	}
}

func TestGatewaySeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	g, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	g.ModelRequest("small")
	g.RequestError("small", metrics.ReasonUpstream5xx)
	g.Completion("small", 2*time.Second, 100*time.Millisecond, 10*time.Millisecond, 7, 5)
	g.Completion("small", time.Second, 0, 0, 0, 0) // no TTFT/TPOT/usage known
	g.CacheLookup("coding", true)
	g.CacheLookup("coding", false)
	g.CacheLookup("coding", false)
	g.Routed("coding", "small", "upstream")
	g.StageDegraded("cache")
	g.LooperCall("confidence", "small", "ok")
	g.LooperCall("confidence", "small", "ok")
	g.LooperEscalation("confidence")
	for _, tc := range []struct {
		name, metric, want string
	}{
		{"requests", metrics.ModelRequests, `llm_model_requests_total{model="small"} 1`},
		{"errors", metrics.RequestErrors, `llm_request_errors_total{model="small",reason="upstream_5xx"} 1`},
		{"prompt tokens", metrics.ModelPromptTokens, `llm_model_prompt_tokens_total{model="small"} 7`},
		{"completion tokens", metrics.ModelCompletionTokens, `llm_model_completion_tokens_total{model="small"} 5`},
		{"tokens", metrics.ModelTokens, `llm_model_tokens_total{model="small"} 12`},
		{"hits", metrics.CachePluginHits, `llm_cache_plugin_hits_total{decision_name="coding",plugin_type="semantic-cache"} 1`},
		{"misses", metrics.CachePluginMisses, `llm_cache_plugin_misses_total{decision_name="coding",plugin_type="semantic-cache"} 2`},
		{"routed", metrics.GatewayRoutedRequests, `semrouter_gateway_routed_requests_total{decision_name="coding",model="small",path="upstream"} 1`},
		{"degraded", metrics.GatewayStageDegraded, `semrouter_gateway_stage_degraded_total{stage="cache"} 1`},
		{"looper calls", metrics.GatewayLooperCalls, `semrouter_gateway_looper_calls_total{algorithm="confidence",model="small",outcome="ok"} 2`},
		{"looper escalations", metrics.GatewayLooperEscalate, `semrouter_gateway_looper_escalations_total{algorithm="confidence"} 1`},
		{"ttft count", metrics.ModelTTFT, `llm_model_ttft_seconds_count{model="small"} 1`},
		{"tpot count", metrics.ModelTPOT, `llm_model_tpot_seconds_count{model="small"} 1`},
		{"completion count", metrics.ModelCompletionLatency, `llm_model_completion_latency_seconds_count{model="small"} 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exposition(t, reg, tc.metric); !strings.Contains(got, tc.want+"\n") {
				t.Errorf("want %q in\n%s", tc.want, got)
			}
		})
	}
}

func TestEmbedderQueueDepth(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := metrics.NewEmbedder(reg)
	if err != nil {
		t.Fatal(err)
	}
	depth := 3
	untrackA := e.TrackQueue("use-lite", func() int { return depth })
	untrackB := e.TrackQueue("use-lite", func() int { return 2 })
	e.Batch("use-lite", 8, time.Millisecond, nil)
	e.Batch("use-lite", 2, time.Millisecond, errors.New("boom"))
	got := exposition(t, reg, metrics.EmbedderQueueDepth)
	if !strings.Contains(got, `semrouter_embedder_queue_depth{model="use-lite"} 5`) {
		t.Errorf("queue depth of two replicas of one model should add up:\n%s", got)
	}
	untrackA()
	untrackB()
	if got := exposition(t, reg, metrics.EmbedderQueueDepth); strings.Contains(got, "use-lite") {
		t.Errorf("untracked queues still reported:\n%s", got)
	}
	if got := exposition(t, reg, metrics.EmbedderBatchSize); !strings.Contains(got, `semrouter_embedder_batch_size_sum{model="use-lite"} 10`) {
		t.Errorf("batch size sum:\n%s", got)
	}
	if got := exposition(t, reg, metrics.EmbedderBatchErrors); !strings.Contains(got, `semrouter_embedder_batch_errors_total{model="use-lite"} 1`) {
		t.Errorf("batch errors:\n%s", got)
	}
}

func TestClassifierSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	c, err := metrics.NewClassifier(reg)
	if err != nil {
		t.Fatal(err)
	}
	c.SignalLatency("heuristic", time.Millisecond)
	c.SignalMatched("keyword", "code_keywords")
	c.Decision("coding", true, 0.8, time.Millisecond)
	c.Decision("", false, 0, time.Millisecond)
	for metric, want := range map[string]string{
		metrics.SignalExtractionLatency: `llm_signal_extraction_latency_seconds_count{signal_type="heuristic"} 1`,
		metrics.SignalMatch:             `llm_signal_match_total{signal_name="code_keywords",signal_type="keyword"} 1`,
		metrics.DecisionMatch:           `llm_decision_match_total{decision_name=""} 1`,
		metrics.DecisionEvaluations:     `llm_decision_evaluation_total 2`,
		metrics.DecisionConfidence:      `llm_decision_confidence_count{decision_name="coding"} 1`,
	} {
		if got := exposition(t, reg, metric); !strings.Contains(got, want+"\n") {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
}

// TestConfigHubSeries records every config-hub series twice through two
// constructors on one registry (config-hub under semrouter serve shares it).
func TestConfigHubSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	for range 2 {
		h, err := metrics.NewConfigHub(reg)
		if err != nil {
			t.Fatal(err)
		}
		h.Published(metrics.ConfigSourceRollback)
		h.Rejected(metrics.ConfigSourceFile)
		h.Applied(true, 7)
		h.APIRequest("PUT /config/router", 412)
		h.StreamOpened()
		h.XDSResponse("cluster")
		h.XDSRejected("route")
	}
	h, err := metrics.NewConfigHub(reg)
	if err != nil {
		t.Fatal(err)
	}
	h.Applied(false, 7)
	h.StreamClosed()
	for metric, want := range map[string]string{
		metrics.ConfigHubRevisionsPublished: `semrouter_config_hub_revisions_published_total{source="rollback"} 2`,
		metrics.ConfigHubRevisionsRejected:  `semrouter_config_hub_revisions_rejected_total{source="file"} 2`,
		metrics.ConfigHubConfigRevision:     `semrouter_config_hub_config_revision 7`,
		metrics.ConfigHubConfigRevisions:    `semrouter_config_hub_config_revisions_total{outcome="rejected"} 1`,
		metrics.ConfigHubAPIRequests:        `semrouter_config_hub_api_requests_total{code="412",route="PUT /config/router"} 2`,
		metrics.ConfigHubXDSStreams:         `semrouter_config_hub_xds_streams 1`,
		metrics.ConfigHubXDSResponses:       `semrouter_config_hub_xds_responses_total{type="cluster"} 2`,
		metrics.ConfigHubXDSRejections:      `semrouter_config_hub_xds_rejections_total{type="route"} 2`,
	} {
		if got := exposition(t, reg, metric); !strings.Contains(got, want+"\n") {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
}

// exposition renders the samples of one metric family in the text format.
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
	var b strings.Builder
	for _, line := range strings.Split(buf.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
