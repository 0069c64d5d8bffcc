package apimode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/looper"
	"github.com/semrouter/semrouter/services/gateway-extproc/sse"
)

// Response headers of a request answered by a looper algorithm.
const (
	// HeaderLooperModels lists the models called, in call order.
	HeaderLooperModels = "x-vsr-looper-models"
	// HeaderLooperAlgorithm names the algorithm that ran.
	HeaderLooperAlgorithm = "x-vsr-looper-algorithm"
	// HeaderLooperConfidence is the confidence (confidence) or
	// verification score (automix) of the served answer.
	HeaderLooperConfidence = "x-vsr-looper-confidence"
)

// maxLooperBody caps a sub-call's answer.
const maxLooperBody = 16 << 20

// looperPlan is the looper plan of the request's decision (nil: the
// request is proxied as usual).
func (s *Server) looperPlan(x *gateway.Exchange) *looper.Plan {
	d := x.RoutedDecision()
	if d == nil || !looper.Handles(d.Algorithm) {
		return nil
	}
	t := x.Table()
	price := func(name string) float64 {
		if m, ok := t.Model(name); ok {
			return m.Price
		}
		return 0
	}
	// Only the modelRefs that can take the request: the modality and
	// context-window filters dropped the others from the targets, and a
	// sub-call must not go to them either.
	refs := make([]looper.Candidate, 0, len(d.ModelRefs))
	for _, ref := range d.ModelRefs {
		if m, ok := t.Model(ref.Model); ok && x.Fits(m) {
			refs = append(refs, looper.Candidate{Name: m.Name, Price: m.Price})
		}
	}
	if len(refs) == 0 && len(d.ModelRefs) > 0 {
		// No modelRef can take the request: it goes to the remaining
		// targets (the default model) as a plain request.
		return nil
	}
	p, _ := looper.NewPlan(d.Algorithm, refs, price)
	return p
}

// loop answers the request with the plan: each sub-call goes through
// failover (credentials, api_version, Anthropic translation, failover and
// outlier ejection apply), non-streaming; the served answer is relayed as
// JSON, or as an SSE stream when the client asked for one. A ratings
// answer (one choice per model) is served and cached like any other: the
// cache keeps it in the decision's partition and serves it only to a
// request routed by the same decision; a streamed one is not cached (the
// stream reassembler keeps single-choice completions only).
func (s *Server) loop(ctx context.Context, w http.ResponseWriter, r *http.Request, x *gateway.Exchange, fwd *gateway.Forward, p *looper.Plan) (cut bool) {
	c := &subCaller{s: s, r: r, x: x, fwd: fwd}
	obs, _ := s.obs.(looper.Observer)
	x.LooperRan(p.Algorithm(), nil) // the routed model, before any sub-call
	res := p.Run(ctx, c, obs, s.log)
	x.LooperRan(p.Algorithm(), res.Called)
	if errors.Is(ctx.Err(), context.Canceled) {
		x.ClientGone()
		return false
	}
	h := http.Header{}
	h.Set(HeaderLooperAlgorithm, p.Algorithm())
	h.Set(HeaderLooperModels, strings.Join(res.Called, ","))
	if res.Err == nil {
		t := c.target(res.Model)
		x.UseTarget(t)
		if res.HasScore {
			h.Set(HeaderLooperConfidence, strconv.FormatFloat(res.Score, 'f', 4, 64))
		}
		body, ctype := res.Reply.Body, "application/json"
		if x.StreamRequested() {
			// The router's usage chunk is dropped for a client that did
			// not ask for it (gateway usageInjected), like a live stream.
			render := sse.Replay
			if p.Algorithm() == looper.Ratings {
				// every choice, each naming its model
				render = func(b []byte, usage bool) ([]byte, error) { return looper.AppendStream(nil, b, usage) }
			}
			if replay, err := render(body, true); err == nil {
				body, ctype = replay, "text/event-stream"
			}
		}
		h.Set("Content-Type", ctype)
		resp := &http.Response{StatusCode: res.Reply.Status, Header: h, Body: io.NopCloser(bytes.NewReader(nil))}
		// The served answer passes the response plugins like a proxied one.
		resp, body = s.screen(ctx, x, resp, body)
		resp, body = s.priceJSON(x, resp, body) // cost.go: the sub-calls' sum
		return s.relay(w, x, resp, body)
	}
	s.log.Warn("looper found no answer", slog.String("algorithm", p.Algorithm()), slog.Any("error", res.Err))
	last := c.target(lastOf(res.Called))
	if res.Reply.Status != 0 {
		reason := metrics.ReasonUpstream5xx
		if res.Reply.Status < 500 {
			reason = metrics.ReasonUpstream4xx
		}
		x.UseTarget(last)
		x.UpstreamFailed(last, reason)
		for k, vs := range res.Reply.Header {
			if _, set := h[k]; !set {
				h[k] = vs
			}
		}
		resp := &http.Response{StatusCode: res.Reply.Status, Header: h, Body: io.NopCloser(bytes.NewReader(nil))}
		return s.relay(w, x, resp, res.Reply.Body)
	}
	for k, vs := range h {
		w.Header()[k] = vs
	}
	if last.Model != nil {
		x.UpstreamFailed(last, metrics.ReasonUpstreamFailed)
	}
	if ctx.Err() != nil {
		s.writeError(w, x, &chatreq.APIError{Status: http.StatusGatewayTimeout, Message: "request deadline exceeded before the models of the decision answered",
			Type: chatreq.TypeServer, Code: "upstream_timeout"})
		return false
	}
	s.writeError(w, x, chatreq.Upstream("upstream unavailable"))
	return false
}

