// Package apimode serves the OpenAI-compatible API directly (no Envoy): one
// HTTP server per configured listener running the gateway processor and
// proxying to the selected model's backends with failover. The servers
// follow config revisions (Reconcile): listeners are added, removed,
// moved and retimed without touching the others.
package apimode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/responses"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// DefaultRequestTimeout applies when a listener has no timeout.
const DefaultRequestTimeout = 300 * time.Second

// Option tunes a Server.
type Option func(*Server)

// WithHTTPClient sets the client used to reach backends.
func WithHTTPClient(c *http.Client) Option { return func(s *Server) { s.client = c } }

// WithRandom injects the weighted-choice source: intN returns a value in [0,n).
func WithRandom(intN func(n int) int) Option { return func(s *Server) { s.intN = intN } }

// WithEnv injects the environment lookup used for api_key_env.
func WithEnv(lookup func(string) string) Option { return func(s *Server) { s.env = lookup } }

// WithOnListen is called with each listener's bound address once Serve
// listens (useful with port 0).
func WithOnListen(f func(listener string, addr net.Addr)) Option {
	return func(s *Server) { s.onListen = f }
}

// WithListen replaces how a listener's socket is opened (default
// net.Listen("tcp", addr)); tests use it to bind free ports.
func WithListen(f func(listener, addr string) (net.Listener, error)) Option {
	return func(s *Server) { s.listen = f }
}

// WithAddress maps a listener's configured host:port to the address it
// binds (e.g. a command-line override for a container). Reconcile compares
// mapped addresses, so a listener whose mapped address stays the same is not
// rebound.
func WithAddress(f func(listener, configured string) string) Option {
	return func(s *Server) { s.mapAddr = f }
}

// WithShutdownTimeout bounds how long a listener that stops (when Serve's
// ctx ends, or when a revision removes or moves it) waits for its in-flight
// requests, streams included, before cutting them (default 10s).
func WithShutdownTimeout(d time.Duration) Option { return func(s *Server) { s.shutdown = d } }

// WithClock injects the time source of the outlier detection (ejection
// expiry); tests use it instead of sleeping.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithUpstreamObserver records failed attempts and ejections in obs
// (*metrics.Gateway implements it).
func WithUpstreamObserver(obs UpstreamObserver) Option { return func(s *Server) { s.obs = obs } }

// WithTrustedProxies sets the peers whose identity headers and
// x-vsr-debug are honoured (default LoopbackProxies; nil trusts nobody).
// From any other peer those headers are removed before routing.
func WithTrustedProxies(t *TrustedProxies) Option { return func(s *Server) { s.trusted = t } }

// WithHeaderObserver counts the headers removed from untrusted peers'
// requests.
func WithHeaderObserver(obs HeaderObserver) Option { return func(s *Server) { s.hdrObs = obs } }

// WithIdleTimeout bounds how long a keep-alive connection may sit idle
// between requests before the listener closes it (default 2m), so idle
// clients cannot hold sockets forever.
func WithIdleTimeout(d time.Duration) Option { return func(s *Server) { s.idle = d } }

// DefaultIdleTimeout is the keep-alive idle limit of the listeners.
const DefaultIdleTimeout = 2 * time.Minute

// Server is the API-mode front end. It is safe for concurrent use.
type Server struct {
	gw       *gateway.Gateway
	log      *slog.Logger
	client   *http.Client
	intN     func(int) int
	env      func(string) string
	onListen func(string, net.Addr)
	listen   func(string, string) (net.Listener, error)
	mapAddr  func(string, string) string
	shutdown time.Duration
	idle     time.Duration
	// writeGrace: how long after the request deadline the response may
	// still be written (bindDeadlines).
	writeGrace time.Duration
	now        func() time.Time
	obs        UpstreamObserver
	// trusted are the peers whose identity and debug headers count.
	trusted *TrustedProxies
	hdrObs  HeaderObserver
	// health is the passive outlier detection shared by all requests.
	health *outliers
	// afterFunc starts a per-attempt deadline (time.AfterFunc; tests fire
	// it by hand).
	afterFunc func(time.Duration, func()) (stop func() bool)
	// respStores keeps the Responses API store (responses.go).
	respStores *responses.Stores
	// vstores keeps the files / vector stores API's store (vectorstore.go).
	vstores vectorStores
	vsDir   string

	mu      sync.Mutex
	serving bool // between Serve's first bind and its shutdown
	started bool // Serve was called
	active  map[string]*listener
	failed  map[string]*ListenerError // listeners of the active revision not bound at its address
	fatal   chan error
	drains  sync.WaitGroup // retired listeners still draining
}

