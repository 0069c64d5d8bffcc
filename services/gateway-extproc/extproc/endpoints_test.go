package extproc

// POST /v1/embeddings and /v1/completions behind Envoy (the harness plays
// Envoy; the classifier, cache and latency stages are FAKES).

import (
	"strconv"
	"testing"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// endpointsSpec is spec() plus an embedding model with its own key and
// api_version.
func endpointsSpec() routes.Spec {
	sp := spec()
	sp.Models = append(sp.Models, routes.Model{Name: "embed", ProviderModelID: "text-embedding-v1",
		Backends: []routes.Backend{{Name: "e", Endpoint: "embed:8000", Weight: 1, APIKey: "sk-embed", APIVersion: "2024-10-21"}}})
	return sp
}

func endpointHeaders(path string) []string {
	return []string{":method", "POST", ":path", path, "content-type", "application/json", "authorization", "Bearer client"}
}

// An embeddings request for a configured model is pinned to it like a
// chat passthrough: model id rewritten, x-selected-model for the route,
// the backend's key, api-version on :path; the answer passes unchanged.
func TestEmbeddingsBehindEnvoy(t *testing.T) {
	h := startHarness(t, endpointsSpec(), gateway.Stages{}, nil, nil)
	e := h.open(t)
	if r := e.send(reqHeaders(false, endpointHeaders("/v1/embeddings")...)); r.GetRequestHeaders() == nil {
		t.Fatalf("headers response %v", r)
	}
	cr := e.send(reqBody(`{"model":"embed","input":["a","b"]}`, true)).GetRequestBody().GetResponse()
	want := `{"model":"text-embedding-v1","input":["a","b"]}`
	if got := string(cr.GetBodyMutation().GetBody()); got != want {
		t.Fatalf("body mutation %s, want %s", got, want)
	}
	set := setHeaders(cr.GetHeaderMutation())
	for k, v := range map[string]string{"x-selected-model": "embed", "authorization": "Bearer sk-embed",
		":path": "/v1/embeddings?api-version=2024-10-21", "content-length": strconv.Itoa(len(want))} {
		if set[k] != v {
			t.Errorf("%s = %q, want %q", k, set[k], v)
		}
	}
	if !cr.GetClearRouteCache() {
		t.Fatal("route cache not cleared")
	}
	rh := e.send(respHeaders(200, "application/json")).GetResponseHeaders()
	if vsr := setHeaders(rh.GetResponse().GetHeaderMutation()); vsr["x-vsr-selected-model"] != "embed" || vsr["x-vsr-response-path"] != "upstream" {
		t.Fatalf("response headers %v", vsr)
	}
	rb := e.send(respBody(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5]}],"usage":{"prompt_tokens":2,"total_tokens":2}}`, true))
	if m := rb.GetResponseBody().GetResponse().GetBodyMutation(); m != nil {
		t.Fatalf("embeddings answer mutated: %v", m)
	}
}

// A completions prompt for the auto model is routed by decision: model
// rewritten (no chat edits), the decision's header mutation and the
// route headers set, the SSE answer streamed through unchanged and never
// cached.
func TestCompletionsRoutedBehindEnvoy(t *testing.T) {
	cache := &fakeCache{stored: make(chan *gateway.CacheEntry, 1)}
	lat := &fakeLatency{got: make(chan struct{}, 1)}
	h := startHarness(t, endpointsSpec(), gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "hard", Confidence: 1}},
		Cache: cache, Latency: lat}, nil, nil)
	e := h.open(t)
	e.send(reqHeaders(false, endpointHeaders("/v1/completions")...))
	cr := e.send(reqBody(`{"model":"auto","prompt":"prove it","stream":true}`, true)).GetRequestBody().GetResponse()
	want := `{"model":"large","prompt":"prove it","stream":true}`
	if got := string(cr.GetBodyMutation().GetBody()); got != want {
		t.Fatalf("body mutation %s, want %s", got, want)
	}
	if set := setHeaders(cr.GetHeaderMutation()); set["x-selected-model"] != "large" || set["x-tier"] != "gold" {
		t.Fatalf("request headers %v", set)
	}
	rh := e.send(respHeaders(200, "text/event-stream"))
	if rh.ModeOverride == nil || rh.ModeOverride.ResponseBodyMode != filterv3.ProcessingMode_STREAMED {
		t.Fatalf("no STREAMED mode override: %v", rh.ModeOverride)
	}
	vsr := setHeaders(rh.GetResponseHeaders().GetResponse().GetHeaderMutation())
	if vsr["x-vsr-selected-decision"] != "hard" || vsr["x-vsr-selected-model"] != "large" || vsr["x-vsr-selected-reasoning"] != "off" {
		t.Fatalf("response headers %v", vsr)
	}
	chunks := []string{
		"data: {\"id\":\"c\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"Q\"}]}\n\n",
		"data: {\"id\":\"c\",\"object\":\"text_completion\",\"choices\":[{\"index\":0,\"text\":\"ED\",\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":2,\"total_tokens\":4}}\n\ndata: [DONE]\n\n",
	}
	for i, c := range chunks {
		rb := e.send(respBody(c, i == len(chunks)-1)).GetResponseBody()
		if rb == nil || rb.GetResponse().GetBodyMutation() != nil {
			t.Fatalf("chunk %d: %v", i, rb)
		}
	}
	<-lat.got // Finish ran: the cache store, had there been one, came first
	select {
	case got := <-cache.stored:
		t.Fatalf("a completion was cached: %s", got.Body)
	default:
	}
	lat.mu.Lock()
	defer lat.mu.Unlock()
	if o := lat.obs[0]; o.Model != "large" || o.CompletionTokens != 2 {
		t.Fatalf("latency observation %+v", o)
	}
}

// The auto model on embeddings and an unknown model are answered by the
// router itself.
func TestEndpointRefusalsBehindEnvoy(t *testing.T) {
	h := startHarness(t, endpointsSpec(), gateway.Stages{}, nil, nil)
	cases := []struct {
		name, path, body string
		status           int32
		code             string
	}{
		{"auto embeddings", "/v1/embeddings", `{"model":"auto","input":"x"}`, 400, "model_not_supported"},
		{"unknown model", "/v1/completions", `{"model":"nope","prompt":"x"}`, 404, "model_not_found"},
		{"no input", "/v1/embeddings", `{"model":"embed"}`, 400, "missing_required_parameter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := h.open(t)
			e.send(reqHeaders(false, endpointHeaders(tc.path)...))
			imm := e.send(reqBody(tc.body, true)).GetImmediateResponse()
			if imm == nil || int32(imm.Status.Code) != tc.status || gjson.GetBytes(imm.Body, "error.code").Str != tc.code {
				t.Fatalf("immediate %v", imm)
			}
		})
	}
}
