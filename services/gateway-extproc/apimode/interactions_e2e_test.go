package apimode_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// Tests of features working together (each is tested alone elsewhere):
// the Responses API over a ratings decision and over a priced stream,
// and a multi-call algorithm under a token budget.

// TestResponsesRatingsOneAnswer: a Response has one answer. Over a
// ratings decision (one choice per model) the Response carries choice 0
// (the first model of modelRefs), streamed or not: the stream must not
// run the other models' answers into the same output text.
func TestResponsesRatingsOneAnswer(t *testing.T) {
	env := newRatingsEnv(t, nil) // FAKE LLM backends a, b, c
	ctx := context.Background()
	params := responses.ResponseNewParams{Model: "auto", Input: userInput("arena x what is 2+2?")}

	resp, err := env.e.Client.Responses.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.OutputText(); got != "answer from a" {
		t.Fatalf("JSON Response output text %q, want choice 0's", got)
	}

	s := env.e.Client.Responses.NewStreaming(ctx, params)
	var deltas strings.Builder
	var final responses.Response
	for s.Next() {
		ev := s.Current()
		switch ev.Type {
		case "response.output_text.delta":
			deltas.WriteString(ev.Delta)
		case "response.completed":
			final = ev.Response
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if got := deltas.String(); got != "answer from a" {
		t.Errorf("streamed deltas %q, want choice 0's only", got)
	}
	if got := final.OutputText(); got != "answer from a" {
		t.Errorf("streamed Response output text %q, want choice 0's", got)
	}
}

// TestResponsesStreamKeepsComments: the end-of-stream comment events of
// a chat stream (here the cost, ": x-vsr-cost …") reach a streaming
// Responses client once, before response.completed, instead of being
// dropped by the event translation.
func TestResponsesStreamKeepsComments(t *testing.T) {
	e := newCostEnv(t) // FAKE LLM backends
	s := e.client.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{Model: "auto", Input: userInput("priced x")})
	var text string
	for s.Next() {
		if ev := s.Current(); ev.Type == "response.completed" {
			text = ev.Response.OutputText()
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if text != "streamed hello" {
		t.Fatalf("output text %q", text)
	}
	raw := e.raw.String()
	const comment = ": x-vsr-cost 0.000152 USD\n\n"
	i, done := strings.Index(raw, comment), strings.Index(raw, "event: response.completed")
	if i < 0 || strings.Count(raw, comment) != 1 || done < 0 || i > done {
		t.Fatalf("want the cost comment once before response.completed:\n%s", raw)
	}
}

// looperBudgetDoc is a confidence cascade (small is unsure, large is
// sure: both answer) under a token budget of 20 an hour per user.
const looperBudgetDoc = `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: small}
  models:
    - name: small
      backend_refs: [{name: s, endpoint: "SMALL"}]
    - name: large
      backend_refs: [{name: l, endpoint: "LARGE"}]
routing:
  signals:
    keywords: [{name: kw, keywords: [x]}]
  decisions:
    - name: cascade
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: small}, {model: large}]
      algorithm:
        type: confidence
        confidence: {confidence_method: logprob, threshold: 0.8, escalation_order: small_to_large, on_error: skip}
global:
  services:
    ratelimit:
      providers:
        - type: local-limiter
          rules:
            - name: tokens
              match: {user: "*"}
              tokens_per_unit: 20
              unit: hour
`

// TestLooperSubCallsSpendTokenBudget: every sub-call of a multi-call
// algorithm spends the caller's token budget (as every one is priced),
// not only the answer the client got.
func TestLooperSubCallsSpendTokenBudget(t *testing.T) {
	// FAKE LLM backends: each answer reports 7 prompt + 2 completion tokens.
	small, large := newLogprobLLM(t, "small", "unsure"), newLogprobLLM(t, "large", "sure")
	doc := strings.NewReplacer("SMALL", small.srv.Listener.Addr().String(), "LARGE", large.srv.Listener.Addr().String()).Replace(looperBudgetDoc)
	spec := apimode.SpecFromYAML(t, doc, "looper budget", func(p config.Problem) bool { return p.Severity == config.SeverityError }, nil)
	clock := &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	handled := make(chan struct{}, 4)
	e := apimode.StartE2E(t, spec, gateway.Stages{Classifier: decisionClassifier{}}, apimode.E2EOptions{
		GatewayOptions: []gateway.Option{gateway.WithClock(clock.Now)},
		Wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer func() { handled <- struct{}{} }()
				h.ServeHTTP(w, r)
			})
		}})
	askAs := func() (*openai.ChatCompletion, *http.Response, error) {
		var resp *http.Response
		c, err := e.Client.Chat.Completions.New(t.Context(), ask("cascade"), option.WithResponseInto(&resp),
			option.WithHeader("x-authz-user-id", "alice"))
		<-handled // the debit happens when the handler returns
		return c, resp, err
	}
	c, resp, err := askAs()
	if err != nil {
		t.Fatal(err)
	}
	if c.Choices[0].Message.Content != "answer from large" || resp.Header.Get(apimode.HeaderLooperModels) != "small,large" {
		t.Fatalf("answer %q by %q", c.Choices[0].Message.Content, resp.Header.Get(apimode.HeaderLooperModels))
	}
	_, resp, err = askAs()
	if err != nil {
		t.Fatal(err)
	}
	// 20 - (9 + 9): both sub-calls were spent, not only large's 9.
	if got := resp.Header.Get(gateway.HeaderRateLimitRemainingTok); got != "2" {
		t.Errorf("remaining tokens after one cascade %q, want 2", got)
	}
}

