package apimode

// FAKE ANTHROPIC: the upstream here is an httptest server imitating the
// Anthropic Messages API (no LLM can run here). It records what it
// receives so the tests check the translated request, and answers in the
// Messages API's JSON, SSE and error shapes.

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
	"github.com/openai/openai-go/v3/shared"
	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

type seenCall struct {
	Path, Query string
	Header      http.Header
	Body        string
}

// fakeAnthropic answers mode: "ok" (a text message), "tool" (a tool_use
// message), "stream" (an SSE text stream), "status:<code>" (an error body).
type fakeAnthropic struct {
	mode string
	srv  *httptest.Server
	mu   sync.Mutex
	seen []seenCall
}

func newFakeAnthropic(t *testing.T, mode string) *fakeAnthropic {
	t.Helper()
	f := &fakeAnthropic{mode: mode}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAnthropic) calls() []seenCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenCall(nil), f.seen...)
}

func (f *fakeAnthropic) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, seenCall{Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(raw)})
	f.mu.Unlock()
	model := gjson.GetBytes(raw, "model").Str
	var code int
	if _, err := fmt.Sscanf(f.mode, "status:%d", &code); err == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		typ := map[int]string{400: "invalid_request_error", 429: "rate_limit_error", 529: "overloaded_error"}[code]
		fmt.Fprintf(w, `{"type":"error","error":{"type":%q,"message":"fake anthropic says %d"}}`, typ, code)
		return
	}
	switch f.mode {
	case "ok":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"msg_1","type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":"bonjour from anthropic"}],`+
			`"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":4}}`, model)
	case "tool":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"msg_2","type":"message","role":"assistant","model":%q,"content":[{"type":"text","text":"checking"},`+
			`{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","usage":{"input_tokens":20,"output_tokens":9}}`, model)
	case "stream":
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		events := []string{
			`event: message_start` + "\n" + `data: {"type":"message_start","message":{"id":"msg_s","type":"message","role":"assistant","model":"` + model + `","content":[],"usage":{"input_tokens":7,"output_tokens":1}}}`,
			`event: content_block_start` + "\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
			`event: ping` + "\n" + `data: {"type":"ping"}`,
			`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"stream"}}`,
			`event: content_block_delta` + "\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ed reply"}}`,
			`event: content_block_stop` + "\n" + `data: {"type":"content_block_stop","index":0}`,
			`event: message_delta` + "\n" + `data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":5}}`,
			`event: message_stop` + "\n" + `data: {"type":"message_stop"}`,
		}
		for _, e := range events {
			fmt.Fprint(w, e+"\n\n")
			fl.Flush()
		}
	}
}

func anthropicSpec(f *fakeAnthropic, fallback *fakeLLM) routes.Spec {
	spec := baseSpec()
	spec.Models = []routes.Model{
		{Name: "claude", ProviderModelID: "claude-test-1", APIFormat: routes.APIFormatAnthropic,
			Backends: []routes.Backend{{Name: "anthropic", BaseURL: f.srv.URL, APIKey: "sk-ant-test", Weight: 1}}},
		{Name: "small", Backends: []routes.Backend{backend("small-1", fallback)}},
	}
	spec.Decisions = []routes.Decision{{Name: "premium", ModelRefs: []routes.ModelRef{{Model: "claude"}, {Model: "small"}}}}
	return spec
}

func premium() gateway.Stages {
	return gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "premium"}}}
}

