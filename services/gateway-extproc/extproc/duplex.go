package extproc

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	filterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// Streamed request bodies (global.router.streamed_body.enabled): Envoy's
// ext_proc filter runs with request_body_mode FULL_DUPLEX_STREAMED and
// request_trailer_mode SEND (config-hub), so Envoy passes each body chunk
// on as it arrives and keeps none of it. The protocol this server follows:
//
//   - request headers of a body the router reads (chat, completions,
//     embeddings, a Responses create) get no answer yet: routing sets
//     x-selected-model, credentials and :path, and Envoy applies header
//     mutations only from a headers response (a body response's are
//     ignored outside BUFFERED mode);
//   - each body chunk is kept (up to max_bytes: 413 beyond) and gets no
//     answer either: in this mode answers need not pair with requests;
//   - at end_of_stream (or the request trailers) the body is routed like a
//     buffered one, then answered in order: the headers response (the
//     route's mutations), the body as streamed body responses of at most
//     maxStreamedChunk bytes (end_of_stream on the last), and the trailers
//     response if there were trailers. A refusal is one immediate response;
//   - other paths are answered at once and their chunks echoed unchanged;
//   - Envoy runs no message timer in this mode: the body must arrive within
//     timeout_sec of the request headers, or the client gets 408.
//
// Which mode Envoy runs is read from the protocol_config of the first
// message; when Envoy does not send one, StreamedBody.Enabled of the
// routing table decides.

// maxStreamedChunk bounds each streamed body response (the size Envoy's
// ext_proc docs recommend).
const maxStreamedChunk = 64 << 10

// duplex is the FULL_DUPLEX_STREAMED state of one stream.
type duplex struct {
	// mu serialises the stream's answers: Process holds it while handling
	// a message, the body deadline while refusing the body.
	mu sync.Mutex
	// send answers Envoy (the gRPC stream's Send).
	send func(*extprocv3.ProcessingResponse) error
	// on: Envoy streams the request body in FULL_DUPLEX_STREAMED mode.
	on bool
	// held: the request headers are unanswered, the body is being kept.
	held bool
	// echo: a body the router does not read; chunks go back unchanged.
	echo bool
	// expect is the request's content-length (0: unknown).
	expect int64
	// stop cancels the body deadline (nil: none armed).
	stop func() bool
	// queued are answers sent after the one handle returns.
	queued []*extprocv3.ProcessingResponse
}

func (d *duplex) stopTimer() {
	if d.stop != nil {
		d.stop()
		d.stop = nil
	}
}

// afterFunc is the default body deadline: time.AfterFunc.
func afterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// WithAfterFunc injects the timer of the streamed body deadline (default
// time.AfterFunc): after runs f once d has passed unless stop is called
// first.
func WithAfterFunc(after func(d time.Duration, f func()) (stop func() bool)) Option {
	return func(s *Server) { s.afterFunc = after }
}

// duplexMode reports whether Envoy streams the request body in
// FULL_DUPLEX_STREAMED mode: as its protocol_config says, or, without
// one, as the config says (configured).
func duplexMode(pc *extprocv3.ProtocolConfiguration, configured bool) bool {
	if pc != nil {
		return pc.GetRequestBodyMode() == filterv3.ProcessingMode_FULL_DUPLEX_STREAMED
	}
	return configured
}

// duplexHeaders decides what the headers answer resp becomes when the
// body streams: held back for a body the router reads (with its deadline
// armed), sent for any other.
func (st *stream) duplexHeaders(resp *extprocv3.ProcessingResponse, get func(string) string) *extprocv3.ProcessingResponse {
	if resp.GetRequestHeaders() == nil {
		return resp // an immediate answer
	}
	if st.kind != gateway.KindChat {
		st.fd.echo = true
		return resp
	}
	st.fd.held = true
	if n, err := strconv.ParseInt(strings.TrimSpace(get("content-length")), 10, 64); err == nil && n > 0 {
		st.fd.expect = n
	}
	if d := st.x.Table().StreamedBody.Timeout; d > 0 {
		st.fd.stop = st.s.afterFunc(d, func() { st.bodyTimeout(d) })
	}
	return nil
}

