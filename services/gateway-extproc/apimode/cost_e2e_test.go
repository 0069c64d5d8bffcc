package apimode_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// newCachingLLM is a FAKE OpenAI-compatible backend (no model server runs
// here) whose answers report provider prompt caching: JSON answers carry
// prompt_tokens_details.cached_tokens, streams end with a usage chunk only
// when the request asked for stream_options.include_usage (never when
// deaf: a server that ignores stream_options).
func newCachingLLM(t *testing.T, deaf bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Stream        bool `json:"stream"`
			StreamOptions struct {
				IncludeUsage bool `json:"include_usage"`
			} `json:"stream_options"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		const usage = `{"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,"prompt_tokens_details":{"cached_tokens":800},"completion_tokens_details":{"reasoning_tokens":50}}`
		if !body.Stream {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":"c1","object":"chat.completion","created":1,"model":"cheap","choices":[{"index":0,"message":{"role":"assistant","content":"cached hello"},"finish_reason":"stop"}],"usage":%s}`, usage)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"id\":\"s1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"cheap\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"streamed hello\"},\"finish_reason\":null}]}\n\n")
		fmt.Fprint(w, "data: {\"id\":\"s1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"cheap\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
		if body.StreamOptions.IncludeUsage && !deaf {
			fmt.Fprintf(w, "data: {\"id\":\"s1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"cheap\",\"choices\":[],\"usage\":%s}\n\n", usage)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

const costConfig = `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: cheap}
  models:
    - name: cheap
      pricing: {currency: USD, prompt_per_1m: 0.18, cached_input_per_1m: 0.04, cache_write_per_1m: 0.225, completion_per_1m: 0.42}
      backend_refs: [{name: c, endpoint: "CHEAP"}]
    - name: free
      backend_refs: [{name: f, endpoint: "FREE"}]
    - name: deaf
      pricing: {currency: USD, prompt_per_1m: 0.18, completion_per_1m: 0.42}
      backend_refs: [{name: d, endpoint: "DEAF"}]
    - name: small
      pricing: {prompt_per_1m: 0.1, completion_per_1m: 0.2}
      backend_refs: [{name: s, endpoint: "SMALL"}]
    - name: large
      pricing: {prompt_per_1m: 1, completion_per_1m: 2}
      backend_refs: [{name: l, endpoint: "LARGE"}]
routing:
  signals:
    keywords: [{name: kw, keywords: [x]}]
  decisions:
    - name: priced
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: cheap}]
      plugins:
        - {type: router_replay, configuration: {enabled: true}}
    - name: unpriced
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: free}]
    - name: nousage
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: deaf}]
    - name: cascade
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: small}, {model: large}]
      algorithm:
        type: confidence
        confidence: {confidence_method: logprob, threshold: 0.8, escalation_order: small_to_large, on_error: skip}
      plugins:
        - {type: router_replay, configuration: {enabled: true}}
`

type costEnv struct {
	client openai.Client
	url    string
	reg    *prometheus.Registry
	// raw is the last response body the SDK read (a tee).
	raw *bytes.Buffer
	// done gets one value each time API mode's handler returned from a
	// chat completion (the request's accounting is then over).
	done chan struct{}
}

func newCostEnv(t *testing.T) *costEnv {
	t.Helper()
	cheap, free, deaf := newCachingLLM(t, false), newCachingLLM(t, false), newCachingLLM(t, true)
	small, large := newLogprobLLM(t, "small", "unsure"), newLogprobLLM(t, "large", "sure")
	yaml := strings.NewReplacer("CHEAP", cheap.Listener.Addr().String(), "FREE", free.Listener.Addr().String(), "DEAF", deaf.Listener.Addr().String(),
		"SMALL", small.srv.Listener.Addr().String(), "LARGE", large.srv.Listener.Addr().String()).Replace(costConfig)
	spec := apimode.SpecFromYAML(t, yaml, "cost e2e", func(p config.Problem) bool { return p.Severity == config.SeverityError }, nil)
	e := &costEnv{reg: prometheus.NewRegistry(), raw: &bytes.Buffer{}, done: make(chan struct{}, 16)}
	m, err := metrics.NewGateway(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	e2e := apimode.StartE2E(t, spec, gateway.Stages{Classifier: decisionClassifier{}},
		apimode.E2EOptions{GatewayOptions: []gateway.Option{gateway.WithMetrics(m)},
			Options: []apimode.Option{apimode.WithUpstreamObserver(m)},
			Wrap: func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/v1/chat/completions" {
						defer func() { e.done <- struct{}{} }()
					}
					h.ServeHTTP(w, r)
				})
			}})
	e.url = e2e.URL
	tee := option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		resp, err := next(r)
		if err == nil {
			e.raw.Reset()
			resp.Body = struct {
				io.Reader
				io.Closer
			}{io.TeeReader(resp.Body, e.raw), resp.Body}
		}
		return resp, err
	})
	e.client = openai.NewClient(option.WithBaseURL(e.url+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0), tee)
	return e
}

