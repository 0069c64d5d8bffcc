package apimode_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/embedtest"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// groundWeatherTool is the tool result the test requests carry.
const groundWeatherTool = `{"city":"Paris","temperature_c":18,"conditions":"light rain","wind_kmh":12}`

// Answers of the FAKE LLM, picked by a word of the last user turn.
const (
	inventedAnswer  = "It is 23°C in Paris right now, with light rain."
	groundedAnswer  = "It is 18°C in Paris right now, with light rain and wind around 12 km/h."
	unrelatedAnswer = "Paris will host a rain festival at 18 venues this weekend."
	factAnswer      = "The Eiffel Tower is 330 metres tall and opened in 1889."
)

// groundingLLM is a FAKE OpenAI-compatible LLM (no model server runs
// here): it answers inventedAnswer when the last user turn has "invent",
// unrelatedAnswer for "unrelated", factAnswer for "tower", else
// groundedAnswer, as JSON or as an SSE stream of 16-byte chunks.
func groundingLLM(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model    string `json:"model"`
			Stream   bool   `json:"stream"`
			Messages []struct {
				Role    string `json:"role"`
				Content any    `json:"content"`
			} `json:"messages"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		last := ""
		for _, m := range req.Messages {
			if s, ok := m.Content.(string); ok && m.Role == "user" {
				last = s
			}
		}
		answer := groundedAnswer
		switch {
		case strings.Contains(last, "invent"):
			answer = inventedAnswer
		case strings.Contains(last, "unrelated"):
			answer = unrelatedAnswer
		case strings.Contains(last, "tower"):
			answer = factAnswer
		}
		fakeAnswer{ID: "chatcmpl-h", Model: req.Model, Content: answer, Chunk: 16, Prompt: 5, Completion: 20}.write(w, req.Stream)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// factClassifier is a FAKE classifier stage (the classifier service lives
// in another module): it picks the decision named by the user turn's
// first word, and reports the fact_check signal needs_fact_check when
// the turn mentions "fact".
type factClassifier struct{}

func (factClassifier) Classify(_ context.Context, r *gateway.RouteRequest) (*gateway.Decision, error) {
	text := r.Request.LastUserText()
	name, _, _ := strings.Cut(text, " ")
	m := map[string][]string{"keyword": {"kw"}}
	if strings.Contains(text, "fact") {
		m["fact_check"] = []string{"needs_fact_check"}
	} else {
		m["fact_check"] = []string{"no_fact_check_needed"}
	}
	return &gateway.Decision{Name: name, Confidence: 0.9, Matched: m}, nil
}

const hallucinationConfig = apimode.KeywordDocHead + `    - name: header
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: hallucination
          configuration: {enabled: true, use_nli: true, hallucination_action: header, unverified_factual_action: header, include_hallucination_details: true}
        - type: router_replay
          configuration: {enabled: true}
    - name: body
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: hallucination
          configuration: {enabled: true, hallucination_action: body, unverified_factual_action: annotate}
    - name: block
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: hallucination
          configuration: {enabled: true, hallucination_action: block, unverified_factual_action: block}
    - name: off
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: hallucination
          configuration: {enabled: false, hallucination_action: block}
`

type groundingEnv struct {
	url    string
	client openai.Client
	reg    *prometheus.Registry
	gw     *gateway.Gateway
	served chan struct{}
}

// newGroundingEnv serves hallucinationConfig with the real USE-Lite
// embedder as the embedder stage (use_nli) and the FAKE LLM and
// classifier.
func newGroundingEnv(t *testing.T) *groundingEnv {
	t.Helper()
	llm := groundingLLM(t)
	spec := apimode.SpecFromYAML(t, strings.Replace(hallucinationConfig, "BACKEND", llm.Listener.Addr().String(), 1),
		"hallucination e2e", apimode.PluginProblem, nil)
	spec.StageTimeout = 30 * time.Second
	reg := prometheus.NewRegistry()
	m, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{}, 64)
	wrap := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			served <- struct{}{}
		})
	}
	srv := apimode.StartE2E(t, spec, gateway.Stages{Classifier: factClassifier{}, Embedder: embedtest.UseLite(t)},
		apimode.E2EOptions{GatewayOptions: []gateway.Option{gateway.WithMetrics(m)}, Wrap: wrap})
	return &groundingEnv{url: srv.URL, client: srv.Client, reg: reg, gw: srv.Gateway, served: served}
}

// toolChat is a conversation whose answer should rest on groundWeatherTool.
func toolChat(text string) openai.ChatCompletionNewParams {
	call := openai.ChatCompletionMessageToolCallUnionParam{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
		ID: "call_1", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Paris"}`}}}
	return openai.ChatCompletionNewParams{Model: "auto", Messages: []openai.ChatCompletionMessageParamUnion{
		openai.UserMessage(text),
		{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{call}}},
		openai.ToolMessage(groundWeatherTool, "call_1"),
	}}
}

