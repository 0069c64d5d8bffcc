package service_test

// API-mode listeners following config revisions. Everything is real (NATS
// with JetStream KV, the gateway's HTTP servers, TCP sockets, the OpenAI
// SDK) except the LLM upstream, which is the devllm FAKE of service_test.go.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/configwatch"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/services/gateway-extproc/service"
)

// apiSockets opens the gateway's API sockets in these tests: an address the
// test reserved is handed over already bound (no port race); any other
// address is bound for real, so an address the test holds cannot be bound.
// It records every listener the gateway announces.
type apiSockets struct {
	mu       sync.Mutex
	reserved map[string]net.Listener
	bound    map[string][]string // listener name → addresses announced, in order
}

func newAPISockets() *apiSockets {
	return &apiSockets{reserved: map[string]net.Listener{}, bound: map[string][]string{}}
}

// reserve binds a free localhost port for the gateway and returns its
// address.
func (a *apiSockets) reserve(t *testing.T) string {
	t.Helper()
	ln := mustListen(t)
	t.Cleanup(func() { _ = ln.Close() }) // no-op once the gateway owns and closed it
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reserved[ln.Addr().String()] = ln
	return ln.Addr().String()
}

func (a *apiSockets) listen(_, addr string) (net.Listener, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ln, ok := a.reserved[addr]; ok {
		delete(a.reserved, addr)
		return ln, nil
	}
	return net.Listen("tcp", addr)
}

func (a *apiSockets) onListen(name string, addr net.Addr) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bound[name] = append(a.bound[name], addr.String())
}

func (a *apiSockets) announced(name string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.bound[name]...)
}

