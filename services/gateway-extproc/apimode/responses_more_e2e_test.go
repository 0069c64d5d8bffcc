package apimode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/shared"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

func weatherTool() responses.ToolUnionParam {
	return responses.ToolParamOfFunction("get_weather", map[string]any{"type": "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}}}, false)
}

// A function tool is offered as a chat tool; the model's tool call comes
// back as a function_call item, and the function_call_output sent with
// previous_response_id reaches the model as a tool message after the
// assistant's tool_calls.
func TestResponsesFunctionCallingRoundTrip(t *testing.T) {
	env := startResponses(t, "")
	ctx := context.Background()
	cl := env.e.Client
	first, err := cl.Responses.New(ctx, responses.ResponseNewParams{Model: "auto", Input: userInput("weather in Paris?"),
		Tools:      []responses.ToolUnionParam{weatherTool()},
		ToolChoice: responses.ResponseNewParamsToolChoiceUnion{OfToolChoiceMode: openai.Opt(responses.ToolChoiceOptionsAuto)}})
	if err != nil {
		t.Fatal(err)
	}
	body := env.small.last(t)
	tools, _ := body["tools"].([]any)
	if len(tools) != 1 || tools[0].(map[string]any)["function"].(map[string]any)["name"] != "get_weather" || body["tool_choice"] != "auto" {
		t.Fatalf("chat tools %v choice %v", body["tools"], body["tool_choice"])
	}
	if len(first.Output) != 1 || first.Output[0].Type != "function_call" {
		t.Fatalf("output %s", first.RawJSON())
	}
	call := first.Output[0].AsFunctionCall()
	if call.CallID != "call_42" || call.Name != "get_weather" || call.Arguments != `{"city":"Paris"}` || !strings.HasPrefix(call.ID, "fc_") {
		t.Fatalf("function call %+v", call)
	}
	second, err := cl.Responses.New(ctx, responses.ResponseNewParams{Model: "auto", PreviousResponseID: openai.String(first.ID),
		Tools: []responses.ToolUnionParam{weatherTool()},
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfFunctionCallOutput(`{"temp":21}`),
		}}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "input[0].call_id" {
		t.Fatalf("function_call_output without call_id: %v", err)
	}
	out := responses.ResponseInputItemParamOfFunctionCallOutput(`{"temp":21}`)
	out.OfFunctionCallOutput.CallID = openai.String(call.CallID)
	second, err = cl.Responses.New(ctx, responses.ResponseNewParams{Model: "auto", PreviousResponseID: openai.String(first.ID),
		Tools: []responses.ToolUnionParam{weatherTool()},
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{out}}})
	if err != nil {
		t.Fatal(err)
	}
	if second.OutputText() != `sunny (tool said: {"temp":21})` {
		t.Fatalf("second %q", second.OutputText())
	}
	ms := messages(t, env.small.last(t))
	if len(ms) != 3 || ms[1]["role"] != "assistant" || ms[2]["role"] != "tool" || ms[2]["tool_call_id"] != "call_42" {
		t.Fatalf("messages %v", ms)
	}
	tcs, _ := ms[1]["tool_calls"].([]any)
	if len(tcs) != 1 || tcs[0].(map[string]any)["id"] != "call_42" {
		t.Fatalf("assistant tool_calls %v", ms[1])
	}
	// the same round trip with the whole history sent by the client
	fc := responses.ResponseInputItemParamOfFunctionCall(`{"city":"Oslo"}`, "call_7", "get_weather")
	fco := responses.ResponseInputItemParamOfFunctionCallOutput("cold")
	fco.OfFunctionCallOutput.CallID = openai.String("call_7")
	third, err := cl.Responses.New(ctx, responses.ResponseNewParams{Model: "auto", Store: openai.Bool(false),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("weather in Oslo?", responses.EasyInputMessageRoleUser), fc, fco}}})
	if err != nil {
		t.Fatal(err)
	}
	if third.OutputText() != "sunny (tool said: cold)" {
		t.Fatalf("third %q", third.OutputText())
	}
}

