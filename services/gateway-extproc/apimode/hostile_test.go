package apimode

// Hostile clients against the API-mode front door: slow and stalled
// connections, compressed and oversized bodies, OpenAI endpoints the
// router does not serve. The upstreams are the LLM FAKES of fakes_test.go;
// the clients are raw TCP connections, net/http and the OpenAI Go SDK.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// safety bounds how long a test waits for something the router must do on
// its own; reaching it means the router hung (the test fails, it never
// sleeps to synchronise).
const safety = 30 * time.Second

// hostile is API mode over one model whose backend is a FAKE LLM in the
// given mode, with a per-request timeout; handled receives one value each
// time a request's handler returns, hits counts requests that reached it.
type hostile struct {
	url     string
	llm     *fakeLLM
	srv     *Server
	reg     *prometheus.Registry
	handled chan struct{}
	hits    atomic.Int64
}

func newHostile(t *testing.T, mode string, timeout time.Duration, limit int64) *hostile {
	t.Helper()
	h := &hostile{llm: newFakeLLM(t, "small", mode), handled: make(chan struct{}, 64)}
	spec := baseSpec()
	spec.MaxBodyBytes = limit
	spec.Models = []routes.Model{{Name: "small", Backends: []routes.Backend{backend("s", h.llm)}}}
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	h.reg = prometheus.NewRegistry()
	gm, err := metrics.NewGateway(h.reg)
	if err != nil {
		t.Fatal(err)
	}
	gw := gateway.New(tbl, gateway.Stages{}, log, gateway.WithMetrics(gm))
	h.srv = New(gw, log, WithRandom(func(int) int { return 0 }))
	inner := h.srv.Handler(timeout)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.hits.Add(1)
		defer func() { h.handled <- struct{}{} }()
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	t.Cleanup(gw.Wait)
	h.url = hs.URL
	return h
}

// parseErrors is llm_request_errors_total{reason="parse_error"}.
func (h *hostile) parseErrors(t *testing.T) float64 {
	t.Helper()
	f := &failoverFixture{reg: h.reg}
	return f.metric(t, "llm_request_errors_total", map[string]string{"reason": metrics.ReasonParseError})
}

func (h *hostile) addr() string { return strings.TrimPrefix(h.url, "http://") }

// waitHandled fails the test when no handler returns within safety.
func (h *hostile) waitHandled(t *testing.T, what string) {
	t.Helper()
	select {
	case <-h.handled:
	case <-time.After(safety):
		t.Fatalf("%s: the handler never returned", what)
	}
}

// rawResponse reads one HTTP response from c, failing after safety.
func rawResponse(t *testing.T, c net.Conn) (*http.Response, []byte) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(safety))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

type errorEnvelope struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// assertAPIError checks an OpenAI-shaped error with status and code.
func assertAPIError(t *testing.T, status int, body []byte, wantStatus int, wantCode string) errorEnvelope {
	t.Helper()
	var env errorEnvelope
	if err := json.Unmarshal(body, &env); err != nil || status != wantStatus || env.Error.Code == nil ||
		*env.Error.Code != wantCode || env.Error.Message == "" || env.Error.Type == "" {
		t.Fatalf("got %d %s, want %d with code %s", status, body, wantStatus, wantCode)
	}
	return env
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// A client that sends its headers and then trickles (here: stops) its body
// is answered 408 once the request deadline passes, instead of holding the
// handler for as long as it keeps the socket open.
func TestStalledBodyAnswered408(t *testing.T) {
	h := newHostile(t, "ok", 200*time.Millisecond, 1<<20)
	c := dial(t, h.addr())
	body := `{"model":"small","messages":[{"role":"user","content":"slow"}]}`
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		len(body), body[:10])
	resp, got := rawResponse(t, c)
	env := assertAPIError(t, resp.StatusCode, got, http.StatusRequestTimeout, "request_timeout")
	if strings.Contains(env.Error.Message, "127.0.0.1") {
		t.Fatalf("the error names internal addresses: %s", got)
	}
	h.waitHandled(t, "stalled body")
	if n := len(h.llm.requests()); n != 0 {
		t.Fatalf("a partial body reached the backend %d times", n)
	}
	if v := h.parseErrors(t); v != 1 {
		t.Fatalf("llm_request_errors_total{reason=parse_error} = %v, want 1", v)
	}
}

