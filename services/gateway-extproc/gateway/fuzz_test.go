package gateway

import (
	"context"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/sse"
)

// FuzzExchange pushes arbitrary request bodies and response streams through
// the processor: it must never panic, only answer 4xx for bad input, and
// always forward valid JSON.
func FuzzExchange(f *testing.F) {
	f.Add([]byte(`{"model":"auto","messages":[{"role":"user","content":"hi"}]}`), []byte("data: [DONE]\n\n"), uint8(0))
	f.Add([]byte(`{"model":"MoM","stream":true,"n":3,"messages":[{"role":"system","content":"s"},{"role":"user","content":"x"}]}`),
		[]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\ndata: [DONE]\n\n"), uint8(1))
	f.Add([]byte(`{"model":"plain","messages":[{"role":"user","content":[{"type":"text","text":"q"}]}]}`), []byte(`{"usage":{}}`), uint8(2))
	decisions := []string{"business", "complex", "terse", "unknown", ""}
	f.Fuzz(func(t *testing.T, body, resp []byte, pick uint8) {
		dec := &Decision{Name: decisions[int(pick)%len(decisions)], Confidence: 0.5}
		cache := &fakeCache{hits: []CachedResponse{{Decision: "business", Exact: pick%2 == 0, Similarity: 0.9,
			Body: []byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"c"},"finish_reason":"stop"}]}`)}}}
		g := newGateway(t, testSpec(), Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: dec}, Cache: cache})
		x := g.NewExchange()
		x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
		imm, fwd := x.RequestBody(context.Background(), body)
		if imm != nil {
			if imm.Status >= 500 {
				t.Fatalf("router answered %d for %q", imm.Status, body)
			}
			if imm.Status == 200 && headerMap(imm.Headers)["content-type"] == "text/event-stream" {
				r := sse.New(0)
				r.Write(imm.Body)
				if !r.Complete() {
					t.Fatalf("immediate SSE is incomplete: %q", imm.Body)
				}
			} else if !gjson.ValidBytes(imm.Body) {
				t.Fatalf("immediate body is not JSON: %q", imm.Body)
			}
			return
		}
		if !gjson.ValidBytes(fwd.Body) {
			t.Fatalf("forwarded invalid JSON %q from %q", fwd.Body, body)
		}
		ctype := "application/json"
		if pick%2 == 1 {
			ctype = "text/event-stream"
		}
		x.ResponseHeaders(200, ctype)
		cut := int(pick) % (len(resp) + 1)
		x.ResponseBody(resp[:cut], false)
		x.ResponseBody(resp[cut:], true)
		x.Finish(context.Background())
		g.Wait()
	})
}
