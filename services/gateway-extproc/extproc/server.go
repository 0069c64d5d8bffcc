// Package extproc serves Envoy's external processing protocol
// (envoy.service.ext_proc.v3) with the gateway processor: request headers →
// buffered request body → response headers (switching SSE responses to
// STREAMED body mode) → response body chunks.
//
// Envoy's ext_proc filter must be configured with request_body_mode
// BUFFERED (or FULL_DUPLEX_STREAMED with request_trailer_mode SEND, see
// duplex.go), response_header_mode SEND, response_body_mode BUFFERED (or
// STREAMED) and allow_mode_override: true.
//
// A routed request's body response also carries the selected backend's
// credentials (routes.Backend.Credentials, as API mode applies them) as
// header mutations, and x-selected-backend when the model's backends have
// different credentials (config-hub's routes pin that backend).
package extproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/responses"
)

// Server is the ext_proc gRPC service.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer
	gw  *gateway.Gateway
	log *slog.Logger
	// env looks up backend_refs[].api_key_env.
	env func(string) string
	// intN draws the backend of a model whose backends' credentials
	// differ: a value in [0,n).
	intN func(n int) int
	// respStores holds the Responses API store (responses.go).
	respStores *responses.Stores
	// afterFunc runs f once d has passed unless stop is called first: the
	// deadline of a streamed request body (duplex.go).
	afterFunc func(d time.Duration, f func()) (stop func() bool)
}

var _ extprocv3.ExternalProcessorServer = (*Server)(nil)

// Option tunes a Server.
type Option func(*Server)

// WithEnv injects the environment lookup used for api_key_env (default
// os.Getenv).
func WithEnv(lookup func(string) string) Option { return func(s *Server) { s.env = lookup } }

// WithRandom injects the weighted choice of a backend among a model's
// backends whose credentials differ: intN returns a value in [0,n)
// (default rand.IntN).
func WithRandom(intN func(n int) int) Option { return func(s *Server) { s.intN = intN } }

// New builds a Server over gw.
func New(gw *gateway.Gateway, log *slog.Logger, opts ...Option) *Server {
	s := &Server{gw: gw, log: log, env: os.Getenv, intN: rand.IntN, respStores: &responses.Stores{}, afterFunc: afterFunc}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Register adds the service to a gRPC server.
func (s *Server) Register(g *grpc.Server) { extprocv3.RegisterExternalProcessorServer(g, s) }

// stream is the state of one HTTP request's ext_proc stream.
type stream struct {
	s        *Server
	x        *gateway.Exchange
	kind     gateway.Kind
	body     []byte
	respSeen bool
	// path is the request's :path (api_version rewrites its query).
	path string
	// ac translates a request routed to an api_format anthropic model
	// (anthropic.go); nil otherwise.
	ac *anthropicCall
	// rg screens the answer for the response_jailbreak plugin
	// (responseguard.go); nil otherwise.
	rg *respGuard
	// rc translates a Responses API create (responses.go); nil otherwise.
	rc *responsesCall
	// fd is the FULL_DUPLEX_STREAMED request state (duplex.go).
	fd duplex
}

// Process handles one HTTP request's lifecycle.
func (s *Server) Process(srv extprocv3.ExternalProcessor_ProcessServer) error {
	ctx := srv.Context()
	st := &stream{s: s, x: s.gw.NewExchange()}
	st.fd.send = srv.Send
	begun := false
	defer func() {
		st.fd.mu.Lock()
		st.fd.stopTimer()
		st.fd.mu.Unlock()
		if st.respSeen {
			st.x.Finish(ctx)
		}
		st.x.End(0)
	}()
	for {
		req, err := srv.Recv()
		if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
			return nil
		}
		if err != nil {
			return err
		}
		if !begun {
			// The request span continues the trace context Envoy forwards
			// in the request headers (traceparent), if any.
			begun = true
			var carrier propagation.TextMapCarrier
			if rh, ok := req.Request.(*extprocv3.ProcessingRequest_RequestHeaders); ok {
				carrier = headerMapCarrier{rh.RequestHeaders.GetHeaders()}
			}
			ctx = st.x.Begin(ctx, carrier)
		}
		if err := st.process(ctx, req); err != nil {
			return err
		}
	}
}

// process handles one message from Envoy and sends what answers it: none,
// one, or (a streamed request body, duplex.go) several. The body deadline
// may answer from its own goroutine, so a message is handled and answered
// under the stream's lock.
func (st *stream) process(ctx context.Context, req *extprocv3.ProcessingRequest) error {
	st.fd.mu.Lock()
	defer st.fd.mu.Unlock()
	if resp := st.handle(ctx, req); resp != nil {
		if err := st.fd.send(resp); err != nil {
			return err
		}
	}
	for len(st.fd.queued) > 0 {
		resp := st.fd.queued[0]
		st.fd.queued = st.fd.queued[1:]
		if err := st.fd.send(resp); err != nil {
			return err
		}
	}
	return nil
}