func TestAnthropicNonStreaming(t *testing.T) {
	ant := newFakeAnthropic(t, "ok")
	small := newFakeLLM(t, "small", "ok")
	fx := newFixture(t, anthropicSpec(ant, small), premium())
	var resp *http.Response
	c, err := fx.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Answer in French."),
			openai.UserMessage("hello"), openai.AssistantMessage("salut"), openai.UserMessage("again")},
		MaxTokens: openai.Int(64), Temperature: openai.Float(0.3),
		Stop: openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"END"}},
	}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if c.Choices[0].Message.Content != "bonjour from anthropic" || c.Choices[0].FinishReason != "stop" || c.Model != "claude-test-1" {
		t.Fatalf("completion %+v", c)
	}
	if c.Usage.PromptTokens != 12 || c.Usage.CompletionTokens != 4 || c.Usage.TotalTokens != 16 || c.Object != "chat.completion" {
		t.Fatalf("usage %+v object %q", c.Usage, c.Object)
	}
	if resp.Header.Get("x-vsr-selected-model") != "claude" {
		t.Errorf("x-vsr-selected-model %q", resp.Header.Get("x-vsr-selected-model"))
	}
	calls := ant.calls()
	if len(calls) != 1 || len(small.requests()) != 0 {
		t.Fatalf("anthropic got %d, small got %d", len(calls), len(small.requests()))
	}
	got := calls[0]
	if got.Path != "/v1/messages" {
		t.Errorf("path %q", got.Path)
	}
	if got.Header.Get("x-api-key") != "sk-ant-test" || got.Header.Get("anthropic-version") != "2023-06-01" || got.Header.Get("Authorization") != "" {
		t.Errorf("headers %v", got.Header)
	}
	for path, want := range map[string]string{"model": `"claude-test-1"`, "system": `"Answer in French."`, "max_tokens": `64`,
		"temperature": `0.3`, "stop_sequences": `["END"]`, "messages.#": `3`, "messages.1.role": `"assistant"`,
		"messages.2.content.0.text": `"again"`} {
		if v := gjson.Get(got.Body, path).Raw; v != want {
			t.Errorf("upstream %s = %s, want %s (body %s)", path, v, want, got.Body)
		}
	}
}

