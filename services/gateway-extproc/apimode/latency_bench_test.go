package apimode

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/devllm"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// latencyRate is the open-loop rate of the routed side (the direct side
// runs at the same rate, interleaved half an interval earlier).
const latencyRate = 500

// BenchmarkAPIModeAddedLatency measures the latency API mode adds to a
// chat completion over a DIRECT call to the same upstream, side by side in
// one run: b.N requests per side, paced open-loop at 500 req/s, each
// timed from send to last byte. The upstream is pkg/devllm (a development
// backend, NOT a language model) behind httptest on loopback.
//
// Variants:
//   - proxy-only: no stages; parse, default model, rewrite, proxy (every
//     answer carries x-vsr-degraded: classifier, as no classifier is set).
//   - fixed-classifier: a TEST DOUBLE classifier answering a fixed decision
//     at once (model change, reasoning on, system prompt insert).
//   - fixed-embedder+classifier: the same plus a TEST DOUBLE embedder
//     returning a fixed vector (the embedding stage's plumbing, no model).
//
// The real embedder and classifier live in other modules; their cost is
// measured by `semrouter bench e2e` (docs/benchmarks.md, "End to end").
// Run with a bounded count, e.g. -benchtime 5000x.
func BenchmarkAPIModeAddedLatency(b *testing.B) {
	llm := httptest.NewServer(devllm.New(devllm.Options{Name: "bench"}))
	defer llm.Close()
	endpoint := llm.Listener.Addr().String()
	body := []byte(`{"model":"auto","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Summarise the trade-offs of write-ahead logging in two sentences."}],"temperature":0.2}`)
	// The direct call names the model API mode would select by default.
	direct, err := withModel(body, "small")
	if err != nil {
		b.Fatal(err)
	}
	hard := &gateway.Decision{Name: "hard", Confidence: 0.9}
	for _, v := range []struct {
		name      string
		stages    gateway.Stages
		embedding bool
		model     string // the model the routed answer must name
	}{
		{name: "proxy-only", model: "small"},
		{name: "fixed-classifier", stages: gateway.Stages{Classifier: fixedClassifier{dec: hard}}, model: "large-instruct"},
		{name: "fixed-embedder+classifier", stages: gateway.Stages{Classifier: fixedClassifier{dec: hard}, Embedder: fixedEmbedder{dims: 512}},
			embedding: true, model: "large-instruct"},
	} {
		b.Run(v.name, func(b *testing.B) {
			spec := latencySpec(endpoint, v.embedding)
			tbl, err := routes.Compile(spec)
			if err != nil {
				b.Fatal(err)
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			gw := gateway.New(tbl, v.stages, log)
			hs := httptest.NewServer(New(gw, log).Handler(10 * time.Second))
			defer hs.Close()
			defer gw.Wait()
			routed := newLatencyTarget(hs.URL+"/v1/chat/completions", body, answerCheck(v.model, true))
			plain := newLatencyTarget(llm.URL+"/v1/chat/completions", direct, answerCheck("small", false))
			// Warm both connection pools and the gateway before timing.
			runPaced(b, 50, latencyRate, routed, plain)
			routed.degraded.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			res := runPaced(b, b.N, latencyRate, routed, plain)
			b.StopTimer()
			reportAdded(b, res, routed)
		})
	}
}

// latencySpec routes "auto" to small by default; decision "hard" sends the
// request to large with reasoning on and a system prompt inserted.
func latencySpec(endpoint string, embedding bool) routes.Spec {
	spec := baseSpec()
	be := routes.Backend{Name: "devllm", Endpoint: endpoint, Weight: 1}
	spec.Models = []routes.Model{
		{Name: "small", ReasoningFamily: "qwen3", Backends: []routes.Backend{be}},
		{Name: "large", ProviderModelID: "large-instruct", ReasoningFamily: "gpt", Backends: []routes.Backend{be}},
	}
	spec.Decisions = []routes.Decision{{Name: "hard", ModelRefs: []routes.ModelRef{{Model: "large", UseReasoning: true}},
		Plugins: routes.Plugins{SystemPrompt: &routes.SystemPromptPlugin{Enabled: true, Mode: "insert", SystemPrompt: "Think step by step."}}}}
	spec.NeedsEmbedding = embedding
	return spec
}

// answerCheck accepts a 200 completion from devllm naming model; routed
// answers must also carry the gateway's selected-model header. A degraded
// routed answer (a stage missed its deadline) must name the default model.
func answerCheck(model string, routed bool) func(*http.Response, []byte) error {
	return func(resp *http.Response, body []byte) error {
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		if resp.Header.Get("x-devllm-backend") != "bench" {
			return fmt.Errorf("answer did not come from devllm: %v", resp.Header)
		}
		want := model
		if routed && resp.Header.Get(gateway.HeaderDegraded) != "" {
			want = "small"
		}
		var c struct {
			Model string `json:"model"`
		}
		if err := json.Unmarshal(body, &c); err != nil || c.Model != want {
			return fmt.Errorf("answer model %q (want %q), err %v: %s", c.Model, want, err, body)
		}
		if routed && resp.Header.Get(gateway.HeaderSelectedModel) == "" {
			return fmt.Errorf("routed answer without %s", gateway.HeaderSelectedModel)
		}
		return nil
	}
}

// withModel replaces the model of a chat body.
func withModel(body []byte, model string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	m["model"] = model
	return json.Marshal(m)
}