// listenersYAML renders listeners[] items from name=host:port pairs; every
// listener gets timeout, unless a pair is name=host:port/timeout.
func listenersYAML(t *testing.T, pairs ...string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range pairs {
		name, rest, _ := strings.Cut(p, "=")
		addr, timeout, ok := strings.Cut(rest, "/")
		if !ok {
			timeout = "30s"
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  - {name: %s, address: %s, port: %s, timeout: %s}\n", name, host, port, timeout)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// startListenerStack starts the gateway with the given listeners (YAML
// pairs, see listenersYAML) on sockets handed out by socks.
func startListenerStack(t *testing.T, socks *apiSockets, o stackOptions, pairs ...string) *stack {
	t.Helper()
	o.listeners = listenersYAML(t, pairs...)
	o.listen, o.onListen = socks.listen, socks.onListen
	return startStackWith(t, o)
}

// swapListeners publishes a revision with the given listeners and waits
// until the gateway swapped it in (its listeners are applied by then).
func (s *stack) swapListeners(t *testing.T, pairs ...string) uint64 {
	t.Helper()
	rev := s.publish(t, s.configWith("big-v1", "auto", listenersYAML(t, pairs...)))
	s.waitSwap(t, rev)
	return rev
}

// keepAliveClient keeps one connection per address, to show that a
// listener a revision did not change kept its connections.
func keepAliveClient(t *testing.T) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// models asks addr for /v1/models and reports whether the request reused a
// kept-alive connection.
func models(t *testing.T, c *http.Client, addr string) (reused bool) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/models", nil)
	if err != nil {
		t.Fatal(err)
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(),
		&httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("listener %s does not serve: %v", addr, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"small"`) {
		t.Fatalf("listener %s: %d %s %v", addr, resp.StatusCode, body, err)
	}
	return reused
}

// serves checks that addr answers on a fresh connection.
func serves(t *testing.T, addr string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	models(t, c, addr)
}

// refuses checks that nothing accepts connections on addr any more.
func refuses(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		conn.Close()
		t.Fatalf("%s still accepts connections", addr)
	}
}

// statusOf waits for the config status report of revision rev.
func statusOf(t *testing.T, sub *nats.Subscription, rev uint64) configwatch.Status {
	t.Helper()
	for {
		msg, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no status for revision %d: %v", rev, err)
		}
		var st configwatch.Status
		if err := json.Unmarshal(msg.Data, &st); err != nil {
			t.Fatal(err)
		}
		if st.Revision == rev {
			return st
		}
	}
}

// stillRunning fails when the gateway's Run returned.
func (s *stack) stillRunning(t *testing.T) {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		t.Fatalf("gateway stopped: %v", err)
	default:
	}
}

// metricValue reads one gauge or counter sample of the listener label.
func metricValue(t *testing.T, reg *prometheus.Registry, name, listener string) (float64, bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "listener" && l.GetValue() == listener {
					if g := m.GetGauge(); g != nil {
						return g.GetValue(), true
					}
					return m.GetCounter().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

func TestRevisionAddsListener(t *testing.T) {
	socks := newAPISockets()
	api, extra := socks.reserve(t), socks.reserve(t)
	s := startListenerStack(t, socks, stackOptions{}, "api="+api)
	keep := keepAliveClient(t)
	models(t, keep, api)

	s.swapListeners(t, "api="+api, "extra="+extra)
	serves(t, extra)
	if got := socks.announced("extra"); len(got) != 1 || got[0] != extra {
		t.Fatalf("OnAPIListen for extra: %v", got)
	}
	if !models(t, keep, api) {
		t.Fatal("the unchanged listener dropped its kept-alive connection")
	}
	if got := socks.announced("api"); len(got) != 1 {
		t.Fatalf("the unchanged listener was rebound: %v", got)
	}
}

func TestRevisionRemovesListener(t *testing.T) {
	socks := newAPISockets()
	api, extra := socks.reserve(t), socks.reserve(t)
	s := startListenerStack(t, socks, stackOptions{}, "api="+api, "extra="+extra)
	keep := keepAliveClient(t)
	models(t, keep, api)
	serves(t, extra)

	s.swapListeners(t, "api="+api)
	refuses(t, extra)
	if !models(t, keep, api) {
		t.Fatal("the unchanged listener dropped its kept-alive connection")
	}
	s.stillRunning(t)
}

func TestRevisionMovesListener(t *testing.T) {
	socks := newAPISockets()
	api, extra, moved := socks.reserve(t), socks.reserve(t), socks.reserve(t)
	s := startListenerStack(t, socks, stackOptions{}, "api="+api, "extra="+extra)
	keep := keepAliveClient(t)
	models(t, keep, api)

	s.swapListeners(t, "api="+api, "extra="+moved)
	serves(t, moved)
	refuses(t, extra)
	if got := socks.announced("extra"); len(got) != 2 || got[1] != moved {
		t.Fatalf("OnAPIListen for extra: %v", got)
	}
	if !models(t, keep, api) {
		t.Fatal("the unchanged listener dropped its kept-alive connection")
	}
}

func TestRevisionWithUnbindableAddressKeepsOldListener(t *testing.T) {
	socks := newAPISockets()
	api := socks.reserve(t)
	taken := mustListen(t) // held by the test: the gateway cannot bind it
	reg := prometheus.NewRegistry()
	s := startListenerStack(t, socks, stackOptions{registry: reg}, "api="+api)
	statuses, err := s.nc.SubscribeSync(subjects.ConfigStatus(service.ServiceName, "test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.nc.Flush(); err != nil {
		t.Fatal(err)
	}

	// The revision moves api to the taken port and adds the auto name
	// "smart": its routes apply, its listener address cannot.
	rev := s.publish(t, s.configWith("big-v1", "auto, smart", listenersYAML(t, "api="+taken.Addr().String())))
	s.waitSwap(t, rev)
	st := statusOf(t, statuses, rev)
	if !st.Accepted || st.Serving != rev || !strings.Contains(st.Error, "listener api: bind "+taken.Addr().String()) ||
		!strings.Contains(st.Error, "still serving on "+api) {
		t.Fatalf("status %+v", st)
	}
	s.stillRunning(t)
	serves(t, api)
	client := openai.NewClient(option.WithBaseURL("http://"+api+"/v1"), option.WithAPIKey("test"), option.WithMaxRetries(0))
	var resp *http.Response
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "smart", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("write code")}},
		option.WithResponseInto(&resp)); err != nil || resp.Header.Get("x-vsr-selected-model") != "big" {
		t.Fatalf("the revision's routes do not serve on the old address: %v", err)
	}
	if up, ok := metricValue(t, reg, "semrouter_gateway_api_listener_up", "api"); !ok || up != 0 {
		t.Fatalf("listener up = %v (%v), want 0", up, ok)
	}
	if n, _ := metricValue(t, reg, "semrouter_gateway_api_listener_bind_errors_total", "api"); n != 1 {
		t.Fatalf("bind errors = %v, want 1", n)
	}

	// Once the port is free, the next revision with that address binds it.
	addr := taken.Addr().String()
	if err := taken.Close(); err != nil {
		t.Fatal(err)
	}
	rev = s.publish(t, s.configWith("big-v1", "auto", listenersYAML(t, "api="+addr)))
	s.waitSwap(t, rev)
	if st := statusOf(t, statuses, rev); !st.Accepted || st.Error != "" {
		t.Fatalf("status %+v", st)
	}
	serves(t, addr)
	refuses(t, api)
	if up, _ := metricValue(t, reg, "semrouter_gateway_api_listener_up", "api"); up != 1 {
		t.Fatalf("listener up = %v, want 1", up)
	}
}

// streamGate holds the small backend's first streamed answer after its
// first chunk, until release is closed.
type streamGate struct {
	once     sync.Once
	started  chan struct{}
	release  chan struct{}
	released sync.Once
}

func newStreamGate() *streamGate {
	return &streamGate{started: make(chan struct{}), release: make(chan struct{})}
}

func (g *streamGate) open() { g.released.Do(func() { close(g.release) }) }

func (g *streamGate) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&gatedWriter{ResponseWriter: w, g: g}, r)
	})
}

type gatedWriter struct {
	http.ResponseWriter
	g *streamGate
}

func (w *gatedWriter) Flush() {
	w.ResponseWriter.(http.Flusher).Flush()
	w.g.once.Do(func() {
		close(w.g.started)
		<-w.g.release
	})
}

func TestRemovedListenerFinishesInFlightStream(t *testing.T) {
	socks := newAPISockets()
	api, extra := socks.reserve(t), socks.reserve(t)
	gate := newStreamGate()
	s := startListenerStack(t, socks, stackOptions{wrapSmall: gate.wrap}, "api="+api, "extra="+extra)
	t.Cleanup(gate.open) // before the backend's cleanup, which waits for its handlers

	client := openai.NewClient(option.WithBaseURL("http://"+extra+"/v1"), option.WithAPIKey("test"), option.WithMaxRetries(0))
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "small", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("tell me a story")}})
	defer stream.Close()
	var acc openai.ChatCompletionAccumulator
	if !stream.Next() { // the first chunk reached the client; the rest is held upstream
		t.Fatalf("no first chunk: %v", stream.Err())
	}
	acc.AddChunk(stream.Current())
	select {
	case <-gate.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the backend's stream is not held")
	}

	s.swapListeners(t, "api="+api)
	refuses(t, extra)
	serves(t, api)
	gate.open()
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("the in-flight stream was cut: %v", err)
	}
	if len(acc.Choices) == 0 || acc.Choices[0].FinishReason != "stop" ||
		!strings.Contains(acc.Choices[0].Message.Content, "[small-backend/small-v1]") {
		t.Fatalf("stream %+v", acc.Choices)
	}
}

func TestRevisionChangesTimeoutInPlace(t *testing.T) {
	socks := newAPISockets()
	api := socks.reserve(t)
	// The small backend never answers a request marked x-test-hang: only
	// the listener's request timeout ends it.
	hang := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("x-test-hang") != "" {
				// Read the body so that net/http notices the gateway hanging up.
				_, _ = io.Copy(io.Discard, r.Body)
				<-r.Context().Done()
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	s := startListenerStack(t, socks, stackOptions{wrapSmall: hang}, "api="+api+"/30s")
	keep := keepAliveClient(t)
	models(t, keep, api)

	s.swapListeners(t, "api="+api+"/200ms")
	if !models(t, keep, api) {
		t.Fatal("a timeout change rebound the listener")
	}
	if got := socks.announced("api"); len(got) != 1 {
		t.Fatalf("a timeout change rebound the listener: %v", got)
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+api+"/v1/chat/completions",
		strings.NewReader(`{"model":"small","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-test-hang", "1")
	req.Header.Set("content-type", "application/json")
	resp, err := keep.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(body), "upstream_timeout") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}
