package apimode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// errFirstByteTimeout cancels an attempt whose first response byte did not
// come within the per-attempt deadline.
var errFirstByteTimeout = errors.New("no response byte within the per-attempt deadline")

// candidate is one backend to try: Targets[target].Model.Backends[...].
type candidate struct {
	target int
	b      *routes.Backend
}

// endpointAddr identifies an upstream address across models (two models
// may share a server); the strings are the table's own.
type endpointAddr struct{ endpoint, baseURL string }

func addrOf(b *routes.Backend) endpointAddr { return endpointAddr{b.Endpoint, b.BaseURL} }

// plan appends to dst the backends of every target in failover order: per
// model, one weighted pick among the backends in rotation, then the other
// backends in rotation in config order. Ejected backends are left out
// unless every backend of the model is ejected.
func (s *Server) plan(dst []candidate, targets []gateway.Target, now time.Time) []candidate {
	for ti := range targets {
		m := targets[ti].Model
		bs := m.Backends
		if len(bs) == 0 {
			continue
		}
		// out marks ejected backends (the first 64; a model with more
		// backends has the rest always in rotation).
		out := s.health.ejectedMask(m, now)
		if len(bs) <= 64 && out == 1<<len(bs)-1 {
			out = 0 // every backend ejected: try them all (panic mode)
		}
		in := func(i int) bool { return i >= 64 || out&(1<<i) == 0 }
		total, count := 0, 0
		for i := range bs {
			if in(i) {
				total += max(bs[i].Weight, 0)
				count++
			}
		}
		pick := -1
		if total > 0 && count > 1 {
			n := s.intN(total)
			for i := range bs {
				if !in(i) {
					continue
				}
				n -= max(bs[i].Weight, 0)
				if n < 0 {
					pick = i
					break
				}
			}
		}
		for i := 0; pick < 0 && i < len(bs); i++ {
			if in(i) {
				pick = i
			}
		}
		dst = append(dst, candidate{ti, &bs[pick]})
		for i := range bs {
			if i != pick && in(i) {
				dst = append(dst, candidate{ti, &bs[i]})
			}
		}
	}
	return dst
}

// attemptTimeout is the per-attempt first-byte deadline: v0.3 has no key
// for it, so it is the time left to the request (listeners[].timeout less
// routing) shared among the attempts plus one, i.e. a third of it with the
// default retry_count of 1. Zero when ctx has no deadline.
func attemptTimeout(ctx context.Context, attempts int) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return time.Until(dl) / time.Duration(attempts+1)
}

// outcome is the result of the attempts: a response to relay (resp), or
// the last retryable answer (last), or nothing (err).
type outcome struct {
	resp   *http.Response
	first  []byte
	done   func() // releases resp's attempt; call after relaying
	target gateway.Target
	last   *failed
	err    error
	// tried: at least one attempt was sent; lastTarget and reason describe
	// the last failed one (reason: pkg/metrics Reason*).
	tried      bool
	lastTarget gateway.Target
	reason     string
}

// failover sends the request to the planned backends in order within
// 1+retry_count attempts and the request deadline. A backend that failed
// (connect error, 5xx, 429, per-attempt timeout) is not tried again within
// the request, even for another model; each failure and success feeds the
// shared outlier detection. While another backend remains, an attempt whose
// first byte does not come within attemptTimeout is cancelled and failed
// over; the last attempt has the rest of the request deadline.
func (s *Server) failover(ctx context.Context, r *http.Request, x *gateway.Exchange, fwd *gateway.Forward) outcome {
	var o outcome
	attempts := 1 + max(fwd.Targets[0].Model.RetryCount, 0)
	perTry := attemptTimeout(ctx, attempts)
	var planBuf [8]candidate
	plan := s.plan(planBuf[:0], fwd.Targets, s.now())
	var failedBuf [4]endpointAddr
	failed := failedBuf[:0]
	bodyTarget, body := 0, fwd.Body
	var bodyErr error
	for i := 0; i < len(plan) && attempts > 0 && ctx.Err() == nil; i++ {
		c := plan[i]
		if hasAddr(failed, addrOf(c.b)) {
			continue
		}
		t := fwd.Targets[c.target]
		if c.target != bodyTarget {
			bodyTarget, body, bodyErr = c.target, fwd.Body, nil
			if c.target > 0 {
				body, _, bodyErr = x.BodyFor(t)
			}
		}
		if bodyErr != nil {
			o.err = bodyErr
			continue
		}
		attempts--
		limit := time.Duration(0)
		if attempts > 0 && nextCandidate(plan[i+1:], failed, addrOf(c.b)) {
			limit = perTry
		}
		a := s.attempt(ctx, r, x, fwd, t.Model, c.b, body, limit)
		o.tried = true
		switch {
		case a.err != nil && errors.Is(ctx.Err(), context.Canceled):
			o.err = a.err // the client went away: nobody to blame
			return o
		case a.err != nil:
			s.attemptFailed(&o, t, c.b, a.reason)
			o.err = a.err
			s.log.Warn("backend attempt", slog.String("model", t.Model.Name), slog.String("backend", c.b.Name),
				slog.String("reason", a.reason), slog.Any("error", a.err))
		case a.fail != nil:
			a.fail.target = t
			o.last = a.fail
			s.attemptFailed(&o, t, c.b, a.reason)
			s.log.Warn("backend attempt", slog.String("model", t.Model.Name), slog.String("backend", c.b.Name),
				slog.Int("status", a.fail.status))
		default:
			s.health.success(t.Model, c.b)
			o.resp, o.first, o.done, o.target = a.resp, a.first, a.done, t
			return o
		}
		failed = append(failed, addrOf(c.b))
	}
	if o.tried && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		o.reason = metrics.ReasonTimeout
	}
	if o.last != nil {
		// The relayed answer decides the reason and the model.
		o.lastTarget, o.reason = o.last.target, metrics.ReasonUpstream5xx
		if o.last.status < 500 {
			o.reason = metrics.ReasonUpstream4xx
		}
	}
	return o
}