// A client that stops reading a stream cannot hold the handler (and its
// upstream) past the request deadline plus the write grace.
func TestStalledReaderCutAfterDeadline(t *testing.T) {
	h := newHostile(t, "flood", 200*time.Millisecond, 1<<20) // FAKE LLM: an endless stream
	h.srv.writeGrace = 50 * time.Millisecond
	c := dial(t, h.addr())
	_ = c.SetReadBuffer(4096)
	body := `{"model":"small","stream":true,"messages":[{"role":"user","content":"flood me"}]}`
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		len(body), body)
	// never read: the socket buffers fill and the router's writes block
	h.waitHandled(t, "stalled reader")
}

// gzipBytes compresses b.
func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A gzip-compressed body (Content-Encoding: gzip, here from the OpenAI SDK
// through a middleware) is decoded and routed; the backend gets plain
// JSON without the client's Content-Encoding.
func TestGzipBodyFromSDK(t *testing.T) {
	h := newHostile(t, "ok", 10*time.Second, 1<<20)
	gz := option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		raw, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		z := gzipBytes(t, raw)
		req.Body = io.NopCloser(bytes.NewReader(z))
		req.ContentLength = int64(len(z))
		req.Header.Set("Content-Encoding", "gzip")
		return next(req)
	})
	cl := openai.NewClient(option.WithBaseURL(h.url+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0), gz)
	out, err := cl.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "small", Messages: userMsg("zipped hello")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Choices[0].Message.Content != "answer from small" {
		t.Fatalf("answer %+v", out.Choices)
	}
	reqs := h.llm.requests()
	if len(reqs) != 1 || reqs[0].Header.Get("Content-Encoding") != "" || !strings.Contains(reqs[0].Raw, "zipped hello") {
		t.Fatalf("backend got %+v", reqs)
	}
}

// Body limits hold after decoding (a small gzip that inflates past the
// limit is refused), and a declared Content-Length over the limit is
// refused before any of the body is read.
func TestBodyLimits(t *testing.T) {
	h := newHostile(t, "ok", 10*time.Second, 1024)
	bomb := gzipBytes(t, []byte(`{"model":"small","messages":[{"role":"user","content":"`+strings.Repeat("a", 1<<18)+`"}]}`))
	req, _ := http.NewRequest("POST", h.url+"/v1/chat/completions", bytes.NewReader(bomb))
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(bomb) > 1024 {
		t.Fatalf("the bomb is %d bytes compressed; the case needs it under the limit", len(bomb))
	}
	assertAPIError(t, resp.StatusCode, got, http.StatusRequestEntityTooLarge, "request_too_large")

	// declared 1 GiB, nothing sent: the answer cannot wait for the body
	c := dial(t, h.addr())
	fmt.Fprint(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n")
	resp2, got2 := rawResponse(t, c)
	assertAPIError(t, resp2.StatusCode, got2, http.StatusRequestEntityTooLarge, "request_too_large")
	if n := len(h.llm.requests()); n != 0 {
		t.Fatalf("oversized bodies reached the backend %d times", n)
	}
	if v := h.parseErrors(t); v != 2 {
		t.Fatalf("llm_request_errors_total{reason=parse_error} = %v, want 2", v)
	}
}

// OpenAI endpoints the router does not serve answer a 404 the SDK reports
// once (no retries, as a 5xx would cause), naming what is served.
func TestUnsupportedEndpointsWithSDK(t *testing.T) {
	h := newHostile(t, "ok", 10*time.Second, 1<<20)
	cl := openai.NewClient(option.WithBaseURL(h.url+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(2))
	ctx := context.Background()
	calls := []struct {
		name string
		call func() error
	}{
		// /v1/completions and /v1/embeddings are served
		// (endpoints_e2e_test.go); these are not.
		{"images/generations", func() error {
			_, err := cl.Images.Generate(ctx, openai.ImageGenerateParams{Prompt: "a cat"})
			return err
		}},
		{"moderations", func() error {
			_, err := cl.Moderations.New(ctx, openai.ModerationNewParams{
				Input: openai.ModerationNewParamsInputUnion{OfString: openai.String("hi")}})
			return err
		}},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			before := h.hits.Load()
			err := tc.call()
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "unsupported_endpoint" ||
				!strings.Contains(apiErr.Message, "/v1/"+tc.name) || !strings.Contains(apiErr.Message, "POST /v1/chat/completions") {
				t.Fatalf("err = %v", err)
			}
			if n := h.hits.Load() - before; n != 1 {
				t.Fatalf("the SDK sent %d requests, want 1 (no retry)", n)
			}
		})
	}
}

