package apimode

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

type fixture struct {
	client openai.Client
	url    string
	gw     *gateway.Gateway
}

func backend(name string, f *fakeLLM) routes.Backend {
	return routes.Backend{Name: name, Endpoint: f.endpoint(), Weight: 1}
}

// newFixture starts API mode over spec with the given stages; the gateway's
// weighted choice always picks the first backend.
func newFixture(t *testing.T, spec routes.Spec, st gateway.Stages) *fixture {
	t.Helper()
	e := StartE2E(t, spec, st, E2EOptions{Timeout: 10 * time.Second, APIKey: "client-key",
		Options: []Option{WithRandom(func(int) int { return 0 }),
			WithEnv(func(k string) string {
				if k == "TEST_BACKEND_KEY" {
					return "sk-from-env"
				}
				return ""
			})}})
	return &fixture{client: e.Client, url: e.URL, gw: e.Gateway}
}

func baseSpec() routes.Spec {
	return routes.Spec{
		DefaultModel:           "small",
		DefaultReasoningEffort: "medium",
		ReasoningFamilies: map[string]routes.ReasoningFamily{
			"qwen3": {Type: "chat_template_kwargs", Parameter: "enable_thinking"},
			"gpt":   {Type: "reasoning_effort", Parameter: "reasoning.effort"},
		},
	}
}

// hardDecision routes to large (reasoning on), then medium.
func hardDecision() routes.Decision {
	return routes.Decision{Name: "hard", ModelRefs: []routes.ModelRef{{Model: "large", UseReasoning: true}, {Model: "medium"}}}
}

// cachedDecision routes to small with the response cache on.
func cachedDecision() routes.Decision {
	return routes.Decision{Name: "cached", ModelRefs: []routes.ModelRef{{Model: "small"}},
		Plugins: routes.Plugins{ResponseCache: &routes.ResponseCachePlugin{Enabled: true, SimilarityThreshold: 0.9, TTL: time.Minute}}}
}

func userMsg(s string) []openai.ChatCompletionMessageParamUnion {
	return []openai.ChatCompletionMessageParamUnion{openai.UserMessage(s)}
}

func TestNonStreamingRoutedRequest(t *testing.T) {
	large := newFakeLLM(t, "large", "ok")
	small := newFakeLLM(t, "small", "ok")
	spec := baseSpec()
	lb := backend("large-1", large)
	lb.APIKeyEnv = "TEST_BACKEND_KEY"
	lb.ExtraHeaders = map[string]string{"X-Tenant": "ref"}
	spec.Models = []routes.Model{
		{Name: "large", ProviderModelID: "large-instruct", ReasoningFamily: "gpt", Backends: []routes.Backend{lb}},
		{Name: "medium", Backends: []routes.Backend{backend("medium-1", small)}},
		{Name: "small", ReasoningFamily: "qwen3", Backends: []routes.Backend{backend("small-1", small)}},
	}
	spec.Decisions = []routes.Decision{hardDecision()}
	fx := newFixture(t, spec, gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "hard", Confidence: 0.75}}})
	var resp *http.Response
	c, err := fx.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "auto", Messages: userMsg("prove the theorem")}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if c.Choices[0].Message.Content != "answer from large" || c.Usage.TotalTokens != 8 {
		t.Fatalf("completion %+v", c)
	}
	for k, v := range map[string]string{"x-vsr-selected-model": "large", "x-vsr-selected-decision": "hard",
		"x-vsr-selected-confidence": "0.7500", "x-vsr-selected-reasoning": "on", "x-vsr-response-path": "upstream"} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	reqs := large.requests()
	if len(reqs) != 1 || len(small.requests()) != 0 {
		t.Fatalf("large got %d, small got %d", len(reqs), len(small.requests()))
	}
	got := reqs[0]
	if got.Path != "/v1/chat/completions" || got.Body["model"] != "large-instruct" {
		t.Fatalf("upstream request %s %s", got.Path, got.Raw)
	}
	if eff := got.Body["reasoning"].(map[string]any)["effort"]; eff != "medium" {
		t.Fatalf("reasoning effort %v", eff)
	}
	if got.Header.Get("Authorization") != "Bearer sk-from-env" || got.Header.Get("X-Tenant") != "ref" ||
		got.Header.Get("X-Selected-Model") != "large" {
		t.Fatalf("upstream headers %v", got.Header)
	}
}