// New builds a Server over gw.
func New(gw *gateway.Gateway, log *slog.Logger, opts ...Option) *Server {
	s := &Server{gw: gw, log: log, intN: rand.IntN, env: os.Getenv, shutdown: 10 * time.Second,
		idle: DefaultIdleTimeout, writeGrace: defaultWriteGrace,
		now: time.Now, obs: (*metrics.Gateway)(nil), fatal: make(chan error, 1), trusted: LoopbackProxies(),
		afterFunc:  func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop },
		respStores: &responses.Stores{}}
	for _, o := range opts {
		o(s)
	}
	s.health = newOutliers(s.now, log, s.obs)
	if gw != nil { // the rag vectorstore backend, both front ends
		gw.SetVectorSearcher(vectorSearcher{s})
	}
	if s.client == nil {
		s.client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}}
	}
	return s
}

// Handler serves one listener; timeout bounds each request (0: default).
func (s *Server) Handler(timeout time.Duration) http.Handler {
	d := time.Duration(requestTimeout(timeout))
	return s.handler(func() time.Duration { return d })
}

// handler bounds each request by timeout(), read when the request starts.
func (s *Server) handler(timeout func() time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout())
		defer cancel()
		s.serve(ctx, w, r)
	})
}

// Serve binds one HTTP server per listener of the active routes (all or
// none: a bind failure here is returned) and serves until ctx ends; in
// between, Reconcile applies later revisions. Then every listener stops
// accepting and drains (WithShutdownTimeout), and Serve returns once the
// servers and the gateway's background work are done. Serve runs once.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("serve api mode: already started")
	}
	s.started = true
	ls := s.gw.Routes().Listeners
	if len(ls) == 0 {
		s.mu.Unlock()
		return errors.New("serve api mode: no listeners configured")
	}
	s.active = make(map[string]*listener, len(ls))
	bound := make([]*listener, 0, len(ls))
	for _, l := range ls {
		lst, err := s.start(l)
		if err != nil {
			for _, b := range bound {
				b.retired.Store(true)
				_ = b.ln.Close()
				_ = b.srv.Close()
			}
			s.mu.Unlock()
			return fmt.Errorf("listen %s (%s): %w", l.Name, s.address(l), err)
		}
		s.active[l.Name] = lst
		bound = append(bound, lst)
	}
	s.serving = true
	s.mu.Unlock()
	s.announce(bound)

	var err error
	select {
	case <-ctx.Done():
	case err = <-s.fatal:
	}
	s.mu.Lock()
	s.serving = false
	for _, l := range s.active {
		s.retire(l)
	}
	s.active, s.failed = nil, nil
	s.mu.Unlock()
	s.drains.Wait()
	s.gw.Wait()
	s.respStores.Close()
	if cerr := s.vstores.close(); cerr != nil {
		s.log.Warn("vector store: close", slog.Any("error", cerr))
	}
	return err
}

func (s *Server) serve(ctx context.Context, rw http.ResponseWriter, r *http.Request) {
	if s.serveReplay(rw, r) || s.serveModelStats(rw, r) || s.serveMemories(ctx, rw, r) || s.serveResponses(ctx, rw, r) ||
		s.serveVectorStores(ctx, rw, r) {
		return
	}
	s.serveChat(ctx, rw, r)
}

// serveChat runs one request through the gateway (the chat path, the
// models endpoints, the 404s) and proxies it upstream.
func (s *Server) serveChat(ctx context.Context, rw http.ResponseWriter, r *http.Request) {
	s.serveChatIn(ctx, rw, r, "")
}

