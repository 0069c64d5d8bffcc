package apimode

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// compressionYAML routes decision "agent" to small (1500-token window),
// default big (no card), with a context_compression plugin that shortens
// tool outputs and drops old turns under auto budgets.
const compressionYAML = `version: v0.3
listeners: [{name: api, port: 8899}]
providers:
  defaults: {default_model: big}
  models:
    - name: small
      backend_refs: [{name: s, endpoint: "%s"}]
    - name: big
      backend_refs: [{name: b, endpoint: "%s"}]
routing:
  modelCards:
    - {name: small, context_window_size: 1500}
  decisions:
    - name: agent
      rules: {operator: AND, conditions: []}
      modelRefs: [{model: small}]
      plugins:
        - type: context_compression
          configuration:
            enabled: true
            mode: auto
            budget: {trigger_tokens: auto, target_tokens: auto, reserve_output_tokens: auto}
            targets:
              tool_outputs: {mode: extractive, min_tokens: 300, target_tokens: 200}
              history: {mode: drop_oldest}
            scoring: {method: bm25}
            request_controls: {enabled: true, header: x-vsr-compression-control, allowed: [bypass, target], max_target_tokens: 16000}
            failure_mode: fail_open
`

// TestContextCompressionEndToEnd sends an agent conversation that does
// not fit small's window through the OpenAI SDK: the FAKE LLM backend of
// small receives it with the tool output cut to its relevant lines and
// the oldest turn dropped (tool call and result kept together); with the
// bypass control the request goes unchanged to big instead.
func TestContextCompressionEndToEnd(t *testing.T) {
	small := newFakeLLM(t, "small", "ok")
	big := newFakeLLM(t, "big", "ok")
	spec := SpecFromYAML(t, fmt.Sprintf(compressionYAML, small.endpoint(), big.endpoint()), "compression.yaml", PluginProblem, nil)
	fx := newFixture(t, spec, gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "agent"}}})

	var log strings.Builder
	for i := range 400 {
		if i == 250 {
			log.WriteString("ERROR host db-7 disk full: write failed on /var/lib/postgres\n")
			continue
		}
		fmt.Fprintf(&log, "INFO request %d served in %d ms\n", i, i%50)
	}
	call := openai.ChatCompletionMessageToolCallUnionParam{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
		ID: "call_1", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "logs", Arguments: `{"host":"db-7"}`}}}
	params := openai.ChatCompletionNewParams{Model: "auto", MaxTokens: openai.Int(100), Messages: []openai.ChatCompletionMessageParamUnion{
		openai.SystemMessage("You are an SRE assistant."),
		openai.UserMessage("how is the web tier?"),
		openai.AssistantMessage(strings.Repeat("The web tier serves traffic normally. ", 110)),
		openai.UserMessage("why is the disk on db-7 full?"),
		{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{call}}},
		openai.ToolMessage(log.String(), "call_1"),
	}}

	var resp *http.Response
	c, err := fx.client.Chat.Completions.New(context.Background(), params, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if c.Choices[0].Message.Content != "answer from small" || resp.Header.Get(gateway.HeaderContextCompressed) == "" {
		t.Fatalf("content %q, %s %q", c.Choices[0].Message.Content, gateway.HeaderContextCompressed, resp.Header.Get(gateway.HeaderContextCompressed))
	}
	var before, after int
	if _, err := fmt.Sscanf(resp.Header.Get(gateway.HeaderContextCompressed), "%d->%d", &before, &after); err != nil ||
		before <= 1125 || after > 900 {
		t.Errorf("%s = %q: want more than the trigger (1125) before, at most the target (900) after",
			gateway.HeaderContextCompressed, resp.Header.Get(gateway.HeaderContextCompressed))
	}
	reqs := small.requests()
	if len(reqs) != 1 || len(big.requests()) != 0 {
		t.Fatalf("small got %d requests, big %d", len(reqs), len(big.requests()))
	}
	msgs, _ := reqs[0].Body["messages"].([]any)
	var roles []string
	for _, m := range msgs {
		roles = append(roles, m.(map[string]any)["role"].(string))
	}
	if got := strings.Join(roles, ","); got != "system,user,assistant,tool" {
		t.Fatalf("roles %s, want the old turn dropped", got)
	}
	if u := msgs[1].(map[string]any)["content"]; u != "why is the disk on db-7 full?" {
		t.Errorf("latest user turn %v", u)
	}
	calls, _ := msgs[2].(map[string]any)["tool_calls"].([]any)
	tool := msgs[3].(map[string]any)
	if len(calls) != 1 || calls[0].(map[string]any)["id"] != "call_1" || tool["tool_call_id"] != "call_1" {
		t.Errorf("tool call pair broken: %v / %v", msgs[2], tool)
	}
	out, _ := tool["content"].(string)
	if !strings.Contains(out, "ERROR host db-7 disk full") || !strings.Contains(out, "segments omitted]") || len(out) > 800 {
		t.Errorf("tool output (%d bytes):\n%s", len(out), out)
	}

	// bypass: nothing is compressed, small's window is too small, big
	// serves the conversation as sent.
	c, err = fx.client.Chat.Completions.New(context.Background(), params, option.WithResponseInto(&resp),
		option.WithHeader("x-vsr-compression-control", "bypass"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Choices[0].Message.Content != "answer from big" || resp.Header.Get(gateway.HeaderContextCompressed) != "" {
		t.Fatalf("bypass: content %q, compressed %q", c.Choices[0].Message.Content, resp.Header.Get(gateway.HeaderContextCompressed))
	}
	breqs := big.requests()
	if len(breqs) != 1 {
		t.Fatalf("big got %d requests", len(breqs))
	}
	bm, _ := breqs[0].Body["messages"].([]any)
	if len(bm) != 6 || bm[5].(map[string]any)["content"] != log.String() {
		t.Errorf("bypass changed the conversation: %d messages", len(bm))
	}
}
