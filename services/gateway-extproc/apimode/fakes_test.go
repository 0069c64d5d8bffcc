package apimode

// LLM FAKES: the upstream model servers in these tests are httptest servers
// that imitate an OpenAI-compatible LLM (no real model can run here). The
// router stages (classifier, cache) are small hand-written FAKES of the
// gateway's consumer interfaces; the real NATS-backed services are wired in
// later.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// seenRequest is what a fake LLM received.
type seenRequest struct {
	Path   string
	Header http.Header
	Body   map[string]any
	Raw    string
}

// fakeLLM is an httptest server imitating an OpenAI-compatible LLM. mode
// selects its behaviour: "ok", "stream", "status:<code>", "cut" (streams two
// chunks then drops the connection), "tools", "streamtools", "hang" (never
// answers), "hold" (streams one chunk, then never ends), "flood" (streams
// without end as fast as it can).
type fakeLLM struct {
	name string
	mode string
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []seenRequest
	// onRequest, when set (under mu), is called once a request was read.
	onRequest func()
}

func newFakeLLM(t *testing.T, name, mode string) *fakeLLM {
	t.Helper()
	f := &fakeLLM{name: name, mode: mode}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLLM) endpoint() string { return f.srv.Listener.Addr().String() }

func (f *fakeLLM) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.reqs...)
}

func (f *fakeLLM) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	f.reqs = append(f.reqs, seenRequest{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Raw: string(raw)})
	onRequest := f.onRequest
	f.mu.Unlock()
	if onRequest != nil {
		onRequest()
	}
	model, _ := body["model"].(string)
	switch {
	case f.mode == "hang":
		<-r.Context().Done()
		return
	case f.mode == "hold":
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-h\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"first\"},\"finish_reason\":null}]}\n\n", model)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	case f.mode == "flood":
		// streams chunks as fast as the router takes them until the
		// request ends (a client that stops reading meets a full pipe)
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := fmt.Sprintf("data: {\"id\":\"chatcmpl-f\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n",
			model, strings.Repeat("x", 4096))
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
		return
	case strings.HasPrefix(f.mode, "status:"):
		var code int
		fmt.Sscanf(f.mode, "status:%d", &code)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"message":"%s says %d","type":"server_error"}}`, f.name, code)
	case f.mode == "tools":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-t","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}`, model)
	case f.mode == "streamtools":
		w.Header().Set("Content-Type", "text/event-stream")
		frames := []string{
			`{"id":"s","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_9","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
			`{"id":"s","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}`,
			`{"id":"s","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]},"finish_reason":null}]}`,
			`{"id":"s","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		}
		for _, fr := range frames {
			fmt.Fprintf(w, "data: %s\n\n", fr)
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	case f.mode == "stream" || f.mode == "cut":
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		words := []string{"Hello", " from ", f.name}
		for i, word := range words {
			if f.mode == "cut" && i == 2 {
				hj, _ := w.(http.Hijacker)
				conn, _, err := hj.Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
			fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", model, word)
			fl.Flush()
		}
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n", model)
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-s\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\n\n", model)
		fmt.Fprint(w, "data: [DONE]\n\n")
		fl.Flush()
	default:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"answer from %s"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}}`, model, f.name)
	}
}

// checkAnsweredBy fails the test unless the answer c, with the response
// resp, came from the fake LLM named want (its answer text and the
// x-vsr-selected-model header).
func checkAnsweredBy(t *testing.T, c *openai.ChatCompletion, resp *http.Response, want string) {
	t.Helper()
	if text := "answer from " + want; c.Choices[0].Message.Content != text || resp.Header.Get("x-vsr-selected-model") != want {
		t.Fatalf("content %q model %q, want %s", c.Choices[0].Message.Content, resp.Header.Get("x-vsr-selected-model"), want)
	}
}

// checkNoRequests reports each of fakes that received a request; what
// names such a request in the error.
func checkNoRequests(t *testing.T, fakes map[string]*fakeLLM, what string) {
	t.Helper()
	for n, f := range fakes {
		if len(f.requests()) != 0 {
			t.Errorf("%s got %s", n, what)
		}
	}
}

// refusedAddr returns a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// fakeClassifier answers dec/err; with hang it waits for the deadline.
type fakeClassifier struct {
	dec  *gateway.Decision
	err  error
	hang bool
}

func (f *fakeClassifier) Classify(ctx context.Context, req *gateway.RouteRequest) (*gateway.Decision, error) {
	if f.hang {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return f.dec, f.err
}

type fakeCache struct {
	stored chan *gateway.CacheEntry
}

func (f *fakeCache) Lookup(ctx context.Context, q *gateway.CacheQuery) ([]gateway.CachedResponse, error) {
	return nil, nil
}

func (f *fakeCache) Store(ctx context.Context, e *gateway.CacheEntry) error {
	f.stored <- e
	return nil
}

var (
	_ gateway.Classifier = (*fakeClassifier)(nil)
	_ gateway.Cache      = (*fakeCache)(nil)
)
