package extproc

// The Responses API behind Envoy: the Envoy side is played over a real
// gRPC stream (Envoy cannot run here) and the upstream answers are FAKE
// chat completions fed as Envoy would pass them on. The events are
// checked with the OpenAI SDK's own types and stream accumulator.

import (
	"encoding/json"
	"strings"
	"testing"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	oairesp "github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

func responsesHeaders(method, path string, extra ...string) []string {
	return append([]string{":method", method, ":path", path, "content-type", "application/json"}, extra...)
}

// create sends a Responses create and returns the chat body that goes
// upstream (after checking the path and length mutations).
func (e *envoyStream) create(t *testing.T, body string, extra ...string) []byte {
	t.Helper()
	e.send(reqHeaders(false, responsesHeaders("POST", "/v1/responses", extra...)...))
	resp := e.send(reqBody(body, true))
	cr := resp.GetRequestBody().GetResponse()
	if cr == nil {
		t.Fatalf("no request body response: %v", resp)
	}
	chat := cr.GetBodyMutation().GetBody()
	set := setHeaders(cr.GetHeaderMutation())
	if set[":path"] != "/v1/chat/completions" || set["content-length"] == "" || set["x-selected-model"] == "" || !cr.ClearRouteCache {
		t.Fatalf("request mutation %v", cr.GetHeaderMutation())
	}
	return chat
}

const chatAnswer = `{"id":"c1","object":"chat.completion","created":1,"model":"small-v1","choices":[{"index":0,"message":{"role":"assistant","content":"hello from small"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":3,"total_tokens":7}}`

// answerJSON plays the upstream JSON answer in two chunks and returns the
// body the client gets.
func (e *envoyStream) answerJSON(t *testing.T, status int, body string) []byte {
	t.Helper()
	rh := e.send(respHeaders(status, "application/json")).GetResponseHeaders()
	hm := rh.GetResponse().GetHeaderMutation()
	if setHeaders(hm)["content-type"] != "application/json" || !contains(hm.GetRemoveHeaders(), "content-length") {
		t.Fatalf("response header mutation %v", hm)
	}
	half := len(body) / 2
	first := e.send(respBody(body[:half], false)).GetResponseBody().GetResponse().GetBodyMutation()
	if first == nil || len(first.GetBody()) != 0 {
		t.Fatalf("first chunk not held back: %v", first)
	}
	return e.send(respBody(body[half:], true)).GetResponseBody().GetResponse().GetBodyMutation().GetBody()
}

// A create is routed as a chat request, answered as a Response, stored
// for its user, read back and continued.
func TestResponsesBehindEnvoy(t *testing.T) {
	h := newHarness(t, gateway.Stages{})
	e := h.open(t)
	chat := e.create(t, `{"model":"small","input":"hi there","instructions":"Be kind."}`, "x-authz-user-id", "alice")
	if gjson.GetBytes(chat, "messages.#").Int() != 2 || gjson.GetBytes(chat, "messages.0.role").Str != "system" ||
		gjson.GetBytes(chat, "messages.1.content").Str != "hi there" || gjson.GetBytes(chat, "model").Str != "small-v1" {
		t.Fatalf("chat body %s", chat)
	}
	out := e.answerJSON(t, 200, chatAnswer)
	var resp oairesp.Response
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != "hello from small" || resp.Status != "completed" || resp.Usage.TotalTokens != 7 || !strings.HasPrefix(resp.ID, "resp_") {
		t.Fatalf("response %s", out)
	}

	get := func(user, path string) (int, []byte) {
		imm := h.open(t).send(reqHeaders(true, responsesHeaders("GET", path, "x-authz-user-id", user)...)).GetImmediateResponse()
		if imm == nil {
			t.Fatalf("GET %s: no immediate response", path)
		}
		return int(imm.GetStatus().GetCode()), imm.GetBody()
	}
	if code, b := get("alice", "/v1/responses/"+resp.ID); code != 200 || gjson.GetBytes(b, "id").Str != resp.ID {
		t.Fatalf("owner GET: %d %s", code, b)
	}
	if code, _ := get("bob", "/v1/responses/"+resp.ID); code != 404 {
		t.Fatalf("another user's GET: %d", code)
	}
	if code, b := get("alice", "/v1/responses/"+resp.ID+"/input_items?order=asc"); code != 200 || gjson.GetBytes(b, "data.0.content.0.text").Str != "hi there" {
		t.Fatalf("input_items: %d %s", code, b)
	}

	e2 := h.open(t)
	chat = e2.create(t, `{"model":"small","input":"and more","previous_response_id":"`+resp.ID+`"}`, "x-authz-user-id", "alice")
	if roles := gjson.GetBytes(chat, "messages.#.role").String(); roles != `["user","assistant","user"]` {
		t.Fatalf("continued roles %s in %s", roles, chat)
	}
	e3 := h.open(t)
	e3.send(reqHeaders(false, responsesHeaders("POST", "/v1/responses", "x-authz-user-id", "bob")...))
	imm := e3.send(reqBody(`{"model":"small","input":"x","previous_response_id":"`+resp.ID+`"}`, true)).GetImmediateResponse()
	if imm == nil || imm.GetStatus().GetCode() != 404 || gjson.GetBytes(imm.GetBody(), "error.param").Str != "previous_response_id" {
		t.Fatalf("bob continued alice's response: %v", imm)
	}
}

// A streamed create: the chat SSE stream (STREAMED mode) becomes the
// Responses events, which the SDK's accumulator rebuilds.
func TestResponsesStreamBehindEnvoy(t *testing.T) {
	e := newHarness(t, gateway.Stages{}).open(t)
	chat := e.create(t, `{"model":"small","input":"stream it","stream":true}`)
	if !gjson.GetBytes(chat, "stream").Bool() || !gjson.GetBytes(chat, "stream_options.include_usage").Bool() {
		t.Fatalf("chat body %s", chat)
	}
	rh := e.send(respHeaders(200, "text/event-stream"))
	if rh.ModeOverride == nil || rh.ModeOverride.ResponseBodyMode != filterv3.ProcessingMode_STREAMED ||
		setHeaders(rh.GetResponseHeaders().GetResponse().GetHeaderMutation())["content-type"] != "text/event-stream" {
		t.Fatalf("response headers %v", rh)
	}
	chunks := []string{
		`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"small-v1","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}` + "\n\n",
		`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"small-v1","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}` + "\n\n",
		`data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"small-v1","choices":[],"usage":{"prompt_tokens":2,"completion_tokens":2,"total_tokens":4}}` + "\n\ndata: [DONE]\n\n",
	}
	var out []byte
	for i, c := range chunks {
		r := e.send(respBody(c, i == len(chunks)-1))
		out = append(out, r.GetResponseBody().GetResponse().GetBodyMutation().GetBody()...)
	}
	var acc oairesp.ResponseAccumulator
	var types []string
	for _, ev := range strings.Split(strings.TrimSpace(string(out)), "\n\n") {
		_, data, ok := strings.Cut(ev, "data: ")
		if !ok {
			t.Fatalf("event without data: %q", ev)
		}
		var se oairesp.ResponsesServerEventUnion
		if err := json.Unmarshal([]byte(data), &se); err != nil {
			t.Fatal(err)
		}
		if err := acc.AddEvent(se); err != nil {
			t.Fatalf("accumulator: %v on %s", err, data)
		}
		types = append(types, se.Type)
	}
	final, err := acc.ReconstructedResponse()
	if err != nil {
		t.Fatal(err)
	}
	if final.OutputText() != "Hello" || final.Usage.TotalTokens != 4 || types[0] != "response.created" || types[len(types)-1] != "response.completed" {
		t.Fatalf("events %v text %q", types, final.OutputText())
	}
}

// Answers the gateway makes itself (a cache hit) are translated too;
// refusals keep their 400 naming the field; an upstream error keeps its
// envelope.
func TestResponsesImmediateAndErrorsBehindEnvoy(t *testing.T) {
	cached := `{"id":"c","object":"chat.completion","created":1,"model":"large","choices":[{"index":0,"message":{"role":"assistant","content":"from cache"},"finish_reason":"stop"}]}`
	h := newHarness(t, gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "hard"}},
		Cache: &fakeCache{hits: []gateway.CachedResponse{{Decision: "hard", Similarity: 0.95, Body: []byte(cached)}}}})
	e := h.open(t)
	e.send(reqHeaders(false, responsesHeaders("POST", "/v1/responses")...))
	imm := e.send(reqBody(`{"model":"auto","input":"x"}`, true)).GetImmediateResponse()
	if imm == nil || imm.GetStatus().GetCode() != 200 {
		t.Fatalf("cache hit: %v", imm)
	}
	var resp oairesp.Response
	if err := json.Unmarshal(imm.GetBody(), &resp); err != nil || resp.OutputText() != "from cache" || setHeaders(imm.GetHeaders())["x-vsr-cache-hit"] != "true" {
		t.Fatalf("cache hit body %s headers %v", imm.GetBody(), imm.GetHeaders())
	}

	e = h.open(t)
	e.send(reqHeaders(false, responsesHeaders("POST", "/v1/responses")...))
	imm = e.send(reqBody(`{"model":"auto","input":[{"type":"web_search_call"}]}`, true)).GetImmediateResponse()
	if imm == nil || imm.GetStatus().GetCode() != 400 || gjson.GetBytes(imm.GetBody(), "error.param").Str != "input[0].type" {
		t.Fatalf("malformed: %v", imm)
	}

	e = newHarness(t, gateway.Stages{}).open(t)
	e.create(t, `{"model":"small","input":"x"}`)
	out := e.answerJSON(t, 429, `{"error":{"message":"slow down","type":"rate_limit_error","code":"rate_limited"}}`)
	if gjson.GetBytes(out, "error.code").Str != "rate_limited" || gjson.GetBytes(out, "error.message").Str != "slow down" {
		t.Fatalf("upstream error %s", out)
	}
}

// enabled: false keeps the 404 unsupported_endpoint behind Envoy too.
func TestResponsesDisabledBehindEnvoy(t *testing.T) {
	sp := spec()
	sp.Responses.Disabled = true
	e := startHarness(t, sp, gateway.Stages{}, nil, nil).open(t)
	imm := e.send(reqHeaders(false, responsesHeaders("POST", "/v1/responses")...)).GetImmediateResponse()
	if imm == nil || imm.GetStatus().GetCode() != 404 || gjson.GetBytes(imm.GetBody(), "error.code").Str != "unsupported_endpoint" {
		t.Fatalf("%v", imm)
	}
}