// TestHallucinationJSON: non-streaming answers through the OpenAI SDK.
func TestHallucinationJSON(t *testing.T) {
	e := newGroundingEnv(t)
	cases := []struct {
		name        string
		params      openai.ChatCompletionNewParams
		detected    string // x-vsr-hallucination-detected
		spans       string
		unverified  string
		details     string // a part of x-vsr-hallucination-details
		wantContent string
		wantFinish  string
	}{
		{name: "invented number flagged in headers", params: toolChat("header what is the weather, invent"),
			detected: "true", spans: "1", details: `"reason":"number","missing":["23"]`, wantContent: inventedAnswer, wantFinish: "stop"},
		{name: "grounded answer not flagged", params: toolChat("header what is the weather"),
			detected: "false", wantContent: groundedAnswer, wantFinish: "stop"},
		{name: "off-topic claim flagged by the embedding check", params: toolChat("header what is the weather, unrelated"),
			detected: "true", spans: "1", details: `"reason":"low_similarity"`, wantContent: unrelatedAnswer, wantFinish: "stop"},
		{name: "no context and no fact check: not checked", params: chat("header tower height"),
			wantContent: factAnswer, wantFinish: "stop"},
		{name: "fact check without context: unverified", params: chat("header tower fact"),
			unverified: "true", details: `"verdict":"unverified_factual"`, wantContent: factAnswer, wantFinish: "stop"},
		{name: "body action appends a note", params: toolChat("body weather, invent"),
			detected: "true", spans: "1", wantContent: inventedAnswer + "\n\n[semrouter: some statements", wantFinish: "stop"},
		{name: "annotate on unverified", params: chat("body tower fact"),
			unverified: "true", wantContent: factAnswer + "\n\n[semrouter: this answer makes factual claims", wantFinish: "stop"},
		{name: "block replaces the answer", params: toolChat("block weather, invent"),
			detected: "true", spans: "1", wantContent: gateway.HallucinationRefusal, wantFinish: "content_filter"},
		{name: "block keeps a grounded answer", params: toolChat("block weather"),
			detected: "false", wantContent: groundedAnswer, wantFinish: "stop"},
		{name: "disabled plugin does nothing", params: toolChat("off weather, invent"),
			wantContent: inventedAnswer, wantFinish: "stop"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var raw *http.Response
			res, err := e.client.Chat.Completions.New(context.Background(), tc.params, option.WithResponseInto(&raw))
			if err != nil {
				t.Fatal(err)
			}
			e.waitServed(1)
			for _, h := range []struct{ name, want string }{{gateway.HeaderHallucinationDetected, tc.detected},
				{gateway.HeaderHallucinationSpans, tc.spans}, {gateway.HeaderUnverifiedFactual, tc.unverified}} {
				if got := raw.Header.Get(h.name); got != h.want {
					t.Errorf("%s %q, want %q", h.name, got, h.want)
				}
			}
			if got := raw.Header.Get(gateway.HeaderHallucinationDetails); !strings.Contains(got, tc.details) || (tc.details == "") != (got == "") {
				t.Errorf("details %q, want it to contain %q", got, tc.details)
			}
			if got := res.Choices[0].Message.Content; !strings.HasPrefix(got, tc.wantContent) {
				t.Errorf("content %q, want prefix %q", got, tc.wantContent)
			}
			if got := string(res.Choices[0].FinishReason); got != tc.wantFinish {
				t.Errorf("finish_reason %q, want %q", got, tc.wantFinish)
			}
			if res.Usage.TotalTokens != 25 {
				t.Errorf("usage %+v, want the upstream's", res.Usage)
			}
			if raw.Header.Get(gateway.HeaderDegraded) != "" {
				t.Errorf("degraded %q", raw.Header.Get(gateway.HeaderDegraded))
			}
		})
	}
	want := `
# HELP semrouter_gateway_hallucination_verdicts_total Answers checked by the hallucination plugin, by decision and verdict (grounded, hallucination_detected, unverified_factual, skipped).
# TYPE semrouter_gateway_hallucination_verdicts_total counter
semrouter_gateway_hallucination_verdicts_total{decision_name="block",verdict="grounded"} 1
semrouter_gateway_hallucination_verdicts_total{decision_name="block",verdict="hallucination_detected"} 1
semrouter_gateway_hallucination_verdicts_total{decision_name="body",verdict="hallucination_detected"} 1
semrouter_gateway_hallucination_verdicts_total{decision_name="body",verdict="unverified_factual"} 1
semrouter_gateway_hallucination_verdicts_total{decision_name="header",verdict="grounded"} 1
semrouter_gateway_hallucination_verdicts_total{decision_name="header",verdict="hallucination_detected"} 2
semrouter_gateway_hallucination_verdicts_total{decision_name="header",verdict="unverified_factual"} 1
`
	if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want), metrics.GatewayHallucinationVerdicts); err != nil {
		t.Error(err)
	}
	var verdicts []string
	for _, r := range e.gw.Replay().List(gateway.ReplayFilter{}) {
		verdicts = append(verdicts, r.Hallucination)
	}
	if got := strings.Join(verdicts, ","); !strings.Contains(got, "hallucination_detected") || !strings.Contains(got, "grounded") ||
		!strings.Contains(got, "unverified_factual") {
		t.Errorf("replay verdicts %q, want each verdict of the header decision", got)
	}
}