func TestAnthropicToolCalls(t *testing.T) {
	ant := newFakeAnthropic(t, "tool")
	fx := newFixture(t, anthropicSpec(ant, newFakeLLM(t, "small", "ok")), premium())
	c, err := fx.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "auto", Messages: userMsg("weather in Paris?"),
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}})},
		ToolChoice: openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := c.Choices[0].Message
	if c.Choices[0].FinishReason != "tool_calls" || len(m.ToolCalls) != 1 || m.ToolCalls[0].Function.Name != "get_weather" ||
		m.ToolCalls[0].ID != "toolu_1" || m.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` || m.Content != "checking" {
		t.Fatalf("message %+v", m)
	}
	body := ant.calls()[0].Body
	if gjson.Get(body, "tools.0.name").Str != "get_weather" || gjson.Get(body, "tool_choice.type").Str != "any" ||
		gjson.Get(body, "tools.0.input_schema.properties.city.type").Str != "string" {
		t.Fatalf("upstream tools %s", body)
	}
}

func TestAnthropicStreaming(t *testing.T) {
	for _, withUsage := range []bool{true, false} {
		t.Run(fmt.Sprintf("include_usage=%v", withUsage), func(t *testing.T) {
			ant := newFakeAnthropic(t, "stream")
			fx := newFixture(t, anthropicSpec(ant, newFakeLLM(t, "small", "ok")), premium())
			p := openai.ChatCompletionNewParams{Model: "auto", Messages: userMsg("stream please")}
			if withUsage {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			stream := fx.client.Chat.Completions.NewStreaming(context.Background(), p)
			var acc openai.ChatCompletionAccumulator
			chunks, usageChunks := 0, 0
			for stream.Next() {
				ch := stream.Current()
				acc.AddChunk(ch)
				chunks++
				if ch.Object != "chat.completion.chunk" {
					t.Fatalf("chunk object %q", ch.Object)
				}
				if len(ch.Choices) == 0 && ch.Usage.TotalTokens > 0 {
					usageChunks++
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if acc.Choices[0].Message.Content != "streamed reply" || acc.Choices[0].FinishReason != "length" {
				t.Fatalf("accumulated %+v", acc.Choices)
			}
			if withUsage && (usageChunks != 1 || acc.Usage.PromptTokens != 7 || acc.Usage.CompletionTokens != 5) {
				t.Fatalf("usage chunks %d usage %+v", usageChunks, acc.Usage)
			}
			if !withUsage && usageChunks != 0 {
				t.Fatalf("client did not ask for usage but got %d usage chunks", usageChunks)
			}
			if gjson.Get(ant.calls()[0].Body, "stream").Raw != "true" {
				t.Fatalf("upstream stream flag: %s", ant.calls()[0].Body)
			}
		})
	}
}

func TestAnthropicStreamEndsWithDone(t *testing.T) {
	ant := newFakeAnthropic(t, "stream")
	fx := newFixture(t, anthropicSpec(ant, newFakeLLM(t, "small", "ok")), premium())
	resp, err := http.Post(fx.url+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if !strings.HasSuffix(string(raw), "data: [DONE]\n\n") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("content-type %q body %s", resp.Header.Get("Content-Type"), raw)
	}
}

func TestAnthropicErrorsAndFailover(t *testing.T) {
	tests := []struct {
		name       string
		mode       string
		fallback   bool // the decision has an OpenAI model after claude
		wantStatus int  // 0: the fallback answered
		wantCode   string
	}{
		{name: "overloaded fails over to the next modelRef", mode: "status:529", fallback: true},
		{name: "rate limited fails over", mode: "status:429", fallback: true},
		{name: "overloaded without a fallback is a 503", mode: "status:529", wantStatus: 503, wantCode: "overloaded_error"},
		{name: "invalid request is relayed as an OpenAI 400", mode: "status:400", fallback: true, wantStatus: 400, wantCode: "invalid_request_error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ant := newFakeAnthropic(t, tc.mode)
			small := newFakeLLM(t, "small", "ok")
			spec := anthropicSpec(ant, small)
			spec.Models[0].RetryCount = 2
			if !tc.fallback {
				spec.Decisions[0].ModelRefs = spec.Decisions[0].ModelRefs[:1]
				spec.DefaultModel = "claude"
				spec.Models = spec.Models[:1]
			}
			fx := newFixture(t, spec, premium())
			c, err := fx.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "auto", Messages: userMsg("q")})
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if c.Choices[0].Message.Content != "answer from small" {
					t.Fatalf("content %q", c.Choices[0].Message.Content)
				}
				return
			}
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.wantStatus || apiErr.Code != tc.wantCode ||
				!strings.Contains(apiErr.Message, "fake anthropic says") {
				t.Fatalf("err = %v, want %d %s", err, tc.wantStatus, tc.wantCode)
			}
		})
	}
}

// TestAnthropicUntranslatableRequest: a request the Messages API cannot
// express (tool arguments that are no JSON object) never reaches the
// Anthropic backend; the next candidate (an OpenAI model) serves it.
func TestAnthropicUntranslatableRequest(t *testing.T) {
	ant := newFakeAnthropic(t, "ok")
	small := newFakeLLM(t, "small", "ok")
	spec := anthropicSpec(ant, small)
	spec.Models[0].RetryCount = 1 // routes.DefaultRetryCount
	fx := newFixture(t, spec, premium())
	body := `{"model":"auto","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"[1,2]"}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}]}`
	resp, err := http.Post(fx.url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(ant.calls()) != 0 || len(small.requests()) != 1 {
		t.Fatalf("status %d anthropic calls %d small calls %d body %s", resp.StatusCode, len(ant.calls()), len(small.requests()), raw)
	}
}

// TestAPIVersionQuery: backend_refs[].api_version is sent as the
// api-version query parameter, for OpenAI-format (Azure style) and
// Anthropic backends alike; a chat_path query is kept.
func TestAPIVersionQuery(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	azure := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "c", "object": "chat.completion", "model": "gpt",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "azure"}}}})
	}))
	t.Cleanup(azure.Close)
	ant := newFakeAnthropic(t, "ok")
	spec := baseSpec()
	spec.Models = []routes.Model{
		{Name: "small", Backends: []routes.Backend{{Name: "azure", BaseURL: azure.URL + "/openai/deployments/gpt", APIVersion: "2024-10-21", Weight: 1}}},
		{Name: "pathq", Backends: []routes.Backend{{Name: "azure-q", BaseURL: azure.URL, ChatPath: "/chat/completions?tenant=a", APIVersion: "2025-01-01", Weight: 1}}},
		{Name: "claude", APIFormat: routes.APIFormatAnthropic, Backends: []routes.Backend{{Name: "a", BaseURL: ant.srv.URL + "/v1", APIVersion: "beta-1", Weight: 1}}},
	}
	fx := newFixture(t, spec, gateway.Stages{})
	for _, model := range []string{"small", "pathq", "claude"} {
		if _, err := fx.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: model, Messages: userMsg("q")}); err != nil {
			t.Fatalf("%s: %v", model, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"/openai/deployments/gpt/chat/completions?api-version=2024-10-21", "/chat/completions?api-version=2025-01-01&tenant=a"}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Errorf("azure saw %v, want %v", seen, want)
	}
	if c := ant.calls(); len(c) != 1 || c[0].Path != "/v1/messages" || c[0].Query != "api-version=beta-1" {
		t.Errorf("anthropic saw %+v", c)
	}
}

