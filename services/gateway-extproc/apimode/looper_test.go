package apimode_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// logprobLLM is a FAKE LLM backend (no model server runs here): it
// answers non-streaming chat completions whose token logprobs the test
// chooses (sure or unsure), or an error status, and records each request.
type logprobLLM struct {
	name string
	srv  *httptest.Server
	mu   sync.Mutex
	mode string // "sure", "unsure" or "status:<code>"
	reqs []map[string]any
	hdrs []http.Header
}

func newLogprobLLM(t *testing.T, name, mode string) *logprobLLM {
	f := &logprobLLM{name: name, mode: mode}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *logprobLLM) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	f.reqs = append(f.reqs, body)
	f.hdrs = append(f.hdrs, r.Header.Clone())
	mode := f.mode
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	var code int
	if _, err := fmt.Sscanf(mode, "status:%d", &code); err == nil {
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"message":"%s is down","type":"server_error"}}`, f.name)
		return
	}
	lp := -0.01
	if mode == "unsure" {
		lp = -1.5
	}
	fmt.Fprintf(w, `{"id":"c-%[1]s","object":"chat.completion","created":1,"model":"%[1]s","choices":[{"index":0,"message":{"role":"assistant","content":"answer from %[1]s"},"finish_reason":"stop","logprobs":{"content":[{"token":"a","logprob":%[2]g,"top_logprobs":[]},{"token":"b","logprob":%[2]g,"top_logprobs":[]}]}}],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}`, f.name, lp)
}

func (f *logprobLLM) requests() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.reqs...)
}

const looperConfig = `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: small}
  models:
    - name: small
      pricing: {prompt_per_1m: 0.1, completion_per_1m: 0.2}
      backend_refs: [{name: s, endpoint: "SMALL"}]
    - name: large
      pricing: {prompt_per_1m: 1, completion_per_1m: 2}
      backend_refs: [{name: l, endpoint: "LARGE", api_key: large-key}]
    - name: judge
      backend_refs: [{name: j, endpoint: "JUDGE"}]
    - name: claude
      api_format: anthropic
      backend_refs: [{name: c, endpoint: "CLAUDE", api_key: claude-key}]
routing:
  signals:
    keywords: [{name: kw, keywords: [x]}]
  decisions:
    - name: cascade
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: large}, {model: small}]
      algorithm:
        type: confidence
        confidence: {confidence_method: logprob, threshold: 0.8, escalation_order: small_to_large, on_error: skip}
    - name: strict
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: small}, {model: large}]
      algorithm:
        type: confidence
        confidence: {threshold: 0.8, on_error: fail}
    - name: mix
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: small}, {model: large}]
      algorithm:
        type: automix
        automix: {verification_threshold: 0.8, max_escalations: 1, cost_aware_routing: true, cost_quality_tradeoff: 0.1}
    - name: panel
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: small}, {model: large}]
      algorithm:
        type: fusion
        fusion:
          model: judge
          analysis_models: [small, large]
          analysis_overrides: [{model: large, temperature: 0.15, max_completion_tokens: 77}]
          max_concurrent: 2
          min_successful_responses: 1
          on_error: skip
    - name: anthro
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: claude}, {model: large}]
      algorithm: {type: confidence, confidence: {threshold: 0.5}}
    - name: rounds
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: small}, {model: large}]
      algorithm:
        type: remom
        remom: {breadth_schedule: [2, 1], synthesis_model: judge, max_concurrent: 2, temperature: 0.5}