func (st *stream) handle(ctx context.Context, req *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	switch v := req.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		st.fd.on = duplexMode(req.GetProtocolConfig(), st.x.Table().StreamedBody.Enabled)
		resp := st.requestHeaders(ctx, v.RequestHeaders)
		if st.fd.on && !v.RequestHeaders.EndOfStream {
			return st.duplexHeaders(resp, headerLookup(v.RequestHeaders.GetHeaders()))
		}
		return resp
	case *extprocv3.ProcessingRequest_RequestBody:
		if st.fd.on {
			return st.duplexBody(ctx, v.RequestBody)
		}
		return st.requestBody(ctx, v.RequestBody)
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return st.responseHeaders(v.ResponseHeaders)
	case *extprocv3.ProcessingRequest_ResponseBody:
		b := v.ResponseBody
		cr := &extprocv3.CommonResponse{}
		if st.kind == gateway.KindChat {
			// In STREAMED mode each chunk may be replaced: the usage chunk
			// the router asked for (and the client did not) is cut out.
			in := b.Body
			if st.ac != nil {
				in = st.ac.responseBody(b.Body, b.EndOfStream)
			}
			in, gh, screened := st.guardBody(ctx, in, b.EndOfStream)
			if b.EndOfStream && !st.x.StreamingResponse() {
				// BUFFERED: the whole answer is here, its headers not yet sent.
				gh = append(gh, st.x.BodyCostHeaders(in)...)
			}
			if len(gh) > 0 {
				cr.HeaderMutation = headerMutation(gh)
			}
			out := st.x.ForwardChunk(in, b.EndOfStream)
			if st.rc != nil {
				out = st.rc.responseBody(ctx, out, b.EndOfStream)
			}
			if st.rc != nil || st.ac != nil || screened || !sameBytes(out, b.Body) {
				cr.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: bytes.Clone(out)}}
			}
			if b.EndOfStream {
				st.x.Finish(ctx)
			}
		}
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{
			ResponseBody: &extprocv3.BodyResponse{Response: cr}}}
	case *extprocv3.ProcessingRequest_RequestTrailers:
		if st.fd.on {
			return st.duplexTrailers(ctx)
		}
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{
			RequestTrailers: &extprocv3.TrailersResponse{}}}
	case *extprocv3.ProcessingRequest_ResponseTrailers:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseTrailers{
			ResponseTrailers: &extprocv3.TrailersResponse{}}}
	}
	return nil
}

// sameBytes reports whether out is the chunk itself (ForwardChunk returns
// it unchanged when nothing is held back or dropped).
func sameBytes(out, in []byte) bool {
	return len(out) == len(in) && (len(in) == 0 || &out[0] == &in[0])
}

// headerMapCarrier reads trace context from Envoy request headers.
type headerMapCarrier struct{ hm *corev3.HeaderMap }

var _ propagation.TextMapCarrier = headerMapCarrier{}

func (c headerMapCarrier) Get(key string) string { return headerLookup(c.hm)(key) }
func (c headerMapCarrier) Set(string, string)    {}
func (c headerMapCarrier) Keys() []string {
	keys := make([]string, 0, len(c.hm.GetHeaders()))
	for _, h := range c.hm.GetHeaders() {
		keys = append(keys, h.Key)
	}
	return keys
}

func headerLookup(hm *corev3.HeaderMap) func(string) string {
	return func(name string) string {
		if hm == nil {
			return ""
		}
		for _, h := range hm.Headers {
			if strings.EqualFold(h.Key, name) {
				if len(h.RawValue) > 0 {
					return string(h.RawValue)
				}
				return h.Value
			}
		}
		return ""
	}
}

func (st *stream) requestHeaders(ctx context.Context, h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	get := headerLookup(h.GetHeaders())
	st.path = get(":path")
	if rt, ok := responses.ParseRoute(st.path); ok && !st.x.Table().Responses.Disabled {
		return st.responsesHeaders(ctx, rt, get(":method"), get, h.EndOfStream)
	}
	kind, imm := st.x.RequestHeaders(get(":method"), st.path, get)
	st.kind = kind
	switch kind {
	case gateway.KindImmediate:
		return immediate(imm)
	case gateway.KindChat:
		if h.EndOfStream { // a POST without a body
			imm, _ := st.x.RequestBody(ctx, nil)
			return immediate(imm)
		}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
		RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{}}}}
}

func (st *stream) requestBody(ctx context.Context, b *extprocv3.HttpBody) *extprocv3.ProcessingResponse {
	if st.kind != gateway.KindChat {
		return continueBody()
	}
	limit := st.x.Table().MaxBodyBytes
	if int64(len(st.body)+len(b.Body)) > limit {
		return immediate(&gateway.Immediate{Status: 413,
			Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}},
			Body:    chatreq.TooLarge(limit).Body()})
	}
	if !b.EndOfStream {
		// Streamed request bodies are gathered; each chunk is held back by
		// replacing it with nothing until the whole body is known.
		st.body = append(st.body, b.Body...)
		return holdBack()
	}
	held := len(st.body) > 0
	body := b.Body
	if held {
		body = append(st.body, b.Body...)
	}
	return st.routeBody(ctx, body, held)
}

