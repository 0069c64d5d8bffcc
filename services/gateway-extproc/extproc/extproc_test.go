package extproc

// The harness below plays Envoy's side of the ext_proc protocol: a real gRPC
// client on a real TCP listener sending ProcessingRequests in the order
// Envoy's ext_proc filter does (Envoy itself cannot run here). Router stages
// are hand-written FAKES of the gateway's consumer interfaces.

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/tidwall/gjson"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/sse"
)

type fakeClassifier struct{ dec *gateway.Decision }

func (f fakeClassifier) Classify(context.Context, *gateway.RouteRequest) (*gateway.Decision, error) {
	return f.dec, nil
}

type fakeCache struct {
	hits   []gateway.CachedResponse
	stored chan *gateway.CacheEntry
}

func (f *fakeCache) Lookup(context.Context, *gateway.CacheQuery) ([]gateway.CachedResponse, error) {
	return f.hits, nil
}

func (f *fakeCache) Store(_ context.Context, e *gateway.CacheEntry) error {
	f.stored <- e
	return nil
}

type fakeLatency struct {
	mu  sync.Mutex
	obs []*gateway.LatencyObservation
	got chan struct{}
}

func (f *fakeLatency) PublishLatency(_ context.Context, o *gateway.LatencyObservation) error {
	f.mu.Lock()
	f.obs = append(f.obs, o)
	f.mu.Unlock()
	f.got <- struct{}{}
	return nil
}

var (
	_ gateway.Classifier       = fakeClassifier{}
	_ gateway.Cache            = (*fakeCache)(nil)
	_ gateway.LatencyPublisher = (*fakeLatency)(nil)
)

func spec() routes.Spec {
	return routes.Spec{
		DefaultModel:   "small",
		MaxBodyBytes:   4096,
		NeedsEmbedding: false,
		ReasoningFamilies: map[string]routes.ReasoningFamily{
			"qwen3": {Type: "chat_template_kwargs", Parameter: "enable_thinking"},
		},
		Models: []routes.Model{
			{Name: "small", ProviderModelID: "small-v1", ReasoningFamily: "qwen3", Backends: []routes.Backend{{Endpoint: "small:8000", Weight: 1}}},
			{Name: "large", ReasoningFamily: "qwen3", Backends: []routes.Backend{{Endpoint: "large:8000", Weight: 1}}},
		},
		Decisions: []routes.Decision{
			{Name: "hard", ModelRefs: []routes.ModelRef{{Model: "large", UseReasoning: true}},
				Plugins: routes.Plugins{
					HeaderMutation: &routes.HeaderMutationPlugin{Add: []routes.Header{{Name: "X-Tier", Value: "gold"}}, Delete: []string{"X-Debug-Trace"}},
					ResponseCache:  &routes.ResponseCachePlugin{Enabled: true, SimilarityThreshold: 0.8, TTL: time.Minute},
				}},
			{Name: "terse", ModelRefs: []routes.ModelRef{{Model: "small"}},
				Plugins: routes.Plugins{FastResponse: &routes.FastResponsePlugin{Message: "quick"}}},
		},
	}
}

// harness runs the ext_proc server on a real listener and dials it.
type harness struct {
	client extprocv3.ExternalProcessorClient
}

func newHarness(t *testing.T, st gateway.Stages, opts ...gateway.Option) *harness {
	t.Helper()
	return startHarness(t, spec(), st, opts, nil)
}

// startHarness serves sp with the given gateway and server options.
func startHarness(t *testing.T, sp routes.Spec, st gateway.Stages, gwOpts []gateway.Option, opts []Option) *harness {
	t.Helper()
	tbl, err := routes.Compile(sp)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw := gateway.New(tbl, st, log, gwOpts...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(gw, log, opts...).Serve(ctx, ln, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &harness{client: extprocv3.NewExternalProcessorClient(conn)}
}

// envoyStream is one request's stream as Envoy drives it.
type envoyStream struct {
	t  *testing.T
	st extprocv3.ExternalProcessor_ProcessClient
}

func (h *harness) open(t *testing.T) *envoyStream {
	st, err := h.client.Process(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.CloseSend() })
	return &envoyStream{t: t, st: st}
}

func (e *envoyStream) send(req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	e.t.Helper()
	if err := e.st.Send(req); err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.st.Recv()
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

func headerMap(kv ...string) *corev3.HeaderMap {
	hm := &corev3.HeaderMap{}
	for i := 0; i < len(kv); i += 2 {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	return hm
}

func reqHeaders(eos bool, kv ...string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{
		RequestHeaders: &extprocv3.HttpHeaders{Headers: headerMap(kv...), EndOfStream: eos}}}
}

func reqBody(body string, eos bool) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestBody{
		RequestBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: eos}}}
}