// serveChatIn is serveChat for a request of the Responses API
// conversation conv ("": none), which keys its model switch protection.
func (s *Server) serveChatIn(ctx context.Context, rw http.ResponseWriter, r *http.Request, conv string) {
	x := s.gw.NewExchange()
	x.SetConversation(conv)
	ctx = x.Begin(ctx, propagation.HeaderCarrier(r.Header))
	bodyTaken := s.bindDeadlines(ctx, rw)
	w := telemetry.NewStatusWriter(rw)
	defer func() { x.End(w.Status()) }()
	s.stripUntrusted(ctx, r, x.Table())
	kind, imm := x.RequestHeaders(r.Method, r.URL.Path, headerGetter(r.Header))
	switch kind {
	case gateway.KindImmediate:
		writeImmediate(w, imm)
		return
	case gateway.KindPassthrough:
		writeImmediate(w, &gateway.Immediate{Status: http.StatusNotFound,
			Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}},
			Body:    chatreq.UnknownPath(r.Method, r.URL.Path).Body()})
		return
	}
	body, rerr := s.readBody(r, x.Table().MaxBodyBytes)
	bodyTaken(rerr == nil)
	if rerr != nil {
		writeImmediate(w, x.Reject(rerr))
		return
	}
	imm, fwd := x.RequestBody(ctx, body)
	if imm != nil {
		writeImmediate(w, imm)
		return
	}
	x.AlignEvents()
	uctx, endUpstream := x.StartUpstream(ctx)
	cut := s.proxy(uctx, w, r, x, fwd)
	var upErr error
	if cut {
		upErr = errUpstreamCut
	}
	endUpstream(w.Status(), upErr)
	x.Finish(ctx)
	if !cut {
		return
	}
	if !x.StreamingResponse() {
		// Abort the connection so the client sees the failure instead of a
		// silently truncated completion.
		panic(http.ErrAbortHandler)
	}
	// An SSE stream ends with an error event (the client holds whole
	// events only: ForwardChunk kept the partial one back).
	e := streamCutError(ctx)
	s.log.Warn("stream ended with an error event", slog.String("code", e.Code))
	if _, err := w.Write(sseErrorEvent(e)); err == nil {
		_ = http.NewResponseController(w).Flush()
	}
}

// errUpstreamCut marks an upstream body that failed after bytes reached
// the client.
var errUpstreamCut = errors.New("upstream response cut")

// streamCutError is what a client whose stream was cut midway is told:
// the request deadline (listeners[].timeout) or an upstream failure.
func streamCutError(ctx context.Context) *chatreq.APIError {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &chatreq.APIError{Status: http.StatusGatewayTimeout, Type: chatreq.TypeServer, Code: "upstream_timeout",
			Message: "request deadline exceeded while streaming the response"}
	}
	return &chatreq.APIError{Status: http.StatusBadGateway, Type: chatreq.TypeServer, Code: "upstream_stream_cut",
		Message: "upstream stream ended unexpectedly"}
}

// sseErrorEvent renders e as an OpenAI-style SSE error event
// (data: {"error":{…}}).
func sseErrorEvent(e *chatreq.APIError) []byte {
	body := e.Body()
	b := make([]byte, 0, len(body)+8)
	b = append(b, "data: "...)
	b = append(b, body...)
	return append(b, "\n\n"...)
}

func headerGetter(h http.Header) func(string) string {
	return func(name string) string { return h.Get(name) }
}

func writeImmediate(w http.ResponseWriter, imm *gateway.Immediate) {
	for _, h := range imm.Headers {
		w.Header().Set(h.Name, h.Value)
	}
	w.Header().Set("content-length", strconv.Itoa(len(imm.Body)))
	w.WriteHeader(imm.Status)
	_, _ = w.Write(imm.Body)
}

// backendURL is the chat URL of b.
func backendURL(b *routes.Backend) string {
	if b.BaseURL != "" {
		p := b.ChatPath
		if p == "" {
			p = "/chat/completions"
		}
		return strings.TrimSuffix(b.BaseURL, "/") + p
	}
	scheme := "http"
	if strings.EqualFold(b.Protocol, "https") {
		scheme = "https"
	}
	p := b.ChatPath
	if p == "" {
		p = "/v1/chat/completions"
	}
	return scheme + "://" + b.Endpoint + p
}
