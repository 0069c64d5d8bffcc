package apimode

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// maxErrorBody caps how much of a failed attempt's body is kept for the
// client when every attempt fails.
const maxErrorBody = 64 << 10

// hopHeaders are never forwarded in either direction.
func hopHeaders() [9]string {
	return [9]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}
}

// failed is a retryable answer kept to relay if nothing better comes.
type failed struct {
	status int
	header http.Header
	body   []byte
	target gateway.Target
}

// proxy sends the request to the targets' backends in failover order
// (failover): the other backends of the model, then the next target model,
// within 1+retry_count attempts and the request deadline. Connect errors,
// 5xx, 429 and per-attempt first-byte timeouts are retried, never on a
// backend that already failed in this request; nothing is retried once the
// client got a byte.
//
// It reports whether the response was cut after bytes reached the client
// (the caller then aborts the connection so the client sees the failure).
func (s *Server) proxy(ctx context.Context, w http.ResponseWriter, r *http.Request, x *gateway.Exchange, fwd *gateway.Forward) (cut bool) {
	if len(fwd.Targets) == 0 {
		s.writeError(w, x, chatreq.Upstream("no model is configured to serve this request"))
		return false
	}
	if p := s.looperPlan(x); p != nil {
		return s.loop(ctx, w, r, x, fwd, p) // looper.go: multi-call algorithms
	}
	o := s.failover(ctx, r, x, fwd)
	if o.resp != nil {
		defer o.done()
		x.UseTarget(o.target)
		o.resp, o.first = s.screen(ctx, x, o.resp, o.first)
		o.resp, o.first = s.priceJSON(x, o.resp, o.first) // cost.go: x-vsr-cost
		return s.relay(w, x, o.resp, o.first)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		// The client hung up: nobody is left to answer (and its request
		// is no upstream failure).
		x.ClientGone()
		return false
	}
	if o.tried {
		x.UpstreamFailed(o.lastTarget, o.reason)
	}
	last, lastErr := o.last, o.err
	if last != nil {
		x.UseTarget(last.target)
		resp := &http.Response{StatusCode: last.status, Header: last.header, Body: io.NopCloser(bytes.NewReader(nil))}
		return s.relay(w, x, resp, last.body)
	}
	if ctx.Err() != nil {
		s.writeError(w, x, &chatreq.APIError{Status: http.StatusGatewayTimeout, Message: "request deadline exceeded before a backend answered",
			Type: chatreq.TypeServer, Code: "upstream_timeout"})
		return false
	}
	// The client gets a generic message; backend addresses and the
	// transport error stay in the log and on the upstream span.
	if lastErr != nil {
		s.log.Warn("no backend answered", slog.Any("error", lastErr))
		trace.SpanFromContext(ctx).RecordError(lastErr)
	}
	s.writeError(w, x, chatreq.Upstream("upstream unavailable"))
	return false
}

func retryable(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests
}

func (s *Server) writeError(w http.ResponseWriter, x *gateway.Exchange, e *chatreq.APIError) {
	for _, h := range x.ResponseHeaders(e.Status, "application/json") {
		w.Header().Set(h.Name, h.Value)
	}
	writeImmediate(w, &gateway.Immediate{Status: e.Status,
		Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}}, Body: e.Body()})
}

func (s *Server) upstreamHeaders(dst, src http.Header, fwd *gateway.Forward, b *routes.Backend) {
	for k, vs := range src {
		dst[k] = append([]string(nil), vs...)
	}
	for _, h := range hopHeaders() {
		dst.Del(h)
	}
	for _, c := range src.Values("Connection") {
		for _, f := range strings.Split(c, ",") {
			dst.Del(strings.TrimSpace(f))
		}
	}
	dst.Del("Content-Length")
	// The body sent is the one the router parsed: decoded (readBody), so
	// the client's Content-Encoding no longer applies.
	dst.Del("Content-Encoding")
	dst.Del("Accept-Encoding") // let the transport negotiate so SSE stays readable
	dst.Del("Host")
	for _, n := range fwd.RemoveHeaders {
		dst.Del(n)
	}
	for _, h := range fwd.SetHeaders {
		dst.Set(h.Name, h.Value)
	}
	dst.Set("Content-Type", "application/json")
	// The backend's own key and extra_headers (routes.Backend.Credentials,
	// shared with ext_proc mode).
	creds := b.Credentials(s.env)
	if creds.DropAuthorization {
		dst.Del(routes.HeaderAuthorization)
	}
	for _, h := range creds.Headers {
		dst.Set(h.Name, h.Value)
	}
}

// relay copies the upstream response to the client, flushing SSE as it
// arrives and letting the exchange observe every byte. It reports whether
// the upstream body failed midway.
func (s *Server) relay(w http.ResponseWriter, x *gateway.Exchange, resp *http.Response, first []byte) (cut bool) {
	defer resp.Body.Close()
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	for _, n := range hopHeaders() {
		h.Del(n)
	}
	ctype := resp.Header.Get("Content-Type")
	vsr := x.ResponseHeaders(resp.StatusCode, ctype)
	for _, n := range gateway.StaleRateLimitHeaders(vsr) {
		h.Del(n) // the upstream's budgets do not mix with the router's
	}
	for _, vh := range vsr {
		h.Set(vh.Name, vh.Value)
	}
	streaming := x.StreamingResponse()
	if streaming {
		h.Del("Content-Length")
	} else if resp.Header.Get("Content-Length") == "" && resp.ContentLength < 0 && len(first) > 0 {
		// unknown length: let net/http chunk it
		h.Del("Content-Length")
	}
	if resp.Uncompressed {
		h.Del("Content-Length")
		h.Del("Content-Encoding")
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	write := func(p []byte) bool {
		if len(p) == 0 {
			return true
		}
		// The exchange observes p and says what the client gets instead
		// (the usage chunk it injected is dropped, partial events held).
		if p = x.ForwardChunk(p, false); len(p) == 0 {
			return true
		}
		if _, err := w.Write(p); err != nil {
			return false
		}
		if streaming {
			_ = rc.Flush()
		}
		return true
	}
	if !write(first) {
		return false
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 && !write(buf[:n]) {
			return false // the client went away
		}
		if errors.Is(err, io.EOF) {
			if tail := x.ForwardChunk(nil, true); len(tail) > 0 {
				_, _ = w.Write(tail)
			}
			return false
		}
		if err != nil {
			s.log.Warn("upstream body cut", slog.Any("error", err))
			return true // nothing is retried after bytes reached the client
		}
	}
}
