package extproc

// Streamed request bodies (FULL_DUPLEX_STREAMED) behind Envoy: the harness
// plays Envoy's ext_proc filter in that mode (a FAKE of Envoy, which cannot
// run here: protocol_config on the first message, body chunks sent without
// waiting for answers, trailers when the request has them); router stages
// are FAKES; the body deadline runs on a fake timer the test fires.

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// withMode marks a request headers message as the first of a stream whose
// filter runs with the given request body mode.
func withMode(req *extprocv3.ProcessingRequest, mode filterv3.ProcessingMode_BodySendMode) *extprocv3.ProcessingRequest {
	req.ProtocolConfig = &extprocv3.ProtocolConfiguration{RequestBodyMode: mode, ResponseBodyMode: filterv3.ProcessingMode_BUFFERED}
	return req
}

func duplexHeaders(kv ...string) *extprocv3.ProcessingRequest {
	return withMode(reqHeaders(false, kv...), filterv3.ProcessingMode_FULL_DUPLEX_STREAMED)
}

// push sends a message that gets no answer of its own in this mode.
func (e *envoyStream) push(req *extprocv3.ProcessingRequest) {
	e.t.Helper()
	if err := e.st.Send(req); err != nil {
		e.t.Fatal(err)
	}
}

func (e *envoyStream) recv() *extprocv3.ProcessingResponse {
	e.t.Helper()
	resp, err := e.st.Recv()
	if err != nil {
		e.t.Fatal(err)
	}
	return resp
}

// streamBody pushes body in n chunks, the last with end_of_stream unless
// trailers follow; it returns the first answer.
func (e *envoyStream) streamBody(body string, n int, trailers bool) *extprocv3.ProcessingResponse {
	e.t.Helper()
	step := max((len(body)+n-1)/n, 1)
	for i := 0; i < len(body); i += step {
		end := min(i+step, len(body))
		e.push(reqBody(body[i:end], end == len(body) && !trailers))
	}
	if trailers {
		e.push(&extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestTrailers{
			RequestTrailers: &extprocv3.HttpTrailers{Trailers: headerMap("x-trailer", "1")}}})
	}
	return e.recv()
}

// streamedAnswer reads the streamed body responses after a headers answer
// up to end_of_stream (or, with trailers, up to the trailers answer).
func (e *envoyStream) streamedAnswer(trailers bool) []byte {
	e.t.Helper()
	var out []byte
	for {
		resp := e.recv()
		if trailers && resp.GetRequestTrailers() != nil {
			return out
		}
		sr := resp.GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse()
		if sr == nil {
			e.t.Fatalf("not a streamed body response: %v", resp)
		}
		if len(sr.Body) > maxStreamedChunk {
			e.t.Fatalf("streamed chunk of %d bytes", len(sr.Body))
		}
		out = append(out, sr.Body...)
		if sr.EndOfStream {
			if trailers {
				e.t.Fatal("end_of_stream before the trailers answer")
			}
			return out
		}
	}
}

// upstreamRequest is what Envoy sends upstream after the router's answer.
type upstreamRequest struct {
	body    []byte
	set     map[string]string
	removed []string
	clear   bool
}

// buffered plays the request in BUFFERED mode.
func buffered(t *testing.T, h *harness, headers []string, body string) upstreamRequest {
	t.Helper()
	e := h.open(t)
	if r := e.send(withMode(reqHeaders(false, headers...), filterv3.ProcessingMode_BUFFERED)); r.GetRequestHeaders() == nil {
		t.Fatalf("headers answer %v", r)
	}
	resp := e.send(reqBody(body, true))
	cr := resp.GetRequestBody().GetResponse()
	if cr == nil {
		t.Fatalf("buffered answer %v", resp)
	}
	u := upstreamRequest{body: []byte(body), set: setHeaders(cr.GetHeaderMutation()), removed: cr.GetHeaderMutation().GetRemoveHeaders(), clear: cr.GetClearRouteCache()}
	if m := cr.GetBodyMutation(); m != nil {
		u.body = m.GetBody()
		if u.set["content-length"] != strconv.Itoa(len(u.body)) {
			t.Fatalf("buffered content-length %q for %d bytes", u.set["content-length"], len(u.body))
		}
	}
	delete(u.set, "content-length")
	return u
}

// streamed plays the request in FULL_DUPLEX_STREAMED mode, in n chunks.
func streamed(t *testing.T, h *harness, headers []string, body string, n int, trailers bool) upstreamRequest {
	t.Helper()
	e := h.open(t)
	e.push(duplexHeaders(headers...))
	resp := e.streamBody(body, n, trailers)
	rh := resp.GetRequestHeaders()
	if rh == nil {
		t.Fatalf("first answer is not the headers response: %v", resp)
	}
	cr := rh.GetResponse()
	u := upstreamRequest{set: setHeaders(cr.GetHeaderMutation()), removed: cr.GetHeaderMutation().GetRemoveHeaders(), clear: cr.GetClearRouteCache()}
	if _, ok := u.set["content-length"]; ok || !slices.Contains(u.removed, "content-length") {
		t.Fatalf("streamed content-length not removed: set %v remove %v", u.set, u.removed)
	}
	u.removed = slices.DeleteFunc(slices.Clone(u.removed), func(s string) bool { return s == "content-length" })
	u.body = e.streamedAnswer(trailers)
	return u
}

