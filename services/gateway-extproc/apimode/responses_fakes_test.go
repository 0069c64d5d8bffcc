package apimode_test

// FAKES for the Responses API tests: the LLM behind the router is an
// httptest server imitating an OpenAI-compatible chat completions server
// (no model server runs here), and the classifier (a NATS service of
// another module) is a fake that picks the decision by a word of the
// last user turn.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// chatLLM is a FAKE chat completions server. It answers:
//   - with a get_weather tool call when tools are offered and the last
//     message is a user turn;
//   - "sunny (tool said: <result>)" after a tool message;
//   - "echo <n>: <last user text>" otherwise (n: the number of messages);
//   - with status when status is set.
//
// A request with stream: true is answered as SSE (with a usage chunk when
// stream_options.include_usage is set); one with reasoning_effort thinks
// first (reasoning_content, as vLLM sends it).
type chatLLM struct {
	name   string
	srv    *httptest.Server
	status int
	// cut: a stream stops after two chunks (the connection is closed).
	cut    bool
	mu     sync.Mutex
	bodies []map[string]any
}

func newChatLLM(t *testing.T, name string) *chatLLM {
	t.Helper()
	f := &chatLLM{name: name}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *chatLLM) endpoint() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// requests returns the bodies received so far.
func (f *chatLLM) requests() []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.bodies...)
}

// last is the last body received.
func (f *chatLLM) last(t *testing.T) map[string]any {
	t.Helper()
	rs := f.requests()
	if len(rs) == 0 {
		t.Fatal("the fake LLM got no request")
	}
	return rs[len(rs)-1]
}

func (f *chatLLM) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	status := f.status
	f.mu.Unlock()
	if status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"fake %s says %d","type":"server_error","code":"fake_down"}}`, f.name, status)
		return
	}
	msgs, _ := body["messages"].([]any)
	lastMsg, _ := msgs[len(msgs)-1].(map[string]any)
	_, hasTools := body["tools"]
	stream, _ := body["stream"].(bool)
	model, _ := body["model"].(string)
	switch {
	case lastMsg["role"] == "tool":
		f.text(w, model, stream, body, "sunny (tool said: "+fmt.Sprint(lastMsg["content"])+")")
	case hasTools && lastMsg["role"] == "user":
		f.toolCall(w, model, stream)
	default:
		f.text(w, model, stream, body, fmt.Sprintf("echo %d: %s", len(msgs), lastText(lastMsg)))
	}
}

func lastText(m map[string]any) string {
	switch c := m["content"].(type) {
	case string:
		return c
	case []any:
		var b strings.Builder
		for _, p := range c {
			pm, _ := p.(map[string]any)
			if s, ok := pm["text"].(string); ok {
				b.WriteString(s)
			}
			if pm["type"] == "image_url" {
				b.WriteString("[image]")
			}
		}
		return b.String()
	}
	return ""
}

const fakeUsage = `{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}`

func (f *chatLLM) text(w http.ResponseWriter, model string, stream bool, body map[string]any, text string) {
	_, thinks := body["reasoning_effort"]
	if !stream {
		reasoning := ""
		if thinks {
			reasoning = `"reasoning_content":"let me think",`
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-f","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant",%s"content":%q},"finish_reason":"stop"}],"usage":%s}`,
			model, reasoning, text, fakeUsage)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	chunk := func(delta, finish string) {
		fr := "null"
		if finish != "" {
			fr = fmt.Sprintf("%q", finish)
		}
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-f\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":%s}]}\n\n", model, delta, fr)
		fl.Flush()
	}
	chunk(`{"role":"assistant","content":""}`, "")
	if thinks {
		chunk(`{"reasoning_content":"let me "}`, "")
		chunk(`{"reasoning_content":"think"}`, "")
	}
	for i := 0; i < len(text); i += 4 {
		if f.cut && i == 8 {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		chunk(fmt.Sprintf(`{"content":%q}`, text[i:min(i+4, len(text))]), "")
	}
	chunk(`{}`, "stop")
	if so, _ := body["stream_options"].(map[string]any); so["include_usage"] == true {
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-f\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[],\"usage\":%s}\n\n", model, fakeUsage)
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}

func (f *chatLLM) toolCall(w http.ResponseWriter, model string, stream bool) {
	if !stream {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-t","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_42","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":%s}`,
			model, fakeUsage)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	for _, fr := range []string{
		`{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_42","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}`,
		`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}`,
		`{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}`,
		`{"index":0,"delta":{},"finish_reason":"tool_calls"}`,
	} {
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-t\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[%s]}\n\n", model, fr)
	}
	fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-t\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[],\"usage\":%s}\n\n", model, fakeUsage)
	fmt.Fprint(w, "data: [DONE]\n\n")
}

// wordClassifier is a FAKE classifier: decision "math" when the last user
// turn mentions "math", else "general".
type wordClassifier struct{}

func (wordClassifier) Classify(_ context.Context, r *gateway.RouteRequest) (*gateway.Decision, error) {
	if strings.Contains(r.Request.LastUserText(), "math") {
		return &gateway.Decision{Name: "math", Confidence: 0.9, Matched: map[string][]string{"keyword": {"kw"}}}, nil
	}
	return &gateway.Decision{Name: "general", Confidence: 0.6}, nil
}

var _ gateway.Classifier = wordClassifier{}

// hitCache is a FAKE response cache (the cache service lives in another
// module): every lookup finds one exact entry of decision "general".
type hitCache struct{}

func (hitCache) Lookup(context.Context, *gateway.CacheQuery) ([]gateway.CachedResponse, error) {
	return []gateway.CachedResponse{{Decision: "general", Exact: true, EntryID: "e1",
		Body: []byte(`{"id":"chatcmpl-c","object":"chat.completion","created":1,"model":"small","choices":[{"index":0,"message":{"role":"assistant","content":"from the cache"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":3,"total_tokens":5}}`)}}, nil
}

func (hitCache) Store(context.Context, *gateway.CacheEntry) error { return nil }

var _ gateway.Cache = hitCache{}