func TestStreamingPassthroughAndCachePublish(t *testing.T) {
	small := newFakeLLM(t, "small", "stream")
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", ReasoningFamily: "qwen3", Backends: []routes.Backend{backend("s", small)}}}
	spec.Decisions = []routes.Decision{cachedDecision()}
	cache := &fakeCache{stored: make(chan *gateway.CacheEntry, 1)}
	fx := newFixture(t, spec, gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "cached"}}, Cache: cache})
	stream := fx.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "MoM", Messages: userMsg("hi")})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "Hello from small" {
		t.Fatalf("streamed content %q", got)
	}
	up := small.requests()[0]
	if up.Body["stream_options"].(map[string]any)["include_usage"] != true {
		t.Fatalf("include_usage not requested upstream: %s", up.Raw)
	}
	if up.Body["chat_template_kwargs"].(map[string]any)["enable_thinking"] != false {
		t.Fatalf("reasoning off not written: %s", up.Raw)
	}
	select {
	case e := <-cache.stored:
		if e.Decision != "cached" || !strings.Contains(string(e.Body), "Hello from small") {
			t.Fatalf("cache entry %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("completed stream was not published to the cache")
	}
}

func TestToolCallsPassThrough(t *testing.T) {
	llm := newFakeLLM(t, "small", "tools")
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", Backends: []routes.Backend{backend("s", llm)}}}
	fx := newFixture(t, spec, gateway.Stages{})
	c, err := fx.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "small", Messages: userMsg("weather in Paris?"),
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object",
				"properties": map[string]any{"city": map[string]any{"type": "string"}}}})},
	})
	if err != nil {
		t.Fatal(err)
	}
	tc := c.Choices[0].Message.ToolCalls
	if len(tc) != 1 || tc[0].Function.Name != "get_weather" || tc[0].Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("tool calls %+v", tc)
	}
	up := llm.requests()[0]
	tools, _ := up.Body["tools"].([]any)
	if len(tools) != 1 || !strings.Contains(up.Raw, `"get_weather"`) {
		t.Fatalf("tools not forwarded: %s", up.Raw)
	}
}

func TestFailover(t *testing.T) {
	cases := []struct {
		name string
		// modes of: large backend 1, large backend 2 ("refused" = nothing listens), medium, small (default)
		modes    [4]string
		retries  int
		wantFrom string // which fake answered; "" = the client gets an error
		status   int
		calls    [4]int
	}{
		{"500 then next backend", [4]string{"status:500", "ok", "ok", "ok"}, 3, "large-b", 0, [4]int{1, 1, 0, 0}},
		{"429 then next backend", [4]string{"status:429", "ok", "ok", "ok"}, 3, "large-b", 0, [4]int{1, 1, 0, 0}},
		{"connect refused then next backend", [4]string{"refused", "ok", "ok", "ok"}, 3, "large-b", 0, [4]int{0, 1, 0, 0}},
		{"model down then next modelRef", [4]string{"status:503", "status:502", "ok", "ok"}, 3, "medium", 0, [4]int{1, 1, 1, 0}},
		{"all refs down then default model", [4]string{"status:503", "refused", "status:500", "ok"}, 3, "small", 0, [4]int{1, 0, 1, 1}},
		{"retry budget exhausted relays last error", [4]string{"status:500", "status:503", "ok", "ok"}, 1, "", 503, [4]int{1, 1, 0, 0}},
		{"4xx is not retried", [4]string{"status:400", "ok", "ok", "ok"}, 3, "", 400, [4]int{1, 0, 0, 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			names := [4]string{"large-a", "large-b", "medium", "small"}
			var fakes [4]*fakeLLM
			var bes [4]routes.Backend
			for i, m := range tc.modes {
				if m == "refused" {
					bes[i] = routes.Backend{Name: names[i], Endpoint: refusedAddr(t), Weight: 1}
					continue
				}
				fakes[i] = newFakeLLM(t, names[i], m)
				bes[i] = backend(names[i], fakes[i])
			}
			spec := baseSpec()
			spec.Models = []routes.Model{
				{Name: "large", RetryCount: tc.retries, Backends: []routes.Backend{bes[0], bes[1]}},
				{Name: "medium", Backends: []routes.Backend{bes[2]}},
				{Name: "small", Backends: []routes.Backend{bes[3]}},
			}
			spec.Decisions = []routes.Decision{hardDecision()}
			fx := newFixture(t, spec, gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "hard"}}})
			var resp *http.Response
			c, err := fx.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: "auto", Messages: userMsg("q")}, option.WithResponseInto(&resp))
			if tc.wantFrom == "" {
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status {
					t.Fatalf("err = %v, want status %d", err, tc.status)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if want := "answer from " + tc.wantFrom; c.Choices[0].Message.Content != want {
					t.Fatalf("content %q, want %q", c.Choices[0].Message.Content, want)
				}
			}
			for i, f := range fakes {
				if f != nil && len(f.requests()) != tc.calls[i] {
					t.Errorf("%s got %d requests, want %d", names[i], len(f.requests()), tc.calls[i])
				}
			}
			if tc.wantFrom == "medium" && resp.Header.Get("x-vsr-selected-model") != "medium" {
				t.Errorf("x-vsr-selected-model = %q after failover", resp.Header.Get("x-vsr-selected-model"))
			}
		})
	}
}

