package extproc

import (
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// costHarness prices "small" (the model of the FAKE classifier's decision
// "priced"; Envoy and the upstream are played by the test).
func costHarness(t *testing.T) *harness {
	sp := spec()
	sp.Models[0].Pricing = &routes.Pricing{Currency: "USD", Prompt: 1, CachedInput: 0.5, CacheWrite: 1, Completion: 2}
	sp.Decisions = append(sp.Decisions, routes.Decision{Name: "priced", ModelRefs: []routes.ModelRef{{Model: "small"}}})
	return startHarness(t, sp, gateway.Stages{Classifier: wordScorer{dec: "priced"}}, nil, nil)
}

// TestCostBuffered: the x-vsr-cost header rides on the last body response
// of a buffered JSON answer.
func TestCostBuffered(t *testing.T) {
	e := costHarness(t).open(t)
	e.send(chatHeaders())
	e.send(reqBody(`{"model":"auto","messages":[{"role":"user","content":"q"}]}`, true))
	e.send(respHeaders(200, "application/json"))
	answer := `{"id":"a","object":"chat.completion","created":1,"model":"small","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":100,"completion_tokens":10,"total_tokens":110,"prompt_tokens_details":{"cached_tokens":40}}}`
	last := e.send(respBody(answer, true)).GetResponseBody().GetResponse()
	// 60×1 + 40×0.5 + 10×2 = 100 per million.
	if got := setHeaders(last.GetHeaderMutation())[gateway.HeaderCost]; got != "0.0001" || setHeaders(last.GetHeaderMutation())[gateway.HeaderCostCurrency] != "USD" {
		t.Fatalf("%s = %q, want 0.0001 USD", gateway.HeaderCost, got)
	}
}

// TestCostStreamed: a streamed answer gets the cost as a comment event
// before data: [DONE].
func TestCostStreamed(t *testing.T) {
	e := costHarness(t).open(t)
	e.send(chatHeaders())
	e.send(reqBody(`{"model":"auto","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"q"}]}`, true))
	e.send(respHeaders(200, "text/event-stream"))
	chunks := []string{
		`data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"small","choices":[{"index":0,"delta":{"content":"hello"},"finish_reason":"stop"}]}` + "\n\n",
		`data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"small","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":10,"total_tokens":110}}` + "\n\ndata: [DONE]\n\n",
	}
	var got strings.Builder
	for i, c := range chunks {
		r := e.send(respBody(c, i == len(chunks)-1)).GetResponseBody().GetResponse()
		if m := r.GetBodyMutation(); m != nil {
			got.Write(m.GetBody())
		} else {
			got.WriteString(c)
		}
	}
	// 100×1 + 10×2 = 120 per million.
	if out := got.String(); !strings.HasSuffix(out, "\n\n: x-vsr-cost 0.00012 USD\n\ndata: [DONE]\n\n") {
		t.Fatalf("client stream %q", out)
	}
}

// TestCostStreamedResponses: a streamed Responses create keeps the cost
// comment of its translated chat stream, once, before
// response.completed.
func TestCostStreamedResponses(t *testing.T) {
	e := costHarness(t).open(t)
	e.create(t, `{"model":"auto","input":"q","stream":true}`)
	e.send(respHeaders(200, "text/event-stream"))
	chunks := []string{
		`data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"small","choices":[{"index":0,"delta":{"content":"hello"},"finish_reason":"stop"}]}` + "\n\n",
		`data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"small","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":10,"total_tokens":110}}` + "\n\ndata: [DONE]\n\n",
	}
	var got strings.Builder
	for i, c := range chunks {
		got.Write(e.send(respBody(c, i == len(chunks)-1)).GetResponseBody().GetResponse().GetBodyMutation().GetBody())
	}
	out := got.String()
	const comment = ": x-vsr-cost 0.00012 USD\n\n"
	i, done := strings.Index(out, comment), strings.Index(out, "event: response.completed")
	if i < 0 || strings.Count(out, comment) != 1 || done < 0 || i > done {
		t.Fatalf("want the cost comment once before response.completed:\n%s", out)
	}
}

// TestCostStreamedSplitDone: the cost comment still comes before
// data: [DONE] when Envoy hands the [DONE] event over in two chunks.
func TestCostStreamedSplitDone(t *testing.T) {
	e := costHarness(t).open(t)
	e.send(chatHeaders())
	e.send(reqBody(`{"model":"auto","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"q"}]}`, true))
	e.send(respHeaders(200, "text/event-stream"))
	chunks := []string{
		`data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"small","choices":[{"index":0,"delta":{"content":"hello"},"finish_reason":"stop"}]}` + "\n\n",
		`data: {"id":"s","object":"chat.completion.chunk","created":1,"model":"small","choices":[],"usage":{"prompt_tokens":100,"completion_tokens":10,"total_tokens":110}}` + "\n\ndata: [DO",
		"NE]\n\n",
	}
	var got strings.Builder
	for i, c := range chunks {
		r := e.send(respBody(c, i == len(chunks)-1)).GetResponseBody().GetResponse()
		if m := r.GetBodyMutation(); m != nil {
			got.Write(m.GetBody())
		} else {
			got.WriteString(c)
		}
	}
	if out := got.String(); !strings.HasSuffix(out, "\n\n: x-vsr-cost 0.00012 USD\n\ndata: [DONE]\n\n") {
		t.Fatalf("client stream %q", out)
	}
}