// collectStream reads a Responses stream with the SDK, checks that the
// sequence numbers count up from 0, feeds the SDK's accumulator and
// returns the event types and the reconstructed response.
func collectStream(t *testing.T, st interface {
	Next() bool
	Current() responses.ResponseStreamEventUnion
	Err() error
	Close() error
}) ([]string, *responses.Response, responses.ResponseAccumulatorSnapshot) {
	t.Helper()
	defer st.Close()
	var types []string
	var acc responses.ResponseAccumulator
	for st.Next() {
		ev := st.Current()
		if ev.SequenceNumber != int64(len(types)) {
			t.Fatalf("event %d (%s) has sequence_number %d", len(types), ev.Type, ev.SequenceNumber)
		}
		types = append(types, ev.Type)
		var se responses.ResponsesServerEventUnion
		if err := json.Unmarshal([]byte(ev.RawJSON()), &se); err != nil {
			t.Fatal(err)
		}
		if err := acc.AddEvent(se); err != nil {
			t.Fatalf("accumulator refused %s: %v", ev.RawJSON(), err)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	final, err := acc.ReconstructedResponse()
	if err != nil {
		t.Fatal(err)
	}
	return types, final, acc.Snapshot()
}

// Streaming: the chat SSE stream becomes the Responses events, in order,
// which the SDK's accumulator rebuilds into the response that is stored.
func TestResponsesStreaming(t *testing.T) {
	env := startResponses(t, "")
	ctx := context.Background()
	cl := env.e.Client
	var hr *http.Response
	st := cl.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "auto", Input: userInput("stream some math")},
		option.WithResponseInto(&hr))
	types, final, snap := collectStream(t, st)
	want := "response.created,response.in_progress,response.output_item.added,response.content_part.added," +
		strings.Repeat("response.output_text.delta,", 6) +
		"response.output_text.done,response.content_part.done,response.output_item.done,response.completed"
	if got := strings.Join(types, ","); got != want {
		t.Fatalf("events:\n%s\nwant:\n%s", got, want)
	}
	text := "echo 1: stream some math"
	if snap.OutputText() != text || final.OutputText() != text || final.Status != responses.ResponseStatusCompleted || final.Usage.TotalTokens != 18 {
		t.Fatalf("accumulated %q / %q status %s usage %+v", snap.OutputText(), final.OutputText(), final.Status, final.Usage)
	}
	if hr.Header.Get("x-vsr-selected-decision") != "math" || !strings.HasPrefix(hr.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("headers %v", hr.Header)
	}
	if so, _ := env.big.last(t)["stream_options"].(map[string]any); so["include_usage"] != true {
		t.Fatalf("stream_options %v", env.big.last(t)["stream_options"])
	}
	got, err := cl.Responses.Get(ctx, final.ID, responses.ResponseGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got.OutputText() != text || got.Output[0].ID != final.Output[0].ID {
		t.Fatalf("stored %s", got.RawJSON())
	}
}

// Streamed tool calls become a function_call item with argument deltas.
func TestResponsesStreamingFunctionCall(t *testing.T) {
	env := startResponses(t, "")
	st := env.e.Client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "small",
		Input: userInput("weather?"), Tools: []responses.ToolUnionParam{weatherTool()}})
	types, final, snap := collectStream(t, st)
	want := "response.created,response.in_progress,response.output_item.added," +
		"response.function_call_arguments.delta,response.function_call_arguments.delta," +
		"response.function_call_arguments.done,response.output_item.done,response.completed"
	if got := strings.Join(types, ","); got != want {
		t.Fatalf("events:\n%s\nwant:\n%s", got, want)
	}
	if len(snap.Output) != 1 || snap.Output[0].Arguments != `{"city":"Paris"}` || snap.Output[0].CallID != "call_42" || snap.Output[0].Name != "get_weather" {
		t.Fatalf("snapshot %+v", snap.Output)
	}
	if fc := final.Output[0].AsFunctionCall(); fc.Arguments != `{"city":"Paris"}` || fc.Status != "completed" {
		t.Fatalf("final %s", final.RawJSON())
	}
}