// attemptFailed records a failed attempt of t on b: the outlier detection (a 429
// is an answer, not a sick backend), the attempt series, and o's last
// failure.
func (s *Server) attemptFailed(o *outcome, t gateway.Target, b *routes.Backend, reason string) {
	if reason != metrics.ReasonUpstream4xx {
		s.health.failure(t.Model, b)
	}
	s.health.obs.UpstreamAttemptFailed(t.Model.Name, b.Name, reason)
	o.lastTarget, o.reason = t, reason
}

func hasAddr(as []endpointAddr, a endpointAddr) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

// nextCandidate reports whether rest holds a backend not failed yet (the
// current one, cur, counts as failed).
func nextCandidate(rest []candidate, failed []endpointAddr, cur endpointAddr) bool {
	for _, c := range rest {
		if a := addrOf(c.b); a != cur && !hasAddr(failed, a) {
			return true
		}
	}
	return false
}

// attemptResult is one upstream attempt: a response to relay (resp,
// first, done), a retryable answer (fail), or an error; reason classifies
// a failure.
type attemptResult struct {
	resp   *http.Response
	first  []byte
	done   func()
	fail   *failed
	err    error
	reason string
}

// attempt sends one upstream request. For a 2xx/4xx answer it reads the
// first body bytes before returning, so that a stream that dies before its
// first byte is still retried; a read error there counts as a failed
// attempt. With limit > 0 the answer's first byte must come within limit,
// else the attempt is cancelled and fails with errFirstByteTimeout; once
// it came, only the request deadline applies.
func (s *Server) attempt(ctx context.Context, in *http.Request, x *gateway.Exchange, fwd *gateway.Forward, m *routes.Model, b *routes.Backend, body []byte, limit time.Duration) attemptResult {
	// The call's URL, body and translation (upstream.go: api_version,
	// api_format anthropic); a request the model's API cannot express is
	// answered like a 4xx of the backend.
	call, cerr := upstreamCall{}, (*chatreq.APIError)(nil)
	if ep := x.Endpoint(); ep != gateway.EndpointChat {
		call = endpointCall(b, body, ep) // endpoints.go: completions, embeddings
	} else {
		call, cerr = prepareCall(m, b, body)
	}
	if cerr != nil {
		return attemptResult{fail: &failed{status: cerr.Status, header: http.Header{"Content-Type": {"application/json"}}, body: cerr.Body()},
			reason: metrics.ReasonUpstream4xx}
	}
	body = call.body
	actx, cancel := context.WithCancelCause(ctx)
	stop := func() bool { return true }
	if limit > 0 {
		stop = s.afterFunc(limit, func() { cancel(errFirstByteTimeout) })
	}
	fail := func(err error) attemptResult {
		stop()
		cancel(nil)
		return attemptResult{err: err, reason: classify(ctx, actx, err)}
	}
	req, err := http.NewRequestWithContext(actx, http.MethodPost, call.url, bytes.NewReader(body))
	if err != nil {
		return fail(fmt.Errorf("build request for %s: %w", b.Name, err))
	}
	s.upstreamHeaders(req.Header, in.Header, fwd, call.backend)
	call.setHeaders(req.Header)
	x.InjectTrace(ctx, req.Header)
	req.ContentLength = int64(len(body))
	resp, err := s.client.Do(req)
	if err != nil {
		return fail(fmt.Errorf("send to %s: %w", b.Name, err))
	}
	call.translate(resp, s.now())
	if retryable(resp.StatusCode) {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		stop()
		cancel(nil)
		reason := metrics.ReasonUpstream5xx
		if resp.StatusCode < 500 {
			reason = metrics.ReasonUpstream4xx
		}
		return attemptResult{fail: &failed{status: resp.StatusCode, header: resp.Header, body: data}, reason: reason}
	}
	buf := make([]byte, 32<<10)
	n, err := resp.Body.Read(buf)
	if !stop() {
		resp.Body.Close()
		return fail(fmt.Errorf("read first bytes from %s: %w", b.Name, errFirstByteTimeout))
	}
	if err != nil && !errors.Is(err, io.EOF) && n == 0 {
		resp.Body.Close()
		return fail(fmt.Errorf("read first bytes from %s: %w", b.Name, err))
	}
	if errors.Is(err, io.EOF) {
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(nil))
	}
	return attemptResult{resp: resp, first: buf[:n], done: func() { cancel(nil) }}
}

// classify names a failed attempt for the metrics: the per-attempt or the
// request deadline → timeout; anything else (connection refused or reset,
// DNS, TLS, a body cut before its first byte) → upstream_unreachable.
func classify(ctx, actx context.Context, err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errFirstByteTimeout), errors.Is(context.Cause(actx), errFirstByteTimeout),
		errors.Is(ctx.Err(), context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return metrics.ReasonTimeout
	}
	return metrics.ReasonUpstreamFailed
}