func (e *groundingEnv) waitServed(n int) {
	for range n {
		<-e.served
	}
}

// TestHallucinationStream: streamed answers through the OpenAI SDK; the
// verdict comes as an SSE comment before [DONE], the body action as a
// last content delta, and block cannot take a streamed answer back.
func TestHallucinationStream(t *testing.T) {
	e := newGroundingEnv(t)
	cases := []struct {
		name        string
		params      openai.ChatCompletionNewParams
		wantContent string
	}{
		{"header passes the stream", toolChat("header weather, invent"), inventedAnswer},
		{"body adds a note delta", toolChat("body weather, invent"), inventedAnswer + "\n\n[semrouter: some statements in this answer are not supported by the context provided with the request; verify them before relying on them.]"},
		{"block falls back to the verdict comment", toolChat("block weather, invent"), inventedAnswer},
		{"grounded stream unchanged", toolChat("body weather"), groundedAnswer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := e.client.Chat.Completions.NewStreaming(context.Background(), tc.params)
			var acc openai.ChatCompletionAccumulator
			for s.Next() {
				acc.AddChunk(s.Current())
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if got := acc.Choices[0].Message.Content; got != tc.wantContent {
				t.Errorf("content %q, want %q", got, tc.wantContent)
			}
		})
	}
	for _, tc := range []struct {
		name, prompt, comment string
	}{
		{"header verdict", "header weather, invent", `: x-vsr-hallucination detected=true spans=1 unverified=false action=header details={"verdict":"hallucination_detected","claims":1,"spans":[{"start":0,"end":`},
		{"block verdict", "block weather, invent", ": x-vsr-hallucination detected=true spans=1 unverified=false action=block-fallback-header"},
		{"grounded verdict", "header weather", ": x-vsr-hallucination detected=false spans=0 unverified=false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"model":"auto","stream":true,"messages":[{"role":"user","content":%q},`+
				`{"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},`+
				`{"role":"tool","tool_call_id":"call_1","content":%q}]}`, tc.prompt, groundWeatherTool)
			req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer k")
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			events := sseLines(resp.Body)
			n := len(events)
			if n < 2 || events[n-1] != "data: [DONE]" || !strings.HasPrefix(events[n-2], tc.comment) {
				t.Fatalf("stream ends with %q, want %q… then [DONE]", events[max(0, n-3):], tc.comment)
			}
		})
	}
}