func TestMidStreamFailureNotRetried(t *testing.T) {
	cut := newFakeLLM(t, "cut", "cut")
	spare := newFakeLLM(t, "spare", "stream")
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", RetryCount: 3, Backends: []routes.Backend{backend("a", cut), backend("b", spare)}}}
	fx := newFixture(t, spec, gateway.Stages{})
	stream := fx.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "small", Messages: userMsg("hi")})
	var content strings.Builder
	for stream.Next() {
		if len(stream.Current().Choices) > 0 {
			content.WriteString(stream.Current().Choices[0].Delta.Content)
		}
	}
	if stream.Err() == nil {
		t.Fatal("client saw a clean end of a cut stream")
	}
	if content.String() != "Hello from " {
		t.Fatalf("client got %q before the cut", content.String())
	}
	if n := len(spare.requests()); n != 0 {
		t.Fatalf("spare backend got %d requests after bytes reached the client", n)
	}
}

func TestDegradedClassifierUsesDefault(t *testing.T) {
	cases := []struct {
		name string
		cls  *fakeClassifier
	}{
		{"classifier errors", &fakeClassifier{err: errors.New("classifier down")}},
		{"classifier times out", &fakeClassifier{hang: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			small := newFakeLLM(t, "small", "ok")
			large := newFakeLLM(t, "large", "ok")
			spec := baseSpec()
			spec.StageTimeout = 20 * time.Millisecond
			spec.Models = []routes.Model{
				{Name: "large", Backends: []routes.Backend{backend("l", large)}},
				{Name: "medium", Backends: []routes.Backend{backend("m", large)}},
				{Name: "small", Backends: []routes.Backend{backend("s", small)}},
			}
			spec.Decisions = []routes.Decision{hardDecision()}
			fx := newFixture(t, spec, gateway.Stages{Classifier: tc.cls})
			var resp *http.Response
			c, err := fx.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: "auto", Messages: userMsg("q")}, option.WithResponseInto(&resp))
			if err != nil {
				t.Fatal(err)
			}
			if c.Choices[0].Message.Content != "answer from small" || resp.Header.Get("x-vsr-degraded") != "classifier" {
				t.Fatalf("content %q degraded %q", c.Choices[0].Message.Content, resp.Header.Get("x-vsr-degraded"))
			}
			if len(large.requests()) != 0 {
				t.Fatal("degraded request reached the decision's model")
			}
		})
	}
}

