package extproc

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/semrouter/semrouter/services/gateway-extproc/anthropic"
	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// anthropicCall translates one request routed to an api_format anthropic
// model behind Envoy: the request body on the way up (translateRequest,
// with :path, x-api-key and anthropic-version set by requestMutation), the
// response headers (status 529 → 503, content-length dropped) and the
// response body: a JSON message or error is gathered (chunks are held
// back) and replaced whole at its end; an SSE stream is translated chunk
// by chunk. Envoy's ext_proc filter must allow response body mutation
// (response_body_mode BUFFERED or STREAMED, as for the response cache).
type anthropicCall struct {
	ax  *anthropic.Exchange
	log *slog.Logger
	now func() time.Time

	status int  // upstream status
	sse    bool // the answer is an SSE stream
	stream *anthropic.Stream
	body   []byte // a JSON answer gathered so far
	failed bool   // the answer could not be translated
}

// translateRequest translates fwd's body when its selected model speaks
// the Anthropic Messages API; a request that API cannot express is
// answered with a 400.
func (st *stream) translateRequest(fwd *gateway.Forward) *gateway.Immediate {
	m := selectedModel(fwd)
	if !m.Anthropic() {
		return nil
	}
	ax, err := anthropic.ConvertRequest(fwd.Body, 0)
	if err != nil {
		var ae *chatreq.APIError
		if !errors.As(err, &ae) {
			ae = chatreq.BadRequest("", "invalid_request", err.Error())
		}
		return st.x.Reject(ae)
	}
	fwd.Body, fwd.BodyChanged = ax.Body, true
	st.ac = &anthropicCall{ax: ax, log: st.s.log, now: time.Now}
	return nil
}

// responseHeaders notes the upstream status and content type and returns
// what the client is told instead, with the header edits that go with it.
func (c *anthropicCall) responseHeaders(code int, ctype string) (int, string, *extprocv3.HeaderMutation) {
	c.status = code
	hm := &extprocv3.HeaderMutation{RemoveHeaders: []string{"content-length"}}
	if code >= 400 {
		status, _ := anthropic.ConvertError(code, nil)
		if status != code {
			hm.SetHeaders = append(hm.SetHeaders, headerOption(":status", strconv.Itoa(status)))
		}
		hm.SetHeaders = append(hm.SetHeaders, headerOption("content-type", "application/json"))
		return status, "application/json", hm
	}
	if strings.HasPrefix(strings.ToLower(ctype), "text/event-stream") {
		c.sse = true
		c.stream = anthropic.NewStream(c.ax.Model, c.ax.IncludeUsage, c.now())
		return code, ctype, hm
	}
	hm.SetHeaders = append(hm.SetHeaders, headerOption("content-type", "application/json"))
	return code, "application/json", hm
}

// responseBody translates the next upstream body chunk; end marks the
// last one. The result replaces the chunk (empty: held back).
func (c *anthropicCall) responseBody(chunk []byte, end bool) []byte {
	if c.failed {
		return nil
	}
	if c.sse {
		err := c.stream.Write(chunk)
		if err == nil && end {
			err = c.stream.Finish()
		}
		out := c.stream.Take()
		if err != nil {
			c.failed = true
			c.log.Warn("anthropic stream translation", slog.Any("error", err))
			e := &chatreq.APIError{Status: http.StatusBadGateway, Type: chatreq.TypeServer, Code: "upstream_stream_cut",
				Message: "upstream stream ended unexpectedly"}
			out = append(out, "data: "...)
			out = append(out, e.Body()...)
			out = append(out, "\n\n"...)
		}
		return out
	}
	if len(c.body)+len(chunk) > anthropic.MaxBody {
		c.failed = true
		return chatreq.Upstream("upstream response too large to translate").Body()
	}
	c.body = append(c.body, chunk...)
	if !end {
		return []byte{}
	}
	if c.status >= 400 {
		_, out := anthropic.ConvertError(c.status, c.body)
		return out
	}
	out, err := anthropic.ConvertResponse(c.body, c.ax.Model, c.now())
	if err != nil {
		// The status line already went out: the client gets an error
		// body under it.
		c.log.Warn("anthropic response translation", slog.Any("error", err))
		return chatreq.Upstream("upstream answered with a body that is not an Anthropic message").Body()
	}
	return out
}