func respHeaders(status int, ctype string) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseHeaders{
		ResponseHeaders: &extprocv3.HttpHeaders{Headers: headerMap(":status", strconv.Itoa(status), "content-type", ctype)}}}
}

func respBody(body string, eos bool) *extprocv3.ProcessingRequest {
	return &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_ResponseBody{
		ResponseBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: eos}}}
}

func chatHeaders(extra ...string) *extprocv3.ProcessingRequest {
	return reqHeaders(false, append([]string{":method", "POST", ":path", "/v1/chat/completions", "content-type", "application/json"}, extra...)...)
}

func setHeaders(hm *extprocv3.HeaderMutation) map[string]string {
	m := map[string]string{}
	for _, h := range hm.GetSetHeaders() {
		if h.AppendAction != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
			panic("header " + h.Header.Key + " not set with OVERWRITE_IF_EXISTS_OR_ADD")
		}
		m[h.Header.Key] = string(h.Header.RawValue)
	}
	return m
}

func TestImmediateResponsesOnHeaders(t *testing.T) {
	h := newHarness(t, gateway.Stages{})
	cases := []struct {
		name         string
		method, path string
		status       int32
	}{
		{"models", "GET", "/v1/models", 200},
		{"one model", "GET", "/v1/models/auto", 200},
		{"one model escaped", "GET", "/v1/models/vllm-sr%2Fauto", 200},
		{"unknown model", "GET", "/v1/models/nope", 404},
		{"unknown v1 path", "POST", "/v1/images/generations", 404},
		{"wrong method on embeddings", "GET", "/v1/embeddings", 405},
		{"wrong method on a stored response", "POST", "/v1/responses/x", 405},
		{"unknown stored response", "GET", "/v1/responses/resp_nope", 404},
		{"wrong method", "PUT", "/v1/chat/completions", 405},
		{"wrong method on a model", "POST", "/v1/models/auto", 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.open(t).send(reqHeaders(true, ":method", tc.method, ":path", tc.path))
			imm := resp.GetImmediateResponse()
			if imm == nil || int32(imm.Status.Code) != tc.status {
				t.Fatalf("response %v", resp)
			}
			if setHeaders(imm.Headers)["content-type"] != "application/json" {
				t.Fatalf("headers %v", imm.Headers)
			}
			if tc.path == "/v1/models" && gjson.GetBytes(imm.Body, "data.#").Int() != 5 {
				t.Fatalf("models body %s", imm.Body)
			}
			if tc.status == 200 && tc.path != "/v1/models" && gjson.GetBytes(imm.Body, "object").Str != "model" {
				t.Fatalf("model body %s", imm.Body)
			}
			if allow := setHeaders(imm.Headers)["allow"]; (tc.status == 405) != (allow != "") {
				t.Fatalf("status %d with allow %q", tc.status, allow)
			}
		})
	}
}

func TestPassthroughPath(t *testing.T) {
	h := newHarness(t, gateway.Stages{})
	e := h.open(t)
	resp := e.send(reqHeaders(true, ":method", "GET", ":path", "/healthz"))
	if resp.GetRequestHeaders() == nil || resp.GetRequestHeaders().Response.HeaderMutation != nil {
		t.Fatalf("response %v", resp)
	}
	resp = e.send(respHeaders(200, "text/plain"))
	if r := resp.GetResponseHeaders(); r == nil || r.Response.HeaderMutation != nil || resp.ModeOverride != nil {
		t.Fatalf("passthrough response headers mutated: %v", resp)
	}
}

