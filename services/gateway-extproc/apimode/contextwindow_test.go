package apimode

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// contextWindowYAML routes decision "long" to tiny (64-token window),
// then mid (1000), default big (no card: unknown window).
const contextWindowYAML = `version: v0.3
listeners: [{name: api, port: 8899}]
providers:
  defaults: {default_model: %s}
  models:
    - name: tiny
      backend_refs: [{name: t, endpoint: "%s"}]
    - name: mid
      backend_refs: [{name: m, endpoint: "%s"}]
    - name: big
      backend_refs: [{name: b, endpoint: "%s"}]
routing:
  modelCards:
    - {name: tiny, context_window_size: 64}
    - {name: mid, context_window_size: 1000}
  decisions:
    - name: long
      rules: {operator: AND, conditions: []}
      modelRefs: [{model: tiny}, {model: mid}]
`

// TestContextWindowInFailoverPlan loads a config with small
// context_window_size cards and checks, through the OpenAI SDK, that API
// mode skips models whose window cannot hold the request and answers a 400
// context_length_exceeded when none can.
func TestContextWindowInFailoverPlan(t *testing.T) {
	tests := []struct {
		name       string
		defaultM   string
		prompt     int // tokens, about
		maxTokens  int64
		wantFrom   string // "" : 400
		wantLargst string
	}{
		{name: "fits the first modelRef", defaultM: "big", prompt: 20, wantFrom: "tiny"},
		{name: "too long for tiny: mid", defaultM: "big", prompt: 200, wantFrom: "mid"},
		{name: "completion tokens count: default model", defaultM: "big", prompt: 200, maxTokens: 900, wantFrom: "big"},
		{name: "nothing fits", defaultM: "mid", prompt: 200, maxTokens: 900, wantLargst: "1000 tokens"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fakes := map[string]*fakeLLM{}
			for _, n := range []string{"tiny", "mid", "big"} {
				fakes[n] = newFakeLLM(t, n, "ok")
			}
			doc := fmt.Sprintf(contextWindowYAML, tc.defaultM, fakes["tiny"].endpoint(), fakes["mid"].endpoint(), fakes["big"].endpoint())
			spec := SpecFromYAML(t, doc, "context.yaml", nil, nil)
			fx := newFixture(t, spec, gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "long"}}})
			p := openai.ChatCompletionNewParams{Model: "auto", Messages: userMsg(strings.Repeat("abcd", tc.prompt))}
			if tc.maxTokens > 0 {
				p.MaxTokens = openai.Int(tc.maxTokens)
			}
			var resp *http.Response
			c, err := fx.client.Chat.Completions.New(context.Background(), p, option.WithResponseInto(&resp))
			if tc.wantFrom == "" {
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != gateway.CodeContextLengthExceeded ||
					!strings.Contains(apiErr.Message, tc.wantLargst) {
					t.Fatalf("err = %v, want a 400 %s naming %s", err, gateway.CodeContextLengthExceeded, tc.wantLargst)
				}
				checkNoRequests(t, fakes, "a doomed request")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkAnsweredBy(t, c, resp, tc.wantFrom)
			for n, f := range fakes {
				if want := map[bool]int{true: 1, false: 0}[n == tc.wantFrom]; len(f.requests()) != want {
					t.Errorf("%s got %d requests, want %d", n, len(f.requests()), want)
				}
			}
		})
	}
}