// TestRateLimitBeforeRAG: a request the rate limits refuse is refused
// before the decision's plugins reach out: the search service of its rag
// plugin is not asked.
func TestRateLimitBeforeRAG(t *testing.T) {
	llm := newRecordingLLM(t) // FAKE LLM backend
	search := newSearchAPI(t) // a real HTTP server playing the search service
	doc := strings.NewReplacer("BACKEND", llm.srv.Listener.Addr().String(), "SEARCH", search.srv.URL).Replace(ragConfig) + `global:
  services:
    ratelimit:
      providers:
        - type: local-limiter
          rules:
            - {name: one-an-hour, match: {model: m1}, requests_per_unit: 1, unit: hour}
`
	spec := apimode.SpecFromYAML(t, doc, "rag ratelimit", apimode.PluginProblem, nil)
	spec.StageTimeout = 30 * time.Second
	client := apimode.StartE2E(t, spec, gateway.Stages{Classifier: decisionClassifier{}}, apimode.E2EOptions{}).Client
	askRAG := func(text string) error {
		_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "auto",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}})
		return err
	}
	if err := askRAG("agent x how fast do widgets ship?"); err != nil {
		t.Fatal(err)
	}
	err := askRAG("agent x are returns free?")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second request: want 429, got %v", err)
	}
	if n := search.count(); n != 1 {
		t.Errorf("the search service got %d queries, want 1 (none for the refused request)", n)
	}
}

// TestRateLimitHeadersDoNotMix: the router's x-ratelimit-* headers
// replace a provider's whole set (a budget of the router's key, shared
// by every caller), so a client never reads the router's request budget
// next to the provider's token budget. Without router limits the
// provider's headers pass as they came.
func TestRateLimitHeadersDoNotMix(t *testing.T) {
	// FAKE LLM backend answering with a hosted provider's budget headers.
	llm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Ratelimit-Limit-Requests", "500")
		w.Header().Set("X-Ratelimit-Remaining-Requests", "499")
		w.Header().Set("X-Ratelimit-Limit-Tokens", "30000")
		w.Header().Set("X-Ratelimit-Remaining-Tokens", "29000")
		_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"m1","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`)
	}))
	t.Cleanup(llm.Close)
	decisions := `    - name: d
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
`
	limits := `global:
  services:
    ratelimit:
      providers:
        - type: local-limiter
          rules:
            - {name: three-a-minute, match: {user: "*"}, requests_per_unit: 3, unit: minute}
`
	for _, tc := range []struct {
		name                 string
		doc                  string
		wantReqs, wantTokens string
	}{
		{"router limits requests", apimode.KeywordDocHead + decisions + limits, "3", ""},
		{"no router limits", apimode.KeywordDocHead + decisions, "500", "30000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.ReplaceAll(tc.doc, "BACKEND", llm.Listener.Addr().String())
			spec := apimode.SpecFromYAML(t, doc, "ratelimit headers", func(p config.Problem) bool { return p.Severity == config.SeverityError }, nil)
			e := apimode.StartE2E(t, spec, gateway.Stages{}, apimode.E2EOptions{})
			var resp *http.Response
			if _, err := e.Client.Chat.Completions.New(t.Context(), ask("d"), option.WithResponseInto(&resp)); err != nil {
				t.Fatal(err)
			}
			h := resp.Header
			if got := h.Get(gateway.HeaderRateLimitLimitRequests); got != tc.wantReqs {
				t.Errorf("x-ratelimit-limit-requests %q, want %q", got, tc.wantReqs)
			}
			if got := h.Get(gateway.HeaderRateLimitLimitTokens); got != tc.wantTokens {
				t.Errorf("x-ratelimit-limit-tokens %q, want %q", got, tc.wantTokens)
			}
			if n := len(h.Values(gateway.HeaderRateLimitLimitRequests)); n != 1 {
				t.Errorf("%d x-ratelimit-limit-requests values", n)
			}
		})
	}
}
