package apimode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

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

// proxy sends the request to the targets' backends in failover order: the
// next backend of the model, then the next target model, within
// 1+retry_count attempts and the request deadline. Connect errors, 5xx and
// 429 are retried; nothing is retried once the client got a byte.
//
// It reports whether the response was cut after bytes reached the client
// (the caller then aborts the connection so the client sees the failure).
func (s *Server) proxy(ctx context.Context, w http.ResponseWriter, r *http.Request, x *gateway.Exchange, fwd *gateway.Forward) (cut bool) {
	if len(fwd.Targets) == 0 {
		s.writeError(w, x, chatreq.Upstream("no model is configured to serve this request"))
		return false
	}
	attempts := 1 + max(fwd.Targets[0].Model.RetryCount, 0)
	var last *failed
	var lastErr error
	for ti, t := range fwd.Targets {
		body := fwd.Body
		if ti > 0 {
			b, _, err := x.BodyFor(t)
			if err != nil {
				lastErr = err
				continue
			}
			body = b
		}
		for _, b := range s.order(t.Model.Backends) {
			if attempts == 0 || ctx.Err() != nil {
				break
			}
			attempts--
			resp, first, err := s.attempt(ctx, r, x, fwd, b, body)
			if err != nil {
				lastErr = err
				s.log.Warn("backend attempt", slog.String("model", t.Model.Name), slog.String("backend", b.Name), slog.Any("error", err))
				continue
			}
			if retryable(resp.StatusCode) {
				data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
				resp.Body.Close()
				last = &failed{status: resp.StatusCode, header: resp.Header, body: data, target: t}
				s.log.Warn("backend attempt", slog.String("model", t.Model.Name), slog.String("backend", b.Name), slog.Int("status", resp.StatusCode))
				continue
			}
			x.UseTarget(t)
			return s.relay(w, x, resp, first)
		}
	}
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
	msg := "no backend answered"
	if lastErr != nil {
		msg += ": " + lastErr.Error()
	}
	s.writeError(w, x, chatreq.Upstream(msg))
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

// order returns the backends with one weighted pick first and the others
// after it in config order.
func (s *Server) order(bs []routes.Backend) []*routes.Backend {
	out := make([]*routes.Backend, 0, len(bs))
	total := 0
	for i := range bs {
		total += max(bs[i].Weight, 0)
	}
	pick := 0
	if total > 0 && len(bs) > 1 {
		n := s.intN(total)
		for i := range bs {
			n -= max(bs[i].Weight, 0)
			if n < 0 {
				pick = i
				break
			}
		}
	}
	if len(bs) > 0 {
		out = append(out, &bs[pick])
	}
	for i := range bs {
		if i != pick {
			out = append(out, &bs[i])
		}
	}
	return out
}

// attempt sends one upstream request. For a 2xx/4xx answer it reads the
// first body bytes before returning, so that a stream that dies before its
// first byte is still retried; a read error there counts as a failed
// attempt.
func (s *Server) attempt(ctx context.Context, in *http.Request, x *gateway.Exchange, fwd *gateway.Forward, b *routes.Backend, body []byte) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, backendURL(b), bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("build request for %s: %w", b.Name, err)
	}
	s.upstreamHeaders(req.Header, in.Header, fwd, b)
	x.InjectTrace(ctx, req.Header)
	req.ContentLength = int64(len(body))
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("send to %s: %w", b.Name, err)
	}
	if retryable(resp.StatusCode) {
		return resp, nil, nil
	}
	buf := make([]byte, 32<<10)
	n, err := resp.Body.Read(buf)
	if err != nil && !errors.Is(err, io.EOF) && n == 0 {
		resp.Body.Close()
		return nil, nil, fmt.Errorf("read first bytes from %s: %w", b.Name, err)
	}
	if errors.Is(err, io.EOF) {
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(nil))
	}
	return resp, buf[:n], nil
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
	dst.Del("Accept-Encoding") // let the transport negotiate so SSE stays readable
	dst.Del("Host")
	for _, n := range fwd.RemoveHeaders {
		dst.Del(n)
	}
	for _, h := range fwd.SetHeaders {
		dst.Set(h.Name, h.Value)
	}
	dst.Set("Content-Type", "application/json")
	for k, v := range b.ExtraHeaders {
		dst.Set(k, v)
	}
	key := b.APIKey
	if b.APIKeyEnv != "" {
		if v := s.env(b.APIKeyEnv); v != "" {
			key = v
		}
	}
	if key != "" {
		name, prefix := b.AuthHeader, b.AuthPrefix
		if name == "" {
			name = "Authorization"
		}
		if prefix == "" && strings.EqualFold(name, "Authorization") {
			prefix = "Bearer"
		}
		dst.Del("Authorization")
		if prefix != "" {
			dst.Set(name, prefix+" "+key)
		} else {
			dst.Set(name, key)
		}
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
	for _, vh := range x.ResponseHeaders(resp.StatusCode, ctype) {
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
		x.ResponseBody(p, false)
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
			x.ResponseBody(nil, true)
			return false
		}
		if err != nil {
			s.log.Warn("upstream body cut", slog.Any("error", err))
			return true // nothing is retried after bytes reached the client
		}
	}
}