// Two routers sharing one redis-server (real) share the store: a
// response created on one is continued, read and deleted on the other.
func TestResponsesRedisAcrossInstances(t *testing.T) {
	rs := redistest.Start(t)
	global := "global:\n  services:\n    response_api:\n      enabled: true\n      store_backend: redis\n      ttl_seconds: 600\n      max_responses: 50\n" +
		"      redis: {address: \"" + rs.Addr + "\", key_prefix: \"e2e:resp:\", pool_size: 4}\n"
	a, b := startResponses(t, global), startResponses(t, global)
	ctx := context.Background()
	first, err := a.e.Client.Responses.New(ctx, responses.ResponseNewParams{Model: "small", Input: userInput("on a")})
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.e.Client.Responses.New(ctx, responses.ResponseNewParams{Model: "small", Input: userInput("on b"),
		PreviousResponseID: openai.String(first.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if second.OutputText() != "echo 3: on b" || len(messages(t, b.small.last(t))) != 3 {
		t.Fatalf("continued on b: %q", second.OutputText())
	}
	got, err := a.e.Client.Responses.Get(ctx, second.ID, responses.ResponseGetParams{})
	if err != nil || got.OutputText() != second.OutputText() {
		t.Fatalf("GET on a of b's response: %v", err)
	}
	if err := b.e.Client.Responses.Delete(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	var apiErr *openai.Error
	if _, err := a.e.Client.Responses.Get(ctx, first.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("deleted on b, read on a: %v", err)
	}
	// the store goes away: reads answer 503, a create still answers
	rs.Stop()
	if _, err := a.e.Client.Responses.Get(ctx, second.ID, responses.ResponseGetParams{}); !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Code != "store_unavailable" {
		t.Fatalf("GET with redis down: %v", err)
	}
	if r, err := a.e.Client.Responses.New(ctx, responses.ResponseNewParams{Model: "small", Input: userInput("still here")}); err != nil || r.OutputText() != "echo 1: still here" {
		t.Fatalf("create with redis down: %v", err)
	}
}

// With a trusted identity header, a user reads only their own responses
// (another user and an anonymous caller get 404).
func TestResponsesPerUserIsolation(t *testing.T) {
	env := startResponses(t, "")
	ctx := context.Background()
	cl := env.e.Client
	as := func(u string) option.RequestOption { return option.WithHeader("x-authz-user-id", u) }
	mine, err := cl.Responses.New(ctx, responses.ResponseNewParams{Model: "small", Input: userInput("secret")}, as("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Responses.Get(ctx, mine.ID, responses.ResponseGetParams{}, as("alice")); err != nil {
		t.Fatalf("owner cannot read: %v", err)
	}
	for _, who := range []option.RequestOption{as("bob"), option.WithHeaderDel("x-authz-user-id")} {
		var apiErr *openai.Error
		if _, err := cl.Responses.Get(ctx, mine.ID, responses.ResponseGetParams{}, who); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
			t.Fatalf("another caller read it: %v", err)
		}
		if err := cl.Responses.Delete(ctx, mine.ID, who); !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
			t.Fatalf("another caller deleted it: %v", err)
		}
		_, err := cl.Responses.New(ctx, responses.ResponseNewParams{Model: "small", Input: userInput("x"), PreviousResponseID: openai.String(mine.ID)}, who)
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Param != "previous_response_id" {
			t.Fatalf("another caller continued it: %v", err)
		}
	}
}

// Malformed requests are refused with a 400 naming the field, before any
// model is called.
func TestResponsesMalformedInput(t *testing.T) {
	reg := prometheus.NewRegistry()
	gm, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	env := startResponsesWith(t, "", apimode.E2EOptions{GatewayOptions: []gateway.Option{gateway.WithMetrics(gm)}})
	cases := []struct{ name, body, param string }{
		{"not json", `{"model":`, ""},
		{"no model", `{"input":"hi"}`, "model"},
		{"no input", `{"model":"auto"}`, "input"},
		{"input a number", `{"model":"auto","input":5}`, "input"},
		{"unknown item type", `{"model":"auto","input":[{"type":"web_search_call","id":"w"}]}`, "input[0].type"},
		{"bad role", `{"model":"auto","input":[{"role":"robot","content":"x"}]}`, "input[0].role"},
		{"bad part", `{"model":"auto","input":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "input[0].content[0].type"},
		{"image by file id", `{"model":"auto","input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}`, "input[0].content[0].file_id"},
		{"function_call without name", `{"model":"auto","input":[{"type":"function_call","call_id":"c","arguments":"{}"}]}`, "input[0].name"},
		{"hosted tool", `{"model":"auto","input":"x","tools":[{"type":"web_search"}]}`, "tools[0].type"},
		{"tool without name", `{"model":"auto","input":"x","tools":[{"type":"function"}]}`, "tools[0].name"},
		{"bad tool_choice", `{"model":"auto","input":"x","tool_choice":"sometimes"}`, "tool_choice"},
		{"temperature a string", `{"model":"auto","input":"x","temperature":"hot"}`, "temperature"},
		{"zero max_output_tokens", `{"model":"auto","input":"x","max_output_tokens":0}`, "max_output_tokens"},
		{"background", `{"model":"auto","input":"x","background":true}`, "background"},
		{"bad text format", `{"model":"auto","input":"x","text":{"format":{"type":"yaml"}}}`, "text.format.type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Post(env.e.URL+"/v1/responses", "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e errorEnvelope
			raw, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(raw, &e); err != nil || resp.StatusCode != 400 || e.Error.Type != "invalid_request_error" || e.Error.Message == "" {
				t.Fatalf("%d %s", resp.StatusCode, raw)
			}
			if e.Error.Param != tc.param {
				t.Fatalf("param %q, want %q (%s)", e.Error.Param, tc.param, raw)
			}
		})
	}
	if n := len(env.small.requests()) + len(env.big.requests()); n != 0 {
		t.Fatalf("malformed requests reached a model %d times", n)
	}
	if n := parseErrors(t, reg); n != float64(len(cases)) {
		t.Fatalf("llm_request_errors_total{reason=parse_error} = %v, want %d", n, len(cases))
	}
}

// parseErrors reads llm_request_errors_total{reason="parse_error"}.
func parseErrors(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "llm_request_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == metrics.ReasonParseError {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

type errorEnvelope struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Param   string `json:"param"`
		Code    string `json:"code"`
	} `json:"error"`
}

// A failing model server reaches the client as a Responses error with
// the status, for plain and streamed requests alike.
func TestResponsesUpstreamError(t *testing.T) {
	env := startResponses(t, "")
	env.small.status = http.StatusBadRequest
	ctx := context.Background()
	var apiErr *openai.Error
	_, err := env.e.Client.Responses.New(ctx, responses.ResponseNewParams{Model: "small", Input: userInput("hi")})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "fake_down" || !strings.Contains(apiErr.Message, "fake small says 400") {
		t.Fatalf("plain: %v", err)
	}
	st := env.e.Client.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "small", Input: userInput("hi")})
	for st.Next() {
		t.Fatalf("event %s", st.Current().RawJSON())
	}
	if !errors.As(st.Err(), &apiErr) || apiErr.StatusCode != 400 {
		t.Fatalf("stream: %v", st.Err())
	}
}

// enabled: false keeps the 404 unsupported_endpoint.
func TestResponsesDisabled(t *testing.T) {
	env := startResponses(t, "global:\n  services:\n    response_api: {enabled: false}\n")
	var apiErr *openai.Error
	_, err := env.e.Client.Responses.New(context.Background(), responses.ResponseNewParams{Model: "small", Input: userInput("hi")})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "unsupported_endpoint" {
		t.Fatalf("err = %v", err)
	}
	resp, err := http.Get(env.e.URL + "/v1/responses/resp_x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

// Wrong methods get 405 with Allow; images and developer messages are
// translated to chat parts and a system message.
func TestResponsesMethodsAndParts(t *testing.T) {
	env := startResponses(t, "")
	for _, tc := range []struct{ method, path, allow string }{
		{"GET", "/v1/responses", "POST"},
		{"PUT", "/v1/responses/resp_1", "GET, HEAD, DELETE"},
		{"POST", "/v1/responses/resp_1/input_items", "GET, HEAD"},
	} {
		req, _ := http.NewRequest(tc.method, env.e.URL+tc.path, bytes.NewReader(nil))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != tc.allow {
			t.Fatalf("%s %s: %d allow %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	body := `{"model":"small","input":[{"role":"developer","content":"dev rules"},{"type":"message","role":"user","content":[` +
		`{"type":"input_text","text":"what is this?"},{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"low"}]}]}`
	resp, err := http.Post(env.e.URL+"/v1/responses", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), "echo 2: what is this?[image]") {
		t.Fatalf("%d %s", resp.StatusCode, raw)
	}
	ms := messages(t, env.small.last(t))
	parts, _ := ms[1]["content"].([]any)
	if ms[0]["role"] != "system" || ms[0]["content"] != "dev rules" || len(parts) != 2 ||
		parts[1].(map[string]any)["image_url"].(map[string]any)["detail"] != "low" {
		t.Fatalf("messages %v", ms)
	}
}

// The decision's response cache answers Responses requests too (plain
// and streamed), without calling the model.
func TestResponsesCacheHit(t *testing.T) {
	env := &respEnv{small: newChatLLM(t, "small"), big: newChatLLM(t, "big")}
	doc := strings.NewReplacer("SMALL", env.small.endpoint(), "BIG", env.big.endpoint(), "GLOBAL", "").Replace(responsesConfig)
	doc = strings.Replace(doc, "      modelRefs: [{model: small}]\n",
		"      modelRefs: [{model: small}]\n      plugins:\n        - type: response_cache\n          configuration: {enabled: true, mode: exact}\n", 1)
	spec := apimode.SpecFromYAML(t, doc, "responses-cache.yaml", apimode.PluginProblem, nil)
	env.e = apimode.StartE2E(t, spec, gateway.Stages{Classifier: wordClassifier{}, Cache: hitCache{}}, apimode.E2EOptions{})
	ctx := context.Background()
	var hr *http.Response
	resp, err := env.e.Client.Responses.New(ctx, responses.ResponseNewParams{Model: "auto", Input: userInput("hello")}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != "from the cache" || hr.Header.Get("x-vsr-cache-hit") != "true" || resp.Usage.TotalTokens != 5 {
		t.Fatalf("text %q cache header %q", resp.OutputText(), hr.Header.Get("x-vsr-cache-hit"))
	}
	_, final, _ := collectStream(t, env.e.Client.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "auto", Input: userInput("hello")}))
	if final.OutputText() != "from the cache" {
		t.Fatalf("streamed %q", final.OutputText())
	}
	if n := len(env.small.requests()); n != 0 {
		t.Fatalf("the model was called %d times", n)
	}
}

// A stream cut by the model server ends with an error event and
// response.failed; the failed response is stored as failed.
func TestResponsesStreamCut(t *testing.T) {
	env := startResponses(t, "")
	env.small.cut = true
	st := env.e.Client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "small", Input: userInput("hello there")})
	var types []string
	for st.Next() {
		types = append(types, st.Current().Type)
	}
	st.Close()
	got := strings.Join(types, ",")
	if !strings.HasSuffix(got, "response.output_item.done,response.failed") || !strings.Contains(got, "error") {
		t.Fatalf("events %s (err %v)", got, st.Err())
	}
}

// The model's reasoning (reasoning_content) becomes a reasoning item,
// plain and streamed; it is not sent back to the model on the next turn.
func TestResponsesReasoning(t *testing.T) {
	env := startResponses(t, "")
	ctx := context.Background()
	cl := env.e.Client
	params := responses.ResponseNewParams{Model: "small", Input: userInput("think"), Reasoning: shared.ReasoningParam{Effort: shared.ReasoningEffortHigh}}
	resp, err := cl.Responses.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if env.small.last(t)["reasoning_effort"] != "high" || len(resp.Output) != 2 || resp.Output[0].Type != "reasoning" {
		t.Fatalf("output %s", resp.RawJSON())
	}
	if r := resp.Output[0].AsReasoning(); len(r.Content) != 1 || r.Content[0].Text != "let me think" || resp.OutputText() != "echo 1: think" {
		t.Fatalf("reasoning %s", resp.RawJSON())
	}
	types, final, _ := collectStream(t, cl.Responses.NewStreaming(ctx, params))
	if !strings.Contains(strings.Join(types, ","), "response.output_item.added,response.reasoning_text.delta,response.reasoning_text.delta,response.reasoning_text.done,response.output_item.done") {
		t.Fatalf("events %v", types)
	}
	if r := final.Output[0].AsReasoning(); final.Output[0].Type != "reasoning" || r.Content[0].Text != "let me think" || final.OutputText() != "echo 1: think" {
		t.Fatalf("streamed %s", final.RawJSON())
	}
	if _, err := cl.Responses.New(ctx, responses.ResponseNewParams{Model: "small", Input: userInput("next"), PreviousResponseID: openai.String(resp.ID)}); err != nil {
		t.Fatal(err)
	}
	if ms := messages(t, env.small.last(t)); len(ms) != 3 || ms[1]["content"] != "echo 1: think" {
		t.Fatalf("continuation %v", ms)
	}
}