// bodyTimeout refuses a body that did not arrive in time (408).
func (st *stream) bodyTimeout(d time.Duration) {
	st.fd.mu.Lock()
	defer st.fd.mu.Unlock()
	if !st.fd.held {
		return
	}
	st.fd.held, st.fd.stop, st.body = false, nil, nil
	e := &chatreq.APIError{Status: http.StatusRequestTimeout, Type: chatreq.TypeInvalidRequest, Code: "request_timeout",
		Message: "the request body did not arrive within " + d.String() + " (global.router.streamed_body.timeout_sec)"}
	if err := st.fd.send(immediate(errorImmediate(e))); err != nil {
		st.s.log.Debug("answer a late request body", slog.Any("error", err))
	}
}

// duplexBody takes one streamed request body chunk.
func (st *stream) duplexBody(ctx context.Context, b *extprocv3.HttpBody) *extprocv3.ProcessingResponse {
	switch {
	case st.fd.echo:
		return streamedBody(b.Body, b.EndOfStream)
	case !st.fd.held:
		return nil // already refused (deadline, limit) or answered
	}
	limit := st.x.Table().MaxBodyBytes
	if int64(len(st.body)+len(b.Body)) > limit {
		st.fd.stopTimer()
		st.fd.held, st.body = false, nil
		return immediate(errorImmediate(chatreq.TooLarge(limit)))
	}
	if st.body == nil && !b.EndOfStream {
		st.body = make([]byte, 0, max(min(st.fd.expect, limit), int64(2*len(b.Body))))
	}
	if st.body == nil { // the whole body in one chunk
		st.body = b.Body
	} else {
		st.body = append(st.body, b.Body...)
	}
	if !b.EndOfStream {
		return nil
	}
	return st.finishDuplex(ctx, true)
}

// duplexTrailers takes the request trailers: the body is complete.
func (st *stream) duplexTrailers(ctx context.Context) *extprocv3.ProcessingResponse {
	trailers := &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{
		RequestTrailers: &extprocv3.TrailersResponse{}}}
	if !st.fd.held {
		return trailers
	}
	resp := st.finishDuplex(ctx, false)
	if resp.GetRequestHeaders() != nil {
		st.fd.queued = append(st.fd.queued, trailers)
	}
	return resp
}

// finishDuplex routes the complete body and answers: the headers response
// now, the body (end: with end_of_stream) queued behind it; or the
// immediate refusal.
func (st *stream) finishDuplex(ctx context.Context, end bool) *extprocv3.ProcessingResponse {
	st.fd.stopTimer()
	st.fd.held = false
	body := st.body
	st.body = nil
	resp := st.routeBody(ctx, body, true)
	rb := resp.GetRequestBody()
	if rb == nil {
		return resp
	}
	cr := rb.GetResponse()
	out := body
	if m := cr.GetBodyMutation(); m != nil {
		out = m.GetBody()
	}
	// Envoy drops content-length from a streamed body's headers; the
	// upstream request is chunked (HTTP/1.1) or unsized (HTTP/2).
	hm := cr.GetHeaderMutation()
	if hm == nil {
		hm = &extprocv3.HeaderMutation{}
	}
	kept := hm.SetHeaders[:0]
	for _, h := range hm.SetHeaders {
		if !strings.EqualFold(h.GetHeader().GetKey(), "content-length") {
			kept = append(kept, h)
		}
	}
	hm.SetHeaders = kept
	hm.RemoveHeaders = append(hm.RemoveHeaders, "content-length")
	st.fd.queued = appendStreamedBody(st.fd.queued, out, end)
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
		RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{
			HeaderMutation: hm, ClearRouteCache: cr.GetClearRouteCache()}}}}
}

// appendStreamedBody appends body as streamed body responses of at most
// maxStreamedChunk bytes; end marks the last with end_of_stream.
func appendStreamedBody(out []*extprocv3.ProcessingResponse, body []byte, end bool) []*extprocv3.ProcessingResponse {
	for {
		n := min(len(body), maxStreamedChunk)
		last := n == len(body)
		out = append(out, streamedBody(body[:n], end && last))
		body = body[n:]
		if last {
			return out
		}
	}
}

func streamedBody(body []byte, end bool) *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{
		RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{
			BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_StreamedResponse{
				StreamedResponse: &extprocv3.StreamedBodyResponse{Body: body, EndOfStream: end}}}}}}}
}