func TestRoutedStreamingLifecycle(t *testing.T) {
	cache := &fakeCache{stored: make(chan *gateway.CacheEntry, 1)}
	lat := &fakeLatency{got: make(chan struct{}, 1)}
	h := newHarness(t, gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "hard", Confidence: 1,
		Matched: map[string][]string{"keyword": {"k1"}}}}, Cache: cache, Latency: lat})
	e := h.open(t)
	if r := e.send(chatHeaders("x-vsr-debug", "true")); r.GetRequestHeaders() == nil {
		t.Fatalf("headers response %v", r)
	}
	body := `{"model":"auto","stream":true,"messages":[{"role":"user","content":"derive it"}]}`
	r := e.send(reqBody(body, true)).GetRequestBody()
	if r == nil {
		t.Fatal("no body response")
	}
	cr := r.Response
	want := `{"model":"large","stream":true,"messages":[{"role":"user","content":"derive it"}],"chat_template_kwargs":{"enable_thinking":true},"stream_options":{"include_usage":true}}`
	if got := string(cr.BodyMutation.GetBody()); got != want {
		t.Fatalf("body mutation\n got %s\nwant %s", got, want)
	}
	set := setHeaders(cr.HeaderMutation)
	if set["x-selected-model"] != "large" || set["content-length"] != strconv.Itoa(len(want)) || set["x-tier"] != "gold" {
		t.Fatalf("request header mutation %v", set)
	}
	if rm := cr.HeaderMutation.RemoveHeaders; len(rm) != 2 || rm[0] != "x-debug-trace" || rm[1] != HeaderSelectedBackend {
		t.Fatalf("remove headers %v", rm)
	}
	if !cr.ClearRouteCache {
		t.Fatal("route cache not cleared after a model change")
	}

	rh := e.send(respHeaders(200, "text/event-stream"))
	if rh.ModeOverride == nil || rh.ModeOverride.ResponseBodyMode != filterv3.ProcessingMode_STREAMED {
		t.Fatalf("no STREAMED mode override: %v", rh.ModeOverride)
	}
	vsr := setHeaders(rh.GetResponseHeaders().Response.HeaderMutation)
	for k, v := range map[string]string{"x-vsr-selected-model": "large", "x-vsr-selected-decision": "hard",
		"x-vsr-selected-confidence": "1.0000", "x-vsr-selected-reasoning": "on", "x-vsr-response-path": "upstream",
		"x-vsr-matched-keywords": "k1"} {
		if vsr[k] != v {
			t.Errorf("%s = %q, want %q", k, vsr[k], v)
		}
	}
	stream := "data: {\"id\":\"x\",\"model\":\"large\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Th\"}}]}\n\n" +
		"data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"eorem\"},\"finish_reason\":\"stop\"}]}\n\n" +
		"data: {\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2,\"total_tokens\":9}}\n\ndata: [DONE]\n\n"
	// The client did not ask for usage: the router injected
	// include_usage, so the usage chunk is recorded (latency below) but cut
	// out of the STREAMED chunks the client gets; partial events wait for
	// their end.
	usageChunk := "data: {\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2,\"total_tokens\":9}}\n\n"
	chunks := []string{stream[:37], stream[37:140], stream[140:]}
	var client []byte
	for i, c := range chunks {
		rb := e.send(respBody(c, i == len(chunks)-1)).GetResponseBody()
		if rb == nil {
			t.Fatalf("no response to body chunk %d", i)
		}
		if m := rb.Response.BodyMutation; m != nil {
			client = append(client, m.GetBody()...)
		} else {
			client = append(client, c...)
		}
	}
	if want := strings.Replace(stream, usageChunk, "", 1); string(client) != want {
		t.Fatalf("client stream\n got %q\nwant %q", client, want)
	}
	select {
	case got := <-cache.stored:
		r := sse.New(0)
		replay, err := sse.Replay(got.Body, false)
		if err != nil {
			t.Fatal(err)
		}
		r.Write(replay)
		if got.Decision != "hard" || r.Content() != "Theorem" {
			t.Fatalf("cache entry %+v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("completed stream not published to the cache")
	}
	select {
	case <-lat.got:
		lat.mu.Lock()
		o := lat.obs[0]
		lat.mu.Unlock()
		if o.Model != "large" || !o.Streamed || o.CompletionTokens != 2 || o.PromptTokens != 7 {
			t.Fatalf("latency %+v", o)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no latency observation")
	}
}

func TestConcreteModelAndBufferedResponse(t *testing.T) {
	lat := &fakeLatency{got: make(chan struct{}, 1)}
	h := newHarness(t, gateway.Stages{Latency: lat})
	e := h.open(t)
	e.send(chatHeaders())
	body := `{"model":"large","messages":[{"role":"user","content":"x"}]}`
	cr := e.send(reqBody(body, true)).GetRequestBody().Response
	if cr.BodyMutation != nil {
		t.Fatalf("concrete model body mutated: %s", cr.BodyMutation.GetBody())
	}
	if set := setHeaders(cr.HeaderMutation); set["x-selected-model"] != "large" || set["content-length"] != "" || !cr.ClearRouteCache {
		t.Fatalf("headers %v clear=%v", set, cr.ClearRouteCache)
	}
	rh := e.send(respHeaders(200, "application/json"))
	if rh.ModeOverride != nil {
		t.Fatal("mode override on a JSON response")
	}
	e.send(respBody(`{"id":"a","object":"chat.completion","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`, true))
	select {
	case <-lat.got:
		if o := lat.obs[0]; o.Streamed || o.CompletionTokens != 4 || o.Model != "large" {
			t.Fatalf("latency %+v", o)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no latency observation")
	}
}

func TestImmediateResponsesOnBody(t *testing.T) {
	cached := `{"id":"c","object":"chat.completion","created":1,"model":"large","choices":[{"index":0,"message":{"role":"assistant","content":"from cache"},"finish_reason":"stop"}]}`
	cases := []struct {
		name    string
		stages  gateway.Stages
		body    string
		chunks  int
		status  int32
		headers map[string]string
		check   func(t *testing.T, body []byte)
	}{
		{"malformed json", gateway.Stages{}, `{"model":`, 1, 400, map[string]string{"content-type": "application/json"},
			func(t *testing.T, b []byte) {
				if gjson.GetBytes(b, "error.type").Str != "invalid_request_error" {
					t.Fatalf("%s", b)
				}
			}},
		{"unknown model", gateway.Stages{}, `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 1, 404, nil,
			func(t *testing.T, b []byte) {
				if gjson.GetBytes(b, "error.message").Str != `model "nope" is not available` {
					t.Fatalf("%s", b)
				}
			}},
		{"too large in chunks", gateway.Stages{}, `{"model":"auto","messages":[{"role":"user","content":"` + strings.Repeat("a", 5000) + `"}]}`, 3, 413, nil, nil},
		{"fast response", gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "terse"}}},
			`{"model":"auto","messages":[{"role":"user","content":"x"}]}`, 1, 200,
			map[string]string{"x-vsr-fast-response": "true", "x-vsr-response-path": "fast_response", "x-vsr-selected-decision": "terse"},
			func(t *testing.T, b []byte) {
				if gjson.GetBytes(b, "choices.0.message.content").Str != "quick" {
					t.Fatalf("%s", b)
				}
			}},
		{"cache hit streamed", gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "hard"}},
			Cache: &fakeCache{hits: []gateway.CachedResponse{{Decision: "hard", Similarity: 0.95, Body: []byte(cached)}}}},
			`{"model":"auto","stream":true,"messages":[{"role":"user","content":"x"}]}`, 2, 200,
			map[string]string{"x-vsr-cache-hit": "true", "x-vsr-response-path": "cache", "content-type": "text/event-stream"},
			func(t *testing.T, b []byte) {
				r := sse.New(0)
				r.Write(b)
				if !r.Complete() || r.Content() != "from cache" || !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
					t.Fatalf("%s", b)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newHarness(t, tc.stages).open(t)
			e.send(chatHeaders())
			var resp *extprocv3.ProcessingResponse
			step := (len(tc.body) + tc.chunks - 1) / tc.chunks
			for i := 0; i < len(tc.body); i += step {
				end := min(i+step, len(tc.body))
				resp = e.send(reqBody(tc.body[i:end], end == len(tc.body)))
				if resp.GetImmediateResponse() != nil {
					break
				}
				if end < len(tc.body) {
					if m := resp.GetRequestBody().Response.BodyMutation; m == nil || len(m.GetBody()) != 0 {
						t.Fatalf("partial chunk %d not held back: %v", i, resp)
					}
				}
			}
			imm := resp.GetImmediateResponse()
			if imm == nil || int32(imm.Status.Code) != tc.status {
				t.Fatalf("response %v", resp)
			}
			got := setHeaders(imm.Headers)
			for k, v := range tc.headers {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if tc.check != nil {
				tc.check(t, imm.Body)
			}
		})
	}
}