func (e *costEnv) counter(t *testing.T, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	return gatheredCounter(t, e.reg, name, labels)
}

// replayCost is the cost and user fields of decision's newest
// router_replay record.
func (e *costEnv) replayCost(t *testing.T, decision string) ([]gateway.Money, string) {
	t.Helper()
	code, body := getReplay(t, e.url+apimode.PathRouterReplay+"?decision="+decision+"&limit=1", "")
	var list replayList
	if code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Data) != 1 {
		t.Fatalf("replay list: %d %s", code, body)
	}
	if !strings.Contains(string(body), `"cost":[{"currency":`) {
		t.Fatalf("record without a cost field: %s", body)
	}
	return list.Data[0].Cost, list.Data[0].User
}

// ended waits until API mode's handler returned for the last request.
func (e *costEnv) ended(t *testing.T) {
	t.Helper()
	select {
	case <-e.done:
	case <-t.Context().Done():
		t.Fatal("handler did not return")
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// TestCostE2E drives API mode with the OpenAI Go SDK against FAKE LLM
// backends: a JSON answer with cached prompt tokens, a stream with
// include_usage (the cost arrives as an SSE comment the SDK skips), a
// stream without usage (no cost, counted unknown), an unpriced model (no
// header, no series) and a confidence cascade whose cost is the sum of its
// sub-calls; the series are read through a real Prometheus registry.
func TestCostE2E(t *testing.T) {
	e := newCostEnv(t)
	ctx := t.Context()
	msg := func(s string) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: "auto", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(s)}}
	}
	// (1000-800)×0.18 + 800×0.04 + 200×0.42 (reasoning inside completion).
	const answerCost = (200*0.18 + 800*0.04 + 200*0.42) / 1e6

	t.Run("json answer with cached tokens", func(t *testing.T) {
		var resp *http.Response
		c, err := e.client.Chat.Completions.New(ctx, msg("priced x"), option.WithResponseInto(&resp),
			option.WithHeader("x-authz-user-id", "alice"))
		if err != nil {
			t.Fatal(err)
		}
		e.ended(t)
		if c.Choices[0].Message.Content != "cached hello" || c.Usage.PromptTokensDetails.CachedTokens != 800 {
			t.Fatalf("answer %+v", c)
		}
		if got := resp.Header.Get(gateway.HeaderCost); got != "0.000152" || resp.Header.Get(gateway.HeaderCostCurrency) != "USD" {
			t.Fatalf("%s = %q, want 0.000152 (USD)", gateway.HeaderCost, got)
		}
		if v, ok := e.counter(t, metrics.ModelCost, map[string]string{"model": "cheap", "currency": "USD"}); !ok || !near(v, answerCost) {
			t.Fatalf("llm_model_cost_total{cheap} = %v (%v), want %v", v, ok, answerCost)
		}
		if v, ok := e.counter(t, metrics.GatewayDecisionCost, map[string]string{"decision_name": "priced", "currency": "USD"}); !ok || !near(v, answerCost) {
			t.Fatalf("decision cost = %v (%v)", v, ok)
		}
		if c, user := e.replayCost(t, "priced"); len(c) != 1 || c[0].Currency != "USD" || !near(c[0].Amount, answerCost) || user != "alice" {
			t.Fatalf("replay record cost %+v of %q, want %v USD of alice", c, user, answerCost)
		}
	})

	t.Run("stream with include_usage", func(t *testing.T) {
		p := msg("priced x")
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		var resp *http.Response
		s := e.client.Chat.Completions.NewStreaming(ctx, p, option.WithResponseInto(&resp))
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		e.ended(t)
		if acc.Choices[0].Message.Content != "streamed hello" || acc.Usage.PromptTokens != 1000 {
			t.Fatalf("accumulated %+v", acc.ChatCompletion)
		}
		if h := resp.Header.Get(gateway.HeaderCost); h != "" {
			t.Fatalf("a stream's headers carry %s %q before its usage is known", gateway.HeaderCost, h)
		}
		raw := e.raw.String()
		if !strings.HasSuffix(raw, ": x-vsr-cost 0.000152 USD\n\ndata: [DONE]\n\n") {
			t.Fatalf("stream does not end with the cost comment before [DONE]:\n%s", raw)
		}
		if v, _ := e.counter(t, metrics.ModelCost, map[string]string{"model": "cheap"}); !near(v, 2*answerCost) {
			t.Fatalf("llm_model_cost_total{cheap} = %v, want %v", v, 2*answerCost)
		}
	})

	t.Run("stream without usage has no cost", func(t *testing.T) {
		s := e.client.Chat.Completions.NewStreaming(ctx, msg("nousage x"))
		for s.Next() {
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		e.ended(t)
		if strings.Contains(e.raw.String(), "x-vsr-cost") {
			t.Fatalf("cost comment without usage:\n%s", e.raw.String())
		}
		if _, ok := e.counter(t, metrics.ModelCost, map[string]string{"model": "deaf"}); ok {
			t.Fatal("llm_model_cost_total has a series for an answer without usage")
		}
		if v, ok := e.counter(t, metrics.GatewayCostUnknown, map[string]string{"model": "deaf"}); !ok || v != 1 {
			t.Fatalf("semrouter_gateway_cost_unknown_total{deaf} = %v (%v), want 1", v, ok)
		}
	})

	t.Run("unpriced model", func(t *testing.T) {
		var resp *http.Response
		if _, err := e.client.Chat.Completions.New(ctx, msg("unpriced x"), option.WithResponseInto(&resp)); err != nil {
			t.Fatal(err)
		}
		e.ended(t)
		if h := resp.Header.Get(gateway.HeaderCost); h != "" {
			t.Fatalf("unpriced model answered with %s %q", gateway.HeaderCost, h)
		}
		if _, ok := e.counter(t, metrics.ModelCost, map[string]string{"model": "free"}); ok {
			t.Fatal("llm_model_cost_total has a series for the unpriced model")
		}
		if _, ok := e.counter(t, metrics.GatewayCostUnknown, map[string]string{"model": "free"}); ok {
			t.Fatal("an unpriced model counted as unknown cost")
		}
	})

	t.Run("looper sums its sub-calls", func(t *testing.T) {
		var resp *http.Response
		c, err := e.client.Chat.Completions.New(ctx, msg("cascade x"), option.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		e.ended(t)
		if c.Choices[0].Message.Content != "answer from large" || resp.Header.Get(apimode.HeaderLooperModels) != "small,large" {
			t.Fatalf("answer %q by %q", c.Choices[0].Message.Content, resp.Header.Get(apimode.HeaderLooperModels))
		}
		// Each FAKE sub-call reports 7 prompt and 2 completion tokens.
		const smallCost, largeCost = (7*0.1 + 2*0.2) / 1e6, (7*1.0 + 2*2.0) / 1e6
		if got := resp.Header.Get(gateway.HeaderCost); got != "0.0000121" || resp.Header.Get(gateway.HeaderCostCurrency) != "USD" {
			t.Fatalf("%s = %q, want 0.0000121 USD (both sub-calls)", gateway.HeaderCost, got)
		}
		if v, _ := e.counter(t, metrics.ModelCost, map[string]string{"model": "small"}); !near(v, smallCost) {
			t.Fatalf("llm_model_cost_total{small} = %v, want %v", v, smallCost)
		}
		if v, _ := e.counter(t, metrics.ModelCost, map[string]string{"model": "large"}); !near(v, largeCost) {
			t.Fatalf("llm_model_cost_total{large} = %v, want %v (priced once, not again as the served answer)", v, largeCost)
		}
		if v, _ := e.counter(t, metrics.GatewayDecisionCost, map[string]string{"decision_name": "cascade"}); !near(v, smallCost+largeCost) {
			t.Fatalf("decision cost{cascade} = %v, want %v", v, smallCost+largeCost)
		}
		if c, _ := e.replayCost(t, "cascade"); len(c) != 1 || !near(c[0].Amount, smallCost+largeCost) {
			t.Fatalf("replay record cost %+v, want %v", c, smallCost+largeCost)
		}
	})

	t.Run("looper streamed answer carries the sum", func(t *testing.T) {
		s := e.client.Chat.Completions.NewStreaming(ctx, msg("cascade x"))
		for s.Next() {
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		e.ended(t)
		if !strings.Contains(e.raw.String(), ": x-vsr-cost 0.0000121 USD\n\ndata: [DONE]") {
			t.Fatalf("looper stream without the summed cost comment:\n%s", e.raw.String())
		}
	})
}