// TestStreamedBodyMatchesBuffered: a body streamed in chunks is routed and
// rewritten exactly as the same body buffered: same bytes upstream, same
// header mutations (content-length aside), same route cache clearing.
func TestStreamedBodyMatchesBuffered(t *testing.T) {
	sp := endpointsSpec()
	sp.MaxBodyBytes = 1 << 20
	h := startHarness(t, sp, gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "hard", Confidence: 1}}}, nil, nil)
	long := strings.Repeat("Summarise the quarterly revenue forecast. ", 4000) // ~170 KB: three answer chunks
	chat := headersFor("/v1/chat/completions")
	cases := []struct {
		name     string
		headers  []string
		body     string
		chunks   int
		trailers bool
	}{
		{"auto chat rewritten", chat, `{"model":"auto","stream":true,"messages":[{"role":"user","content":"derive it"}]}`, 5, false},
		{"long auto chat", chat, `{"model":"auto","messages":[{"role":"user","content":"` + long + `"}]}`, 40, false},
		{"concrete model unchanged", chat, `{"model":"large","messages":[{"role":"user","content":"x"}]}`, 3, false},
		{"one chunk", chat, `{"model":"auto","messages":[{"role":"user","content":"one"}]}`, 1, false},
		{"trailers end the body", chat, `{"model":"auto","messages":[{"role":"user","content":"with trailers"}]}`, 4, true},
		{"completions", headersFor("/v1/completions"), `{"model":"auto","prompt":"prove it","stream":true}`, 3, false},
		{"embeddings", headersFor("/v1/embeddings"), `{"model":"embed","input":["a","b"]}`, 2, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := buffered(t, h, tc.headers, tc.body)
			got := streamed(t, h, tc.headers, tc.body, tc.chunks, tc.trailers)
			if !bytes.Equal(got.body, want.body) {
				t.Fatalf("upstream body differs\n got %.300s\nwant %.300s", got.body, want.body)
			}
			if len(got.set) != len(want.set) || got.clear != want.clear || !slices.Equal(got.removed, want.removed) {
				t.Fatalf("header mutation differs\n got %v %v clear=%v\nwant %v %v clear=%v", got.set, got.removed, got.clear, want.set, want.removed, want.clear)
			}
			for k, v := range want.set {
				if got.set[k] != v {
					t.Errorf("%s = %q, want %q", k, got.set[k], v)
				}
			}
			if got.set["x-selected-model"] == "" {
				t.Fatalf("no route: %v", got.set)
			}
		})
	}
}

func headersFor(path string) []string {
	return []string{":method", "POST", ":path", path, "content-type", "application/json"}
}

// TestStreamedBodyRefusals: what the router refuses is one immediate
// answer, whichever chunk decides it.
func TestStreamedBodyRefusals(t *testing.T) {
	h := newHarness(t, gateway.Stages{}) // MaxBodyBytes 4096
	cases := []struct {
		name   string
		body   string
		chunks int
		status int32
		code   string
	}{
		{"over the limit", `{"model":"auto","messages":[{"role":"user","content":"` + strings.Repeat("a", 5000) + `"}]}`, 4, 413, "request_too_large"},
		{"malformed json across chunks", `{"model":"auto","messages":[{"role":"user","content":"x"}`, 3, 400, ""},
		{"unknown model", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 2, 404, "model_not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := h.open(t)
			e.push(duplexHeaders(headersFor("/v1/chat/completions")...))
			// Stop at the refusal: Envoy sends nothing after it.
			step := (len(tc.body) + tc.chunks - 1) / tc.chunks
			var total int
			for i := 0; i < len(tc.body); i += step {
				end := min(i+step, len(tc.body))
				e.push(reqBody(tc.body[i:end], end == len(tc.body)))
				if total += end - i; tc.status == 413 && total > 4096 {
					break
				}
			}
			resp := e.recv()
			imm := resp.GetImmediateResponse()
			if imm == nil || int32(imm.Status.Code) != tc.status || gjson.GetBytes(imm.Body, "error.type").Str != "invalid_request_error" {
				t.Fatalf("answer %v", resp)
			}
			if tc.code != "" && gjson.GetBytes(imm.Body, "error.code").Str != tc.code {
				t.Fatalf("error %s", imm.Body)
			}
			if setHeaders(imm.Headers)["content-type"] != "application/json" {
				t.Fatalf("headers %v", imm.Headers)
			}
		})
	}
}

// fakeTimer stands in for time.AfterFunc: the test fires it.
type fakeTimer struct {
	armed   chan time.Duration
	mu      sync.Mutex
	f       func()
	stopped bool
}

func (ft *fakeTimer) after(d time.Duration, f func()) func() bool {
	ft.mu.Lock()
	ft.f = f
	ft.mu.Unlock()
	ft.armed <- d
	return func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		ft.stopped = true
		return true
	}
}