func TestMessagesURL(t *testing.T) {
	tests := []struct {
		name string
		b    routes.Backend
		want string
	}{
		{"base url", routes.Backend{BaseURL: "https://api.anthropic.com"}, "https://api.anthropic.com/v1/messages"},
		{"base url with /v1", routes.Backend{BaseURL: "https://api.anthropic.com/v1/"}, "https://api.anthropic.com/v1/messages"},
		{"chat_path wins", routes.Backend{BaseURL: "https://proxy.example", ChatPath: "/anthropic/messages"}, "https://proxy.example/anthropic/messages"},
		{"endpoint", routes.Backend{Endpoint: "10.0.0.1:8080"}, "http://10.0.0.1:8080/v1/messages"},
		{"https endpoint", routes.Backend{Endpoint: "h:443", Protocol: "https"}, "https://h:443/v1/messages"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := messagesURL(&tc.b); got != tc.want {
				t.Errorf("messagesURL = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAnthropicCredentials(t *testing.T) {
	tests := []struct {
		name        string
		b           routes.Backend
		wantHeaders map[string]string
	}{
		{"default x-api-key", routes.Backend{APIKey: "k"}, map[string]string{"x-api-key": "k", "anthropic-version": "2023-06-01", "Authorization": ""}},
		{"auth_header kept", routes.Backend{APIKey: "k", AuthHeader: "Authorization"},
			map[string]string{"Authorization": "Bearer k", "x-api-key": "", "anthropic-version": "2023-06-01"}},
		{"extra header version wins", routes.Backend{APIKey: "k", ExtraHeaders: map[string]string{"Anthropic-Version": "2099-01-01"}},
			map[string]string{"x-api-key": "k", "anthropic-version": "2099-01-01"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &routes.Model{Name: "c", APIFormat: routes.APIFormatAnthropic}
			call, aerr := prepareCall(m, &tc.b, []byte(`{"model":"c","messages":[{"role":"user","content":"x"}]}`))
			if aerr != nil {
				t.Fatal(aerr)
			}
			s := New(nil, nil, WithEnv(func(string) string { return "" }))
			h := http.Header{}
			s.upstreamHeaders(h, http.Header{"Authorization": {"Bearer client"}}, &gateway.Forward{}, call.backend)
			call.setHeaders(h)
			for k, v := range tc.wantHeaders {
				if got := h.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}