func lastOf(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[len(ss)-1]
}

// subCaller runs one looper sub-call through failover to one model.
type subCaller struct {
	s   *Server
	r   *http.Request
	x   *gateway.Exchange
	fwd *gateway.Forward
	mu  sync.Mutex // BodyFor is not meant for concurrent use
}

var (
	_ looper.Caller   = (*subCaller)(nil)
	_ looper.Observer = (*metrics.Gateway)(nil)
)

// target is the routed target of model (its reasoning settings), else the
// model with no reasoning settings.
func (c *subCaller) target(model string) gateway.Target {
	for _, t := range c.x.Targets() {
		if t.Model != nil && t.Model.Name == model {
			return t
		}
	}
	m, _ := c.x.Table().Model(model)
	return gateway.Target{Model: m}
}

// Call sends the request, as routed for model and changed by e, to
// model's backends with failover (that model only: the algorithm decides
// which model comes next).
func (c *subCaller) Call(ctx context.Context, model string, e looper.Edit) (looper.Reply, error) {
	t := c.target(model)
	if t.Model == nil {
		return looper.Reply{}, fmt.Errorf("model %q is not configured", model)
	}
	if !c.x.Fits(t.Model) {
		// A model the algorithm names itself (fusion model, analysis
		// models, synthesis model) that the filters rule out.
		return looper.Reply{}, fmt.Errorf("model %q cannot take this request (text-only model card or context window too small)", model)
	}
	c.mu.Lock()
	body, _, err := c.x.BodyFor(t)
	c.mu.Unlock()
	if err != nil {
		return looper.Reply{}, fmt.Errorf("render request for %s: %w", model, err)
	}
	if body, err = looper.Apply(body, e); err != nil {
		return looper.Reply{}, err
	}
	f := &gateway.Forward{Body: body, BodyChanged: true, Targets: []gateway.Target{t}, RemoveHeaders: c.fwd.RemoveHeaders}
	for _, h := range c.fwd.SetHeaders {
		if h.Name == "x-selected-model" {
			h.Value = t.Model.Name
		}
		f.SetHeaders = append(f.SetHeaders, h)
	}
	// In flight on its own model until its answer is read; recorded in
	// that model's windows (the run is not: gateway.WindowSubCall).
	endWindow := c.x.WindowSubCall(ctx, t.Model.Name)
	o := c.s.failover(ctx, c.r, c.x, f)
	if o.resp != nil {
		defer o.done()
		defer o.resp.Body.Close()
		rest, err := io.ReadAll(io.LimitReader(o.resp.Body, maxLooperBody))
		if err != nil {
			endWindow(0, nil)
			return looper.Reply{}, fmt.Errorf("read answer of %s: %w", model, err)
		}
		data := append(append(make([]byte, 0, len(o.first)+len(rest)), o.first...), rest...)
		endWindow(o.resp.StatusCode, data)
		c.x.LooperCallCost(t.Model, o.resp.StatusCode, data) // every sub-call is paid for
		return looper.Reply{Status: o.resp.StatusCode, Header: o.resp.Header, Body: data}, nil
	}
	if o.last != nil {
		endWindow(o.last.status, o.last.body)
		return looper.Reply{Status: o.last.status, Header: o.last.header, Body: o.last.body}, nil
	}
	endWindow(0, nil)
	if o.err == nil {
		o.err = ctx.Err()
	}
	if o.err == nil {
		o.err = errors.New("no backend answered")
	}
	return looper.Reply{}, fmt.Errorf("call %s: %w", model, o.err)
}
