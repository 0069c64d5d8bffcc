package apimode_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/embedtest"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// recordingLLM is a FAKE LLM backend (no model server runs here): it
// records each request body and answers a fixed chat completion.
type recordingLLM struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newRecordingLLM(t *testing.T) *recordingLLM {
	f := &recordingLLM{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, b)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *recordingLLM) last(t *testing.T) map[string]any {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) == 0 {
		t.Fatal("the backend got no request")
	}
	var m map[string]any
	if err := json.Unmarshal(f.bodies[len(f.bodies)-1], &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// decisionClassifier is a FAKE classifier (the classifier service lives
// in another module): it selects the decision named by the user turn's
// first word.
type decisionClassifier struct{}

func (decisionClassifier) Classify(_ context.Context, r *gateway.RouteRequest) (*gateway.Decision, error) {
	name, _, _ := strings.Cut(r.Request.LastUserText(), " ")
	return &gateway.Decision{Name: name, Confidence: 1}, nil
}

// downEmbedder is an embedder that is down.
type downEmbedder struct{}

func (downEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("no responders")
}

const toolsConfig = apimode.KeywordDocHead + `    - name: agent
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: tools
          configuration: {enabled: true, mode: filtered, block_tools: [exec_cmd], strip_tool_history: true}
        - type: tool_selection
          configuration: {enabled: true, mode: filter, relevance_threshold: 0.35, preserve_count: 1}
    - name: planner
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: tool_selection
          configuration: {enabled: true, mode: add, tools_db_path: ../toolselect/testdata/tools_db.json, top_k: 2, similarity_threshold: 0.3}
    - name: chat
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: tools
          configuration: {enabled: true, mode: none, strip_tool_history: true}
`

func toolsServer(t *testing.T, emb gateway.Embedder, backend string) openai.Client {
	t.Helper()
	spec := apimode.SpecFromYAML(t, strings.Replace(toolsConfig, "BACKEND", backend, 1), "tools e2e", apimode.PluginProblem, nil)
	spec.StageTimeout = 30 * time.Second // a slow CI machine must not degrade the real embedder
	return apimode.StartE2E(t, spec, gateway.Stages{Embedder: emb, Classifier: decisionClassifier{}}, apimode.E2EOptions{}).Client
}

func fnTool(name, desc string) openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: name, Description: openai.String(desc),
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{}}})
}

// agentRequest is an agent turn after one tool round trip, forcing
// exec_cmd.
func agentRequest(first string) openai.ChatCompletionNewParams {
	call := openai.ChatCompletionMessageToolCallUnionParam{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
		ID: "call_1", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Rome"}`}}}
	return openai.ChatCompletionNewParams{
		Model: "auto",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("weather in Rome?"),
			{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{call}}},
			openai.ToolMessage("21C, sunny", "call_1"),
			openai.AssistantMessage("It is sunny in Rome."),
			openai.UserMessage(first + " What's the weather like in Paris tomorrow?"),
		},
		Tools: []openai.ChatCompletionToolUnionParam{
			fnTool("get_weather", "Get the current weather for a location"),
			fnTool("exec_cmd", "Execute a shell command on the server"),
			fnTool("send_email", "Send an email to a recipient with a subject and body"),
			fnTool("translate_text", "Translate text from one language to another"),
		},
		ToolChoice: openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "exec_cmd"}),
	}
}

func toolNames(body map[string]any) []string {
	var out []string
	tools, _ := body["tools"].([]any)
	for _, tl := range tools {
		out = append(out, tl.(map[string]any)["function"].(map[string]any)["name"].(string))
	}
	return out
}

func roles(body map[string]any) []string {
	var out []string
	for _, m := range body["messages"].([]any) {
		mm := m.(map[string]any)
		if _, ok := mm["tool_calls"]; ok {
			out = append(out, "assistant+tool_calls")
			continue
		}
		out = append(out, mm["role"].(string))
	}
	return out
}

// TestToolsPluginsThroughAPIMode sends tool requests with the OpenAI SDK
// through API mode (config → routes → gateway → upstream) and checks what
// the fake backend received, with the real USE-Lite embedder.
func TestToolsPluginsThroughAPIMode(t *testing.T) {
	emb := embedtest.UseLite(t)
	llm := newRecordingLLM(t)
	client := toolsServer(t, emb, llm.srv.Listener.Addr().String())
	ctx := context.Background()

	t.Run("filter, block, strip history, tool_choice", func(t *testing.T) {
		var resp *http.Response
		if _, err := client.Chat.Completions.New(ctx, agentRequest("agent"), option.WithResponseInto(&resp)); err != nil {
			t.Fatal(err)
		}
		if d := resp.Header.Get("x-vsr-degraded"); d != "" {
			t.Errorf("degraded %q", d)
		}
		got := llm.last(t)
		if names := toolNames(got); strings.Join(names, ",") != "get_weather" {
			t.Errorf("backend tools %v, want [get_weather]", names)
		}
		if got["tool_choice"] != "auto" {
			t.Errorf("backend tool_choice %v, want auto (exec_cmd was removed)", got["tool_choice"])
		}
		if r := strings.Join(roles(got), ","); r != "user,assistant,user" {
			t.Errorf("backend messages %s, want user,assistant,user", r)
		}
	})
	t.Run("add from the tools database", func(t *testing.T) {
		req := agentRequest("planner")
		req.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{}
		if _, err := client.Chat.Completions.New(ctx, req); err != nil {
			t.Fatal(err)
		}
		got := llm.last(t)
		// get_weather is already there; get_forecast is added once.
		if names := strings.Join(toolNames(got), ","); names != "get_weather,exec_cmd,send_email,translate_text,get_forecast" {
			t.Errorf("backend tools %s", names)
		}
		if r := strings.Join(roles(got), ","); !strings.Contains(r, "tool") {
			t.Errorf("planner does not strip history, got %s", r)
		}
	})
	t.Run("mode none", func(t *testing.T) {
		req := agentRequest("chat")
		req.ParallelToolCalls = openai.Bool(true)
		if _, err := client.Chat.Completions.New(ctx, req); err != nil {
			t.Fatal(err)
		}
		got := llm.last(t)
		for _, k := range []string{"tools", "tool_choice", "parallel_tool_calls"} {
			if _, ok := got[k]; ok {
				t.Errorf("backend got %s", k)
			}
		}
		if r := strings.Join(roles(got), ","); r != "user,assistant,user" {
			t.Errorf("backend messages %s", r)
		}
	})
}

// TestToolsPluginsDegrade: with the embedder down the request still goes
// upstream, with the name rules applied and the tools stage reported.
func TestToolsPluginsDegrade(t *testing.T) {
	llm := newRecordingLLM(t)
	client := toolsServer(t, downEmbedder{}, llm.srv.Listener.Addr().String())
	var resp *http.Response
	if _, err := client.Chat.Completions.New(context.Background(), agentRequest("agent"), option.WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	if d := resp.Header.Get("x-vsr-degraded"); !strings.Contains(d, gateway.StageTools) {
		t.Errorf("x-vsr-degraded %q lacks %q", d, gateway.StageTools)
	}
	got := llm.last(t)
	if names := strings.Join(toolNames(got), ","); names != "get_weather,send_email,translate_text" {
		t.Errorf("backend tools %s", names)
	}
}