// routeBody routes a complete request body: the immediate answer, or the
// body response with the route's header mutations and, when the body
// changed or must be sent whole (held: its chunks were held back), the
// body to forward.
func (st *stream) routeBody(ctx context.Context, body []byte, held bool) *extprocv3.ProcessingResponse {
	if st.rc != nil {
		if imm := st.rc.prepare(ctx, st, body); imm != nil {
			return immediate(imm)
		}
		body = st.rc.call.Chat
		st.x.SetConversation(st.rc.call.Conversation) // the sticky key of the chain
	}
	imm, fwd := st.x.RequestBody(ctx, body)
	if imm == nil {
		imm = st.translateRequest(fwd)
	}
	if imm != nil {
		if st.rc != nil {
			imm = st.rc.immediate(ctx, imm)
		}
		return immediate(imm)
	}
	cr := &extprocv3.CommonResponse{ClearRouteCache: fwd.ClearRouteCache}
	hm := st.s.requestMutation(fwd, st.path)
	if st.rc != nil {
		st.rc.requestMutation(hm)
	}
	if fwd.BodyChanged || held || st.rc != nil {
		hm.SetHeaders = append(hm.SetHeaders, headerOption("content-length", strconv.Itoa(len(fwd.Body))))
		cr.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: fwd.Body}}
	}
	if len(hm.SetHeaders) > 0 || len(hm.RemoveHeaders) > 0 {
		cr.HeaderMutation = hm
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{
		RequestBody: &extprocv3.BodyResponse{Response: cr}}}
}

func (st *stream) responseHeaders(h *extprocv3.HttpHeaders) *extprocv3.ProcessingResponse {
	resp := &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{}}
	out := &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: resp}}
	if st.kind != gateway.KindChat {
		return out
	}
	get := headerLookup(h.GetHeaders())
	code, _ := strconv.Atoi(get(":status"))
	ctype := get("content-type")
	var hm *extprocv3.HeaderMutation
	if st.ac != nil {
		code, ctype, hm = st.ac.responseHeaders(code, ctype)
		resp.Response.HeaderMutation = hm
	}
	st.respSeen = true
	if st.rc != nil {
		ct := st.rc.responseHeaders(code, ctype)
		if hm == nil {
			hm = &extprocv3.HeaderMutation{}
		}
		if !slices.Contains(hm.RemoveHeaders, "content-length") {
			hm.RemoveHeaders = append(hm.RemoveHeaders, "content-length")
		}
		hm.SetHeaders = append(hm.SetHeaders, headerOption("content-type", ct))
		resp.Response.HeaderMutation = hm
	}
	vsr := st.x.ResponseHeaders(code, ctype)
	if st.startGuard(code) {
		if hm == nil {
			hm = &extprocv3.HeaderMutation{}
		}
		if !slices.Contains(hm.RemoveHeaders, "content-length") {
			hm.RemoveHeaders = append(hm.RemoveHeaders, "content-length")
		}
		resp.Response.HeaderMutation = hm
	}
	if len(vsr) > 0 {
		if hm == nil {
			hm = &extprocv3.HeaderMutation{}
		}
		for _, v := range vsr {
			hm.SetHeaders = append(hm.SetHeaders, headerOption(v.Name, v.Value))
		}
		// the upstream's budgets do not mix with the router's
		hm.RemoveHeaders = append(hm.RemoveHeaders, gateway.StaleRateLimitHeaders(vsr)...)
		resp.Response.HeaderMutation = hm
	}
	if st.x.StreamingResponse() {
		out.ModeOverride = &filterv3.ProcessingMode{ResponseBodyMode: filterv3.ProcessingMode_STREAMED}
	}
	if h.EndOfStream {
		st.x.ResponseBody(nil, true)
	}
	return out
}

func continueBody() *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{
		RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{}}}}
}

// holdBack answers a partial request-body chunk by replacing it with
// nothing; the whole (rewritten) body goes out with the last chunk.
func holdBack() *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{
		RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{
			BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: []byte{}}}}}}}
}

func headerOption(name, value string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: name, RawValue: []byte(value)},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

func immediate(imm *gateway.Immediate) *extprocv3.ProcessingResponse {
	hm := &extprocv3.HeaderMutation{}
	for _, h := range imm.Headers {
		hm.SetHeaders = append(hm.SetHeaders, headerOption(h.Name, h.Value))
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{
		ImmediateResponse: &extprocv3.ImmediateResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(imm.Status)},
			Headers: hm,
			Body:    imm.Body,
		}}}
}

// Serve runs the ext_proc gRPC service on ln until ctx ends, then stops
// gracefully (bounded by grace) and waits for background publications.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration, opts ...grpc.ServerOption) error {
	g := grpc.NewServer(opts...)
	s.Register(g)
	errc := make(chan error, 1)
	go func() { errc <- g.Serve(ln) }()
	s.log.Info("ext_proc listening", slog.String("addr", ln.Addr().String()))
	select {
	case err := <-errc:
		return fmt.Errorf("serve ext_proc: %w", err)
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() {
		g.GracefulStop()
		close(stopped)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		g.Stop()
	}
	s.gw.Wait()
	return nil
}