// POST /v1/responses is served (global.services.response_api absent: the
// in-process store) through the chat path, once.
func TestResponsesServedWithSDK(t *testing.T) {
	h := newHostile(t, "ok", 10*time.Second, 1<<20)
	cl := openai.NewClient(option.WithBaseURL(h.url+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(2))
	before := h.hits.Load()
	resp, err := cl.Responses.New(context.Background(), responses.ResponseNewParams{Model: "small",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.OutputText() != "answer from small" || resp.Status != responses.ResponseStatusCompleted {
		t.Fatalf("response %s", resp.RawJSON())
	}
	if n := h.hits.Load() - before; n != 1 || len(h.llm.requests()) != 1 {
		t.Fatalf("the SDK sent %d requests, the backend got %d; want 1 each", n, len(h.llm.requests()))
	}
}

// HEAD is GET without a body on the read-only endpoints.
func TestHeadOnModels(t *testing.T) {
	h := newHostile(t, "ok", 10*time.Second, 1<<20)
	for _, p := range []string{"/v1/models", "/v1/models/small"} {
		resp, err := http.Head(h.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength <= 0 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("HEAD %s: %d length %d type %q", p, resp.StatusCode, resp.ContentLength, resp.Header.Get("Content-Type"))
		}
	}
	req, _ := http.NewRequest("POST", h.url+"/v1/models", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /v1/models: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// A client that hangs up mid-stream ends the handler and the upstream
// request (nothing left running for it).
func TestClientDisconnectMidStream(t *testing.T) {
	h := newHostile(t, "flood", 10*time.Second, 1<<20) // FAKE LLM: an endless stream
	cl := openai.NewClient(option.WithBaseURL(h.url+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))
	for i := range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		st := cl.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "small", Messages: userMsg(fmt.Sprint("go ", i))})
		if !st.Next() {
			t.Fatalf("no first chunk: %v", st.Err())
		}
		cancel()
		_ = st.Close()
		h.waitHandled(t, "client disconnect")
	}
}

// An idle keep-alive connection is closed by the listener after its idle
// timeout instead of being held forever.
func TestIdleKeepAliveClosed(t *testing.T) {
	ln := reserveAddr(t)
	spec := listenerSpec(t, "ok")
	spec.Listeners = []routes.Listener{apiListener(t, "api", ln.Addr().String(), 10*time.Second)}
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ready := make(chan struct{})
	srv := New(gateway.New(tbl, gateway.Stages{}, log), log, WithIdleTimeout(50*time.Millisecond),
		WithListen(func(string, string) (net.Listener, error) { return ln, nil }),
		WithOnListen(func(string, net.Addr) { close(ready) }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	<-ready
	c := dial(t, ln.Addr().String())
	fmt.Fprint(c, "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(safety))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("status %d close %v: want a kept-alive 200", resp.StatusCode, resp.Close)
	}
	// idle now: the server must close its side
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("idle connection: read err = %v, want EOF from the server closing it", err)
	}
}

// A client that hangs up while its request waits for the backend is a
// cancellation in llm_request_errors_total, not a timeout (it used to be
// answered, to nobody, as a 504 and counted as a timeout).
func TestClientGoneBeforeAnswerCountsCancellation(t *testing.T) {
	h := newHostile(t, "hang", 10*time.Second, 1<<20) // FAKE LLM: never answers
	got := make(chan struct{})
	h.llm.mu.Lock()
	h.llm.onRequest = func() { close(got) }
	h.llm.mu.Unlock()
	cl := openai.NewClient(option.WithBaseURL(h.url+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := cl.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "small", Messages: userMsg("wait")})
		errc <- err
	}()
	select {
	case <-got:
	case <-time.After(safety):
		t.Fatal("the request never reached the backend")
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client err = %v", err)
	}
	h.waitHandled(t, "client gone")
	f := &failoverFixture{reg: h.reg}
	if v := f.metric(t, "llm_request_errors_total", map[string]string{"reason": metrics.ReasonCancellation, "model": "small"}); v != 1 {
		t.Fatalf("cancellation errors = %v, want 1", v)
	}
	if v := f.metric(t, "llm_request_errors_total", map[string]string{"reason": metrics.ReasonTimeout}); v != 0 {
		t.Fatalf("timeout errors = %v, want 0", v)
	}
}