func TestStreamingToolCalls(t *testing.T) {
	llm := newFakeLLM(t, "small", "streamtools")
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", Backends: []routes.Backend{backend("s", llm)}}}
	spec.Decisions = []routes.Decision{cachedDecision()}
	cache := &fakeCache{stored: make(chan *gateway.CacheEntry, 1)}
	fx := newFixture(t, spec, gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "cached"}}, Cache: cache})
	stream := fx.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "auto", Messages: userMsg("weather in Oslo?"),
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather"})},
	})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	tc := acc.Choices[0].Message.ToolCalls
	if len(tc) != 1 || tc[0].ID != "call_9" || tc[0].Function.Arguments != `{"city":"Oslo"}` {
		t.Fatalf("tool calls %+v", tc)
	}
	select {
	case e := <-cache.stored:
		if !strings.Contains(string(e.Body), `"arguments":"{\"city\":\"Oslo\"}"`) || !strings.Contains(string(e.Body), `"finish_reason":"tool_calls"`) {
			t.Fatalf("cached completion %s", e.Body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream not published to the cache")
	}
}

func TestBadInputAndModels(t *testing.T) {
	small := newFakeLLM(t, "small", "ok")
	spec := baseSpec()
	spec.MaxBodyBytes = 1024
	spec.Entrypoints = []routes.Entrypoint{{ModelNames: []string{"vllm-sr/privacy"}, Recipe: "p"}}
	spec.Models = []routes.Model{{Name: "small", Backends: []routes.Backend{backend("s", small)}}}
	fx := newFixture(t, spec, gateway.Stages{})
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"malformed json", "POST", "/v1/chat/completions", `{"model":"auto",`, 400, "invalid_json"},
		{"missing messages", "POST", "/v1/chat/completions", `{"model":"auto"}`, 400, "missing_required_parameter"},
		{"empty messages", "POST", "/v1/chat/completions", `{"model":"auto","messages":[]}`, 400, "empty_array"},
		{"unknown model", "POST", "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404, "model_not_found"},
		{"too large", "POST", "/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"` + strings.Repeat("a", 2000) + `"}]}`, 413, "request_too_large"},
		{"wrong method", "GET", "/v1/chat/completions", ``, 405, "method_not_allowed"},
		{"wrong method on models", "POST", "/v1/models", `{}`, 405, "method_not_allowed"},
		{"wrong method on a model", "DELETE", "/v1/models/auto", ``, 405, "method_not_allowed"},
		{"unknown model id", "GET", "/v1/models/gpt-unknown", ``, 404, "model_not_found"},
		{"openai endpoint not served", "POST", "/v1/audio/speech", `{}`, 404, "unsupported_endpoint"},
		{"completions without prompt", "POST", "/v1/completions", `{"model":"small"}`, 400, "missing_required_parameter"},
		{"embeddings without input", "POST", "/v1/embeddings", `{"model":"small"}`, 400, "missing_required_parameter"},
		{"unknown v1 path", "POST", "/v1/nope", `{}`, 404, "not_found"},
		{"stream not boolean", "POST", "/v1/chat/completions", `{"model":"auto","stream":"yes","messages":[{"role":"user","content":"x"}]}`, 400, "invalid_type"},
		{"content a number", "POST", "/v1/chat/completions", `{"model":"small","messages":[{"role":"user","content":42}]}`, 400, "invalid_type"},
		{"invalid utf-8", "POST", "/v1/chat/completions", "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\"}]}", 400, "invalid_encoding"},
		{"unsupported content-encoding", "POST", "/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"x"}]}`, 415, "unsupported_content_encoding"},
		{"gzip header on a plain body", "POST", "/v1/chat/completions", `{"model":"auto","messages":[{"role":"user","content":"x"}]}`, 400, "invalid_encoding"},
		{"unknown path", "GET", "/", ``, 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, fx.url+tc.path, strings.NewReader(tc.body))
			switch tc.code {
			case "unsupported_content_encoding":
				req.Header.Set("Content-Encoding", "br")
			case "invalid_encoding":
				if !strings.Contains(tc.name, "utf-8") {
					req.Header.Set("Content-Encoding", "gzip")
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(body), `"code":"`+tc.code+`"`) {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			// RFC 9110: a 405 names the methods the resource allows.
			if allow := resp.Header.Get("Allow"); (tc.status == 405) != (allow != "") {
				t.Fatalf("status %d with Allow %q", resp.StatusCode, allow)
			}
		})
	}
	if n := len(small.requests()); n != 0 {
		t.Fatalf("bad input reached the backend %d times", n)
	}
	// The SDK surfaces the 404 model_not_found as an API error, as OpenAI's.
	_, err := fx.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt-unknown", Messages: userMsg("x")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" ||
		!strings.Contains(apiErr.Message, `model "gpt-unknown" is not available`) {
		t.Fatalf("err = %v", err)
	}
	// GET /v1/models/{id}: auto, its aliases, entrypoints and configured
	// models; 404 model_not_found otherwise.
	for _, id := range []string{"auto", "MoM", "vllm-sr/auto", "vllm-sr/privacy", "small"} {
		m, err := fx.client.Models.Get(context.Background(), id)
		if err != nil || m.ID != id || m.Object != "model" || m.OwnedBy == "" || m.Created == 0 {
			t.Fatalf("Models.Get(%q) = %+v, %v", id, m, err)
		}
	}
	_, err = fx.client.Models.Get(context.Background(), "gpt-unknown")
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" || apiErr.Param != "model" {
		t.Fatalf("Models.Get(unknown) err = %v", err)
	}
	page, err := fx.client.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if got := strings.Join(ids, ","); got != "auto,MoM,vllm-sr/auto,vllm-sr/privacy,small" {
		t.Fatalf("models %s", got)
	}
}
