package gateway

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/ratelimit"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/windows"
)

// Stages are the router services the gateway fans out to. Any of them may
// be nil: the gateway then runs degraded for that stage.
type Stages struct {
	Embedder   Embedder
	Classifier Classifier
	Cache      Cache
	Latency    LatencyPublisher
}

// Option tunes a Gateway.
type Option func(*Gateway)

// WithClock injects the time source (tests).
func WithClock(now func() time.Time) Option { return func(g *Gateway) { g.now = now } }

// WithMaxResponseBytes caps how much of a response is buffered for usage
// accounting and cache publication (default 4 MiB).
func WithMaxResponseBytes(n int) Option { return func(g *Gateway) { g.maxResp = n } }

// Gateway holds the active routes and the stage clients. It is safe for
// concurrent use; each request gets its own Exchange.
type Gateway struct {
	table   atomic.Pointer[routes.Table]
	stages  Stages
	log     *slog.Logger
	now     func() time.Time
	maxResp int
	// background tracks cache/latency publications after a response.
	background sync.WaitGroup
	// served is the served-report state (served.go).
	served servedReports
	// replay keeps the router_replay records (replay.go).
	replay *Replay
	// mem keeps the memory store across revisions (memory.go).
	mem memoryStores
	// limits keeps the rate limit budgets across revisions (ratelimit.go).
	limits ratelimit.Holder
	// rstores keeps the shared replay store across revisions
	// (replay_store.go).
	rstores replayStores
	// win keeps the windowed metrics across revisions (windows.go).
	win windowState
	// sticky keeps the conversation pin store across revisions
	// (sticky.go).
	sticky stickyStores
	// vsearch is the local vector store of the rag vectorstore backend
	// (vectorstore.go).
	vsearch atomic.Pointer[vectorSearcherRef]

	metrics    *metrics.Gateway
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

// New builds a Gateway serving table.
func New(table *routes.Table, stages Stages, log *slog.Logger, opts ...Option) *Gateway {
	g := &Gateway{stages: stages, log: log, now: time.Now, maxResp: 4 << 20, tracer: defaultTracer(),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}
	for _, o := range opts {
		o(g)
	}
	g.served.policy.defaults()
	g.replay = NewReplay(g.now())
	g.table.Store(table)
	g.configureWindows(table)
	g.metrics.SetWindowSource(windowSource{g})
	return g
}

// Swap atomically replaces the active routes; exchanges already running
// keep the table they started with.
func (g *Gateway) Swap(t *routes.Table) {
	g.table.Store(t)
	g.configureWindows(t)
}

// Routes returns the active routes.
func (g *Gateway) Routes() *routes.Table { return g.table.Load() }

// Wait blocks until background publications (cache stores, served
// reports, latency) end, the retries of lost served reports included
// (bounded by ServedReportPolicy.RetryWindow), and the queued writes of
// a shared router_replay store.
func (g *Gateway) Wait() { g.background.Wait(); g.rstores.flush() }

// Header is one HTTP header.
type Header struct{ Name, Value string }

// Immediate is a response the gateway produces itself.
type Immediate struct {
	Status  int
	Headers []Header
	Body    []byte
}

// Kind is what a request path maps to.
type Kind int

// Request kinds.
const (
	// KindPassthrough is a path the router does not handle (ext_proc lets
	// it through untouched; API mode answers 404).
	KindPassthrough Kind = iota
	// KindChat is an inference request whose body is needed: POST
	// /v1/chat/completions, /v1/completions or /v1/embeddings
	// (Exchange.Endpoint tells which).
	KindChat
	// KindImmediate means RequestHeaders returned an immediate response.
	KindImmediate
)

// Exchange is the per-request processor.
type Exchange struct {
	g     *Gateway
	t     *routes.Table
	start time.Time
	debug bool
	hdr   func(string) string

	req *chatreq.Request
	// endpoint is the inference endpoint of a KindChat request.
	endpoint Endpoint
	// clientReq is the request as the client sent it when
	// context_compression replaced req (nil: req is).
	clientReq *chatreq.Request
	recipe    string
	auto      bool
	routed    route

	resp responseState
	// guard is what the response_jailbreak plugin found (responseguard.go).
	guard guardResult
	// halluc is what the hallucination plugin found (hallucination.go).
	halluc hallucResult
	// limit is the rate limit check of this request (ratelimit.go).
	limit rateLimitOutcome
	// pin is the conversation pin to write once the rate limits allowed
	// the request (sticky.go).
	pin *pendingPin
	// conversation is the Responses API conversation of the request
	// (SetConversation; "": none).
	conversation string
	// cost is what the request cost upstream, or saved (cost.go).
	cost costState

	// observability (observe.go)
	span      trace.Span
	cacheSpan trace.Span
	cacheErr  error
	ended     bool
	parseErr  bool
	// win counts the request in its model's windows while it is
	// upstream (windows.go).
	win *windows.Model
}

// NewExchange starts processing one request against the active routes.
func (g *Gateway) NewExchange() *Exchange {
	return &Exchange{g: g, t: g.table.Load(), start: g.now(), hdr: noHeader}
}

// Table is the routes snapshot this exchange uses.
func (x *Exchange) Table() *routes.Table { return x.t }

// RequestHeaders dispatches on method and path. header returns a request
// header value by lower-case name (nil: none). For KindImmediate the
// response is returned.
func (x *Exchange) RequestHeaders(method, path string, header func(string) string) (Kind, *Immediate) {
	if header == nil {
		header = noHeader
	}
	x.hdr = header
	x.debug = strings.EqualFold(header("x-vsr-debug"), "true")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	switch path {
	case "/v1/chat/completions":
		if method != http.MethodPost {
			return KindImmediate, methodNotAllowed(method, path, http.MethodPost)
		}
		return KindChat, nil
	case chatreq.PathCompletions, chatreq.PathEmbeddings:
		if method != http.MethodPost {
			return KindImmediate, methodNotAllowed(method, path, http.MethodPost)
		}
		x.endpoint, _ = inferenceEndpoint(path)
		return KindChat, nil
	case "/v1/models":
		if method != http.MethodGet && method != http.MethodHead {
			return KindImmediate, methodNotAllowed(method, path, allowGet)
		}
		return KindImmediate, x.modelsList()
	}
	if id, ok := strings.CutPrefix(path, "/v1/models/"); ok && id != "" {
		if method != http.MethodGet && method != http.MethodHead {
			return KindImmediate, methodNotAllowed(method, path, allowGet)
		}
		if u, err := url.PathUnescape(id); err == nil {
			id = u
		}
		return KindImmediate, x.model(id)
	}
	if strings.HasPrefix(path, "/v1/") {
		return KindImmediate, errorResponse(chatreq.UnknownPath(method, path))
	}
	return KindPassthrough, nil
}

// modelsList answers GET /v1/models: auto names, entrypoint names and the
// configured models.
func (x *Exchange) modelsList() *Immediate {
	b := make([]byte, 0, 256)
	b = append(b, `{"object":"list","data":[`...)
	first := true
	x.eachModel(func(id, owner string) bool {
		if owner == ownerConfig && x.t.HideConfigModels {
			return true
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = x.appendModel(b, id, owner)
		return true
	})
	b = append(b, "]}"...)
	return &Immediate{Status: http.StatusOK, Headers: []Header{{"content-type", "application/json"}}, Body: b}
}

// model answers GET /v1/models/{id}: one entry of the list, or an
// OpenAI-style 404 model_not_found.
func (x *Exchange) model(id string) *Immediate {
	var b []byte
	x.eachModel(func(name, owner string) bool {
		if name != id {
			return true
		}
		b = x.appendModel(make([]byte, 0, 96+len(id)), id, owner)
		return false
	})
	if b == nil {
		return errorResponse(chatreq.ModelNotFound(id))
	}
	return &Immediate{Status: http.StatusOK, Headers: []Header{{"content-type", "application/json"}}, Body: b}
}

// eachModel calls f with every model id the router serves, once each, in
// list order (auto names, entrypoint names, configured models) until f
// returns false.
func (x *Exchange) eachModel(f func(id, owner string) bool) {
	seen := map[string]bool{}
	for _, n := range x.t.AutoModelNames {
		if !seen[n] {
			seen[n] = true
			if !f(n, "semrouter") {
				return
			}
		}
	}
	for _, n := range x.t.EntrypointNames() {
		if !seen[n] {
			seen[n] = true
			if !f(n, "semrouter") {
				return
			}
		}
	}
	for _, m := range x.t.Models {
		if !seen[m.Name] {
			seen[m.Name] = true
			if !f(m.Name, ownerConfig) {
				return
			}
		}
	}
}

func (x *Exchange) appendModel(b []byte, id, owner string) []byte {
	b = append(b, `{"id":`...)
	b = chatreq.AppendJSONString(b, id)
	b = append(b, `,"object":"model","created":`...)
	b = strconv.AppendInt(b, x.start.Unix(), 10)
	b = append(b, `,"owned_by":`...)
	b = chatreq.AppendJSONString(b, owner)
	return append(b, '}')
}

// ownerConfig is the owned_by of the configured models in GET /v1/models.
const ownerConfig = "semrouter-config"

// allowGet is the Allow header of the read-only endpoints: HEAD is GET
// without the body (RFC 9110 §9.3.2).
const allowGet = "GET, HEAD"

// Reject answers a request whose body could not be taken (too large,
// undecodable, not received in time): e goes to the client as is and the
// request counts as a parse error in llm_request_errors_total.
func (x *Exchange) Reject(e *chatreq.APIError) *Immediate {
	x.parseErr = true
	return errorResponse(e)
}

// methodNotAllowed is a 405 naming the allowed method in Allow.
func methodNotAllowed(method, path, allow string) *Immediate {
	imm := errorResponse(chatreq.MethodNotAllowed(method, path))
	imm.Headers = append(imm.Headers, Header{"allow", allow})
	return imm
}

func errorResponse(e *chatreq.APIError) *Immediate {
	return &Immediate{Status: e.Status, Headers: []Header{{"content-type", "application/json"}}, Body: e.Body()}
}

func noHeader(string) string { return "" }
