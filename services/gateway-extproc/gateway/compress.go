package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/compress"
)

// StageContextCompression is the degraded stage named when the
// context_compression plugin failed under failure_mode fail_open: the
// request then goes on unchanged.
const StageContextCompression = "context_compression"

// HeaderContextCompressed reports a compression that changed the request:
// "<before>-><after>" estimated prompt tokens.
const HeaderContextCompressed = "x-vsr-context-compressed"

// CodeContextCompressionFailed is the OpenAI error code of a request
// refused because compression failed under failure_mode fail_closed.
const CodeContextCompressionFailed = "context_compression_failed"

// compressContext runs the selected decision's context_compression plugin
// before the context-window filter, so that the filter (and every target's
// body) sees the compressed conversation. Its budgets derive from the
// first candidate's context window (compress.Policy.Budgets) and its token
// estimates are the filter's (EstimateTokens, perMessageTokens, tools and
// an injected system prompt counted as the filter counts them). A request
// control the plugin refuses is answered with a 400; any other error
// leaves the request unchanged (fail_open: degraded stage) or is answered
// with an error (fail_closed).
func (x *Exchange) compressContext(ctx context.Context) *Immediate {
	r := &x.routed
	d := r.cfgDecision
	if d == nil || d.Plugins.Compression == nil || !x.auto || r.target.Model == nil {
		return nil
	}
	p := d.Plugins.Compression
	ctl, err := p.ControlFrom(x.hdr)
	if err != nil {
		var ce *compress.ControlError
		errors.As(err, &ce)
		return x.compressError(&chatreq.APIError{Status: http.StatusBadRequest, Type: chatreq.TypeInvalidRequest,
			Param: ce.Header, Code: "invalid_compression_control", Message: err.Error()})
	}
	if ctl.Bypass {
		return nil
	}
	res, err := x.runCompression(ctx, p, ctl)
	if err == nil && res.Changed {
		var req *chatreq.Request
		req, err = chatreq.Parse(res.Body)
		if err == nil {
			if x.responseCachePlugin() != nil {
				// Cache keys stay those of the request the client sent.
				x.fingerprints()
			}
			if x.clientReq == nil {
				x.clientReq = x.req
			}
			x.req = req
			r.compressed = strconv.Itoa(res.Before) + "->" + strconv.Itoa(res.After)
			x.g.log.Debug("context compressed", slog.String("decision", d.Name),
				slog.Int("before_tokens", res.Before), slog.Int("after_tokens", res.After),
				slog.Int("tool_outputs", res.ToolOutputs), slog.Int("dropped_messages", res.Dropped))
			return nil
		}
		err = fmt.Errorf("parse the compressed body: %w", err)
	}
	if err == nil {
		return nil
	}
	if !p.FailClosed() {
		x.degrade(StageContextCompression, err)
		return nil
	}
	x.g.log.Warn("context compression failed", slog.String("decision", d.Name), slog.Any("error", err))
	e := &chatreq.APIError{Status: http.StatusInternalServerError, Type: chatreq.TypeServer,
		Code: CodeContextCompressionFailed, Message: "context compression failed: " + err.Error()}
	if errors.Is(err, compress.ErrNoRoom) {
		e.Status, e.Type, e.Param = http.StatusBadRequest, chatreq.TypeInvalidRequest, "max_tokens"
	}
	return x.compressError(e)
}

// runCompression resolves the budgets and compresses the body, turning a
// panic into an error so that fail_open holds for every failure.
func (x *Exchange) runCompression(ctx context.Context, p *compress.Policy, ctl compress.Control) (res compress.Result, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("compress: panic: %v", v)
		}
	}()
	need := x.contextNeed()
	b, ok, err := p.Budgets(x.routed.target.Model.ContextWindow, need.completion, ctl)
	if err != nil || !ok || need.prompt <= b.Trigger {
		return compress.Result{}, err
	}
	overhead := need.prompt
	for i := range x.req.Messages {
		overhead -= perMessageTokens + EstimateTokens(x.req.Messages[i].Text)
	}
	ctx, cancel := context.WithTimeout(ctx, x.t.StageTimeout)
	defer cancel()
	return p.Apply(ctx, x.req.Raw(), overhead, b, compress.Sizer{Text: EstimateTokens, PerMessage: perMessageTokens})
}

func (x *Exchange) compressError(e *chatreq.APIError) *Immediate {
	x.routed.path = PathRejected
	imm := errorResponse(e)
	imm.Headers = x.appendRouteHeaders(imm.Headers)
	return imm
}

// appendCompressHeader adds x-vsr-context-compressed when compression
// changed the request.
func (x *Exchange) appendCompressHeader(h []Header) []Header {
	if c := x.routed.compressed; c != "" {
		h = append(h, Header{HeaderContextCompressed, c})
	}
	return h
}