`

type looperEnv struct {
	client              openai.Client
	small, large, judge *logprobLLM
	claude              *fakeMessagesAPI
	reg                 *prometheus.Registry
}

// fakeMessagesAPI is a FAKE Anthropic Messages API backend: it answers
// every request with one text block (the Messages API has no logprobs).
type fakeMessagesAPI struct {
	srv   *httptest.Server
	mu    sync.Mutex
	paths []string
	keys  []string
}

func newFakeMessagesAPI(t *testing.T) *fakeMessagesAPI {
	f := &fakeMessagesAPI{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		f.mu.Lock()
		f.paths = append(f.paths, r.URL.Path)
		f.keys = append(f.keys, r.Header.Get("x-api-key"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"answer from claude"}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":3}}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func newLooperEnv(t *testing.T, small, large, judge string) *looperEnv {
	t.Helper()
	e := &looperEnv{small: newLogprobLLM(t, "small", small), large: newLogprobLLM(t, "large", large),
		judge: newLogprobLLM(t, "judge", judge), claude: newFakeMessagesAPI(t), reg: prometheus.NewRegistry()}
	yaml := strings.NewReplacer("SMALL", e.small.srv.Listener.Addr().String(), "LARGE", e.large.srv.Listener.Addr().String(),
		"JUDGE", e.judge.srv.Listener.Addr().String(), "CLAUDE", e.claude.srv.Listener.Addr().String()).Replace(looperConfig)
	spec := apimode.SpecFromYAML(t, yaml, "looper e2e", func(p config.Problem) bool { return strings.Contains(p.Message, "not supported") }, nil)
	m, err := metrics.NewGateway(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	e.client = apimode.StartE2E(t, spec, gateway.Stages{Classifier: decisionClassifier{}},
		apimode.E2EOptions{Options: []apimode.Option{apimode.WithUpstreamObserver(m)}}).Client
	return e
}

func (e *looperEnv) counter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	v, _ := gatheredCounter(t, e.reg, name, labels)
	return v
}

func ask(decision string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(decision + " x what is 2+2?")}}
}

func TestLooperConfidence(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		decision                string
		small, large            string
		wantSmall, wantLarge    int
		wantModel, wantCalled   string
		wantStatus              int
		wantEscalations         float64
		wantConfidenceAtLeast   float64
		wantConfidenceBelowOrEq float64
	}{
		{name: "confident first answer", decision: "cascade", small: "sure", large: "sure", wantSmall: 1,
			wantModel: "small", wantCalled: "small", wantConfidenceAtLeast: 0.8, wantConfidenceBelowOrEq: 1},
		{name: "low confidence escalates", decision: "cascade", small: "unsure", large: "sure", wantSmall: 1, wantLarge: 1,
			wantModel: "large", wantCalled: "small,large", wantEscalations: 1, wantConfidenceAtLeast: 0.8, wantConfidenceBelowOrEq: 1},
		{name: "failing first model, on_error skip", decision: "cascade", small: "status:500", large: "unsure", wantSmall: 1, wantLarge: 1,
			wantModel: "large", wantCalled: "small,large", wantEscalations: 1, wantConfidenceBelowOrEq: 0.8},
		{name: "failing first model, on_error fail", decision: "strict", small: "status:500", large: "sure", wantSmall: 1,
			wantStatus: http.StatusInternalServerError, wantCalled: "small"},
		{name: "automix escalates once", decision: "mix", small: "unsure", large: "sure", wantSmall: 1, wantLarge: 1,
			wantModel: "large", wantCalled: "small,large", wantEscalations: 1, wantConfidenceAtLeast: 0.8, wantConfidenceBelowOrEq: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newLooperEnv(t, tc.small, tc.large, "sure")
			var resp *http.Response
			c, err := e.client.Chat.Completions.New(context.Background(), ask(tc.decision), option.WithResponseInto(&resp))
			if got := resp.Header.Get(apimode.HeaderLooperModels); got != tc.wantCalled {
				t.Errorf("%s = %q, want %q", apimode.HeaderLooperModels, got, tc.wantCalled)
			}
			if len(e.small.requests()) != tc.wantSmall || len(e.large.requests()) != tc.wantLarge {
				t.Errorf("calls: small %d large %d, want %d and %d", len(e.small.requests()), len(e.large.requests()), tc.wantSmall, tc.wantLarge)
			}
			if got := e.counter(t, metrics.GatewayLooperEscalate, nil); got != tc.wantEscalations {
				t.Errorf("escalations metric = %v, want %v", got, tc.wantEscalations)
			}
			if got := e.counter(t, metrics.GatewayLooperCalls, map[string]string{"model": "small"}); got != 1 {
				t.Errorf("sub-calls of small counted %v, want 1", got)
			}
			if tc.wantStatus != 0 {
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.wantStatus {
					t.Fatalf("error %v, want status %d", err, tc.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Choices[0].Message.Content; got != "answer from "+tc.wantModel {
				t.Errorf("content %q, want the answer of %s", got, tc.wantModel)
			}
			if got := resp.Header.Get("x-vsr-selected-model"); got != tc.wantModel {
				t.Errorf("x-vsr-selected-model = %q, want %q", got, tc.wantModel)
			}
			var conf float64
			if _, err := fmt.Sscanf(resp.Header.Get(apimode.HeaderLooperConfidence), "%g", &conf); err != nil ||
				conf < tc.wantConfidenceAtLeast || conf > tc.wantConfidenceBelowOrEq {
				t.Errorf("%s = %q, want in [%v,%v]", apimode.HeaderLooperConfidence, resp.Header.Get(apimode.HeaderLooperConfidence),
					tc.wantConfidenceAtLeast, tc.wantConfidenceBelowOrEq)
			}
			// every sub-call is non-streaming and asks for logprobs
			for _, r := range append(e.small.requests(), e.large.requests()...) {
				if r["logprobs"] != true || r["stream"] != nil {
					t.Errorf("sub-call body %v", r)
				}
			}
		})
	}
}

func TestLooperStreaming(t *testing.T) {
	for _, tc := range []struct {
		name      string
		withUsage bool
	}{{"without usage", false}, {"with include_usage", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newLooperEnv(t, "unsure", "sure", "sure")
			p := ask("cascade")
			if tc.withUsage {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			var resp *http.Response
			s := e.client.Chat.Completions.NewStreaming(context.Background(), p, option.WithResponseInto(&resp))
			var acc openai.ChatCompletionAccumulator
			chunks, usageChunks := 0, 0
			for s.Next() {
				ch := s.Current()
				acc.AddChunk(ch)
				chunks++
				if ch.Usage.TotalTokens > 0 {
					usageChunks++
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if got := acc.Choices[0].Message.Content; got != "answer from large" {
				t.Errorf("streamed content %q", got)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Errorf("content-type %q", ct)
			}
			if got := resp.Header.Get(apimode.HeaderLooperModels); got != "small,large" {
				t.Errorf("%s = %q", apimode.HeaderLooperModels, got)
			}
			want := 0
			if tc.withUsage {
				want = 1
			}
			if usageChunks != want || chunks < 2 {
				t.Errorf("%d chunks, %d usage chunks, want %d", chunks, usageChunks, want)
			}
			for _, r := range e.large.requests() {
				if r["stream"] != nil || r["stream_options"] != nil {
					t.Errorf("sub-call streams: %v", r)
				}
			}
		})
	}
}

func TestLooperFusion(t *testing.T) {
	e := newLooperEnv(t, "status:503", "sure", "sure")
	var resp *http.Response
	c, err := e.client.Chat.Completions.New(context.Background(), ask("panel"), option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Choices[0].Message.Content; got != "answer from judge" {
		t.Errorf("content %q, want the judge's", got)
	}
	if got := resp.Header.Get("x-vsr-selected-model"); got != "judge" {
		t.Errorf("x-vsr-selected-model = %q", got)
	}
	if got := resp.Header.Get(apimode.HeaderLooperModels); got != "small,large,judge" {
		t.Errorf("%s = %q", apimode.HeaderLooperModels, got)
	}
	lr := e.large.requests()
	if len(lr) != 1 || lr[0]["temperature"] != 0.15 || lr[0]["max_completion_tokens"] != float64(77) {
		t.Errorf("analysis request of large: %v", lr)
	}
	jr := e.judge.requests()
	if len(jr) != 1 {
		t.Fatalf("judge got %d requests", len(jr))
	}
	msgs := jr[0]["messages"].([]any)
	last := msgs[len(msgs)-1].(map[string]any)
	prompt, _ := last["content"].(string)
	if last["role"] != "user" || !strings.Contains(prompt, "answer from large") || strings.Contains(prompt, "(small)") {
		t.Errorf("synthesis message %v", last)
	}
	if got := e.counter(t, metrics.GatewayLooperCalls, map[string]string{"model": "small", "outcome": "failed"}); got != 1 {
		t.Errorf("failed analysis counted %v, want 1", got)
	}
}

func TestLooperReMoM(t *testing.T) {
	e := newLooperEnv(t, "sure", "sure", "sure")
	var resp *http.Response
	c, err := e.client.Chat.Completions.New(context.Background(), ask("rounds"), option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Choices[0].Message.Content; got != "answer from judge" {
		t.Errorf("content %q, want the synthesis", got)
	}
	// round one: small and large; round two: small (round-robin); then the judge
	if got := resp.Header.Get(apimode.HeaderLooperModels); got != "small,large,small,judge" {
		t.Errorf("%s = %q", apimode.HeaderLooperModels, got)
	}
	sr := e.small.requests()
	if len(sr) != 2 || len(e.large.requests()) != 1 || len(e.judge.requests()) != 1 {
		t.Fatalf("calls: small %d large %d judge %d", len(sr), len(e.large.requests()), len(e.judge.requests()))
	}
	// the round-two call sees round one's answers
	refined := 0
	for _, r := range sr {
		msgs := r["messages"].([]any)
		last, _ := msgs[len(msgs)-1].(map[string]any)["content"].(string)
		if strings.Contains(last, "answer from small") && strings.Contains(last, "answer from large") {
			refined++
		}
		if r["temperature"] != 0.5 {
			t.Errorf("round call temperature %v", r["temperature"])
		}
	}
	if refined != 1 {
		t.Errorf("%d small calls saw round one's answers, want 1", refined)
	}
}

// TestLooperSubCallPath: sub-calls take API mode's call path, so the
// backend's credentials and the Anthropic translation apply; an answer
// without logprobs (Messages API) never passes the threshold.
func TestLooperSubCallPath(t *testing.T) {
	e := newLooperEnv(t, "sure", "sure", "sure")
	var resp *http.Response
	c, err := e.client.Chat.Completions.New(context.Background(), ask("anthro"), option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Choices[0].Message.Content; got != "answer from large" {
		t.Errorf("content %q, want large's", got)
	}
	if got := resp.Header.Get(apimode.HeaderLooperModels); got != "claude,large" {
		t.Errorf("%s = %q", apimode.HeaderLooperModels, got)
	}
	e.claude.mu.Lock()
	paths, keys := e.claude.paths, e.claude.keys
	e.claude.mu.Unlock()
	if len(paths) != 1 || paths[0] != "/v1/messages" || keys[0] != "claude-key" {
		t.Errorf("anthropic backend saw paths %v keys %v", paths, keys)
	}
	e.large.mu.Lock()
	hdrs := e.large.hdrs
	e.large.mu.Unlock()
	if len(hdrs) != 1 || hdrs[0].Get("Authorization") != "Bearer large-key" || hdrs[0].Get("x-selected-model") != "large" {
		t.Errorf("large backend headers %v", hdrs)
	}
}
