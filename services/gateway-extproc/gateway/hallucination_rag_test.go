package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/grounding"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// TestHallucinationWithRAG checks answers against the passages the rag
// plugin retrieved from a real HTTP search service (FAKE embedder and
// classifier stages): the passages are the context, and a request whose
// retrieval found nothing is not checked.
func TestHallucinationWithRAG(t *testing.T) {
	cases := []struct {
		name      string
		threshold float64 // rag similarity_threshold
		useNLI    bool
		embedErr  error
		answer    string
		want      map[string]string
		wantDeg   string
		verdict   string
	}{
		{name: "grounded in the passages", answer: "The capital of France is Paris, and France uses the euro.",
			want: map[string]string{HeaderHallucinationDetected: "false"}, verdict: metrics.HallucinationGrounded},
		{name: "invented city", answer: "The capital of France is Marseille.",
			want: map[string]string{HeaderHallucinationDetected: "true", HeaderHallucinationSpans: "1"}, verdict: metrics.HallucinationDetected},
		{name: "nothing retrieved: not checked", threshold: 0.95, answer: "The capital of France is Marseille.",
			want: map[string]string{HeaderHallucinationDetected: ""}},
		{name: "embedder down: lexical verdict, degraded", useNLI: true, embedErr: errors.New("embedder down"),
			answer: "The capital of France is Marseille.", wantDeg: StageHallucination,
			want: map[string]string{HeaderHallucinationDetected: "true"}, verdict: metrics.HallucinationDetected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			search := newRAGSearch(t)
			spec := ragSpec(t, search, config.RAGPlugin{SimilarityThreshold: tc.threshold})
			spec.StageTimeout = time.Minute
			spec.Decisions[len(spec.Decisions)-1].Plugins.Hallucination = &routes.HallucinationPlugin{UseNLI: tc.useNLI,
				Action: config.HallucinationActionHeader, UnverifiedAction: config.HallucinationActionHeader,
				Detector: grounding.New(grounding.Options{})}
			reg := prometheus.NewRegistry()
			m, err := metrics.NewGateway(reg)
			if err != nil {
				t.Fatal(err)
			}
			emb := &fakeEmbedder{}
			g := newGateway(t, spec, Stages{Embedder: emb, Classifier: &fakeClassifier{dec: &Decision{Name: "rag", Confidence: 0.9}}},
				WithMetrics(m))
			x := g.NewExchange()
			x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
			if imm, _ := x.RequestBody(context.Background(), []byte(`{"model":"auto","messages":[{"role":"user","content":"What is the capital of France?"}]}`)); imm != nil {
				t.Fatalf("immediate %+v", imm)
			}
			emb.err = tc.embedErr // routing is done: only the grounding check sees it
			body := fmt.Sprintf(`{"id":"a","object":"chat.completion","created":1,"model":"qwen3-8b","choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}]}`, tc.answer)
			if !x.ScreensResponse(200) {
				t.Fatal("the plugin does not screen the answer")
			}
			out, hs := x.ScreenBody(context.Background(), 200, []byte(body))
			if string(out) != body {
				t.Errorf("body changed by the header action: %s", out)
			}
			got := headerMap(hs)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (headers %v)", k, got[k], v, got)
				}
			}
			if deg := headerMap(x.ResponseHeaders(200, "application/json"))[HeaderDegraded]; deg != tc.wantDeg {
				t.Errorf("degraded %q, want %q", deg, tc.wantDeg)
			}
			want := ""
			if tc.verdict != "" {
				want = fmt.Sprintf(`
# HELP semrouter_gateway_hallucination_verdicts_total Answers checked by the hallucination plugin, by decision and verdict (grounded, hallucination_detected, unverified_factual, skipped).
# TYPE semrouter_gateway_hallucination_verdicts_total counter
semrouter_gateway_hallucination_verdicts_total{decision_name="rag",verdict=%q} 1
`, tc.verdict)
			}
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), metrics.GatewayHallucinationVerdicts); err != nil {
				t.Error(err)
			}
		})
	}
}