func (ft *fakeTimer) fire() {
	ft.mu.Lock()
	f := ft.f
	ft.mu.Unlock()
	f()
}

func (ft *fakeTimer) wasStopped() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.stopped
}

// TestStreamedBodyDeadline: a body that has not arrived timeout_sec after
// its headers is answered 408 (as API mode answers a trickling client);
// one that arrives in time stops the deadline.
func TestStreamedBodyDeadline(t *testing.T) {
	sp := spec()
	sp.StreamedBody = routes.StreamedBody{Enabled: true, Timeout: 7 * time.Second}
	ft := &fakeTimer{armed: make(chan time.Duration, 1)}
	h := startHarness(t, sp, gateway.Stages{}, nil, []Option{WithAfterFunc(ft.after)})

	t.Run("late body", func(t *testing.T) {
		e := h.open(t)
		e.push(duplexHeaders(headersFor("/v1/chat/completions")...))
		if d := <-ft.armed; d != 7*time.Second {
			t.Fatalf("deadline %v", d)
		}
		e.push(reqBody(`{"model":"auto",`, false))
		ft.fire()
		imm := e.recv().GetImmediateResponse()
		if imm == nil || imm.Status.Code != 408 || gjson.GetBytes(imm.Body, "error.code").Str != "request_timeout" ||
			!strings.Contains(gjson.GetBytes(imm.Body, "error.message").Str, "timeout_sec") {
			t.Fatalf("answer %v", imm)
		}
		ft.fire() // a second expiry answers nothing more
	})
	t.Run("body in time", func(t *testing.T) {
		e := h.open(t)
		// No protocol_config (an older Envoy): streamed_body.enabled decides.
		e.push(reqHeaders(false, headersFor("/v1/chat/completions")...))
		<-ft.armed
		resp := e.streamBody(`{"model":"auto","messages":[{"role":"user","content":"x"}]}`, 3, false)
		if set := setHeaders(resp.GetRequestHeaders().GetResponse().GetHeaderMutation()); set["x-selected-model"] != "small" {
			t.Fatalf("answer %v", resp)
		}
		if !gjson.ValidBytes(e.streamedAnswer(false)) {
			t.Fatal("streamed body is not JSON")
		}
		if !ft.wasStopped() {
			t.Fatal("deadline not stopped once the body arrived")
		}
	})
}

// TestStreamedBodyModes: Envoy's protocol_config wins over the config;
// paths the router does not read are answered at once and their chunks
// echoed.
func TestStreamedBodyModes(t *testing.T) {
	sp := spec()
	sp.StreamedBody = routes.StreamedBody{Enabled: true}
	h := startHarness(t, sp, gateway.Stages{}, nil, nil)
	body := `{"model":"large","messages":[{"role":"user","content":"x"}]}`

	t.Run("envoy still buffers", func(t *testing.T) {
		u := buffered(t, h, headersFor("/v1/chat/completions"), body)
		if u.set["x-selected-model"] != "large" {
			t.Fatalf("buffered answer %v", u.set)
		}
	})
	t.Run("passthrough echoed", func(t *testing.T) {
		e := h.open(t)
		if r := e.send(duplexHeaders(":method", "POST", ":path", "/internal/upload")); r.GetRequestHeaders() == nil || r.GetRequestHeaders().GetResponse().GetHeaderMutation() != nil {
			t.Fatalf("headers answer %v", r)
		}
		for i, c := range []string{"abc", "def", ""} {
			sr := e.send(reqBody(c, i == 2)).GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse()
			if sr == nil || string(sr.Body) != c || sr.EndOfStream != (i == 2) {
				t.Fatalf("chunk %d echoed as %v", i, sr)
			}
		}
	})
}

// TestStreamedResponsesCreate: a Responses create streamed in chunks is
// translated and routed like a buffered one, and its answer translated.
func TestStreamedResponsesCreate(t *testing.T) {
	h := newHarness(t, gateway.Stages{})
	e := h.open(t)
	e.push(duplexHeaders(responsesHeaders("POST", "/v1/responses", "x-authz-user-id", "alice")...))
	resp := e.streamBody(`{"model":"small","input":"hi there","instructions":"Be kind."}`, 4, false)
	cr := resp.GetRequestHeaders().GetResponse()
	set := setHeaders(cr.GetHeaderMutation())
	if set[":path"] != "/v1/chat/completions" || set["x-selected-model"] != "small" || !cr.GetClearRouteCache() {
		t.Fatalf("headers answer %v", resp)
	}
	chat := e.streamedAnswer(false)
	if gjson.GetBytes(chat, "messages.#").Int() != 2 || gjson.GetBytes(chat, "messages.1.content").Str != "hi there" ||
		gjson.GetBytes(chat, "model").Str != "small-v1" {
		t.Fatalf("chat body %s", chat)
	}
	out := e.answerJSON(t, 200, chatAnswer)
	if gjson.GetBytes(out, "object").Str != "response" || gjson.GetBytes(out, "output.0.content.0.text").Str != "hello from small" {
		t.Fatalf("response %s", out)
	}
}
