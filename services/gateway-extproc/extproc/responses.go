package extproc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/responses"
	"github.com/semrouter/semrouter/services/gateway-extproc/sse"
)

// chatPath is where a translated Responses create goes upstream.
const chatPath = "/v1/chat/completions"

// maxResponsesBody caps a JSON answer gathered for translation.
const maxResponsesBody = 16 << 20

// WithResponseStores shares the Responses API store holder (API mode's,
// in one process) instead of the server's own.
func WithResponseStores(st *responses.Stores) Option { return func(s *Server) { s.respStores = st } }

func newResponseID(prefix string) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}

// responsesCall translates one POST /v1/responses behind Envoy: the
// request body becomes a chat completion request (with :path
// /v1/chat/completions) that the gateway routes as any chat request; the
// chat answer (upstream or immediate) becomes the Response or the
// Responses event stream, stored before its last bytes go out. Envoy's
// filter must allow response body mutation (as for the response cache).
type responsesCall struct {
	ep    responses.Endpoints
	owner string
	call  *responses.Call

	status int
	sse    bool // the answer is a 2xx SSE stream, translated by st
	st     *responses.Streamer
	start  []byte // the stream's opening events, sent with the first chunk
	body   []byte // a JSON answer gathered so far
}

// responsesHeaders answers the Responses endpoints at request headers:
// reads from the store at once, a create is set up (the chat exchange
// starts; the body is translated when it arrives).
func (st *stream) responsesHeaders(ctx context.Context, rt responses.Route, method string, get func(string) string, eos bool) *extprocv3.ProcessingResponse {
	t := st.x.Table()
	if a, ok := rt.MethodAllowed(method, st.path); !ok {
		return immediate(answer(a))
	}
	store, err := st.s.respStores.Get(t.Responses.Store, time.Now)
	if err != nil {
		st.s.log.WarnContext(ctx, "open response store", slog.Any("error", err))
		return immediate(errorImmediate(responses.Unavailable()))
	}
	ep := responses.Endpoints{Store: store, Log: st.s.log}
	// Envoy is the trusted peer: the identity header it passes names the
	// caller.
	owner := strings.TrimSpace(get(t.Identity.UserIDHeader))
	if !rt.Create {
		var q url.Values
		if _, rawQuery, ok := strings.Cut(st.path, "?"); ok {
			q, _ = url.ParseQuery(rawQuery)
		}
		return immediate(answer(ep.Serve(ctx, method, rt, q, owner)))
	}
	st.path = chatPath
	st.kind, _ = st.x.RequestHeaders(http.MethodPost, chatPath, get)
	st.rc = &responsesCall{ep: ep, owner: owner}
	if eos {
		return immediate(st.rc.prepare(ctx, st, nil))
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
		RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{}}}}
}

func answer(a responses.Answer) *gateway.Immediate {
	imm := &gateway.Immediate{Status: a.Status, Body: a.Body,
		Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}, {Name: "cache-control", Value: "no-store"}}}
	if a.Allow != "" {
		imm.Headers = append(imm.Headers, gateway.Header{Name: "allow", Value: a.Allow})
	}
	return imm
}

func errorImmediate(e *chatreq.APIError) *gateway.Immediate {
	return &gateway.Immediate{Status: e.Status, Body: e.Body(), Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}}}
}

// prepare parses the create body and resolves previous_response_id: the
// chat body goes on (nil immediate), or the refusal is answered (a 400
// counts as a parse error).
func (c *responsesCall) prepare(ctx context.Context, st *stream, body []byte) *gateway.Immediate {
	call, aerr := c.ep.Prepare(ctx, body, c.owner, newResponseID, time.Now())
	if aerr != nil {
		if aerr.Status == http.StatusBadRequest {
			return st.x.Reject(aerr)
		}
		return errorImmediate(aerr)
	}
	c.call = call
	return nil
}

// requestMutation makes sure the translated request goes to the chat
// path as JSON.
func (c *responsesCall) requestMutation(hm *extprocv3.HeaderMutation) {
	hasPath := false
	for _, h := range hm.SetHeaders {
		if h.GetHeader().GetKey() == ":path" {
			hasPath = true
		}
	}
	if !hasPath {
		hm.SetHeaders = append(hm.SetHeaders, headerOption(":path", chatPath))
	}
	hm.SetHeaders = append(hm.SetHeaders, headerOption("content-type", "application/json"))
	hm.RemoveHeaders = append(hm.RemoveHeaders, "content-encoding")
}

// immediate translates an answer the gateway produced itself (cache hit,
// fast response: chat JSON or an SSE replay; errors keep their OpenAI
// envelope).
func (c *responsesCall) immediate(ctx context.Context, imm *gateway.Immediate) *gateway.Immediate {
	if imm.Status/100 != 2 || c.call == nil {
		return imm
	}
	ctype := "application/json"
	for _, h := range imm.Headers {
		if strings.EqualFold(h.Name, "content-type") {
			ctype = h.Value
		}
	}
	c.responseHeaders(imm.Status, ctype)
	out := c.responseBody(ctx, imm.Body, true)
	headers := make([]gateway.Header, 0, len(imm.Headers))
	for _, h := range imm.Headers {
		if !strings.EqualFold(h.Name, "content-type") && !strings.EqualFold(h.Name, "content-length") {
			headers = append(headers, h)
		}
	}
	ct := "application/json"
	if c.sse {
		ct = "text/event-stream"
	}
	return &gateway.Immediate{Status: c.status, Body: out, Headers: append(headers, gateway.Header{Name: "content-type", Value: ct})}
}

// responseHeaders notes the chat answer's status and type; it returns the
// content type the client gets.
func (c *responsesCall) responseHeaders(code int, ctype string) string {
	c.status = code
	if code/100 == 2 && c.call.Req.Stream {
		c.sse = true
		c.st = responses.NewStreamer(c.call.Resp, newResponseID)
		c.start = c.st.Start()
		if !strings.HasPrefix(strings.ToLower(ctype), "text/event-stream") {
			// a whole JSON answer to a stream request is replayed
			c.sse = false
		}
		return "text/event-stream"
	}
	return "application/json"
}

// responseBody translates the next chat answer chunk (end: the last); the
// result replaces it.
func (c *responsesCall) responseBody(ctx context.Context, chunk []byte, end bool) []byte {
	if c.sse {
		out := append(c.start, c.st.Write(chunk)...)
		c.start = nil
		if end {
			out = append(out, c.finish(ctx, c.st.Response(), true)...)
		}
		return out
	}
	if len(c.body)+len(chunk) > maxResponsesBody {
		c.body = nil
		return chatreq.Upstream("upstream response too large to translate").Body()
	}
	c.body = append(c.body, chunk...)
	if !end {
		return []byte{}
	}
	if c.status/100 != 2 {
		return responses.UpstreamError(c.status, c.body).Body()
	}
	if c.st != nil { // a stream was asked for: replay the JSON answer
		chunks, err := sse.Replay(c.body, true)
		if err != nil {
			return invalidAnswer()
		}
		out := append(c.start, c.st.Write(chunks)...)
		c.start = nil
		return append(out, c.finish(ctx, c.st.Response(), false)...)
	}
	if err := c.call.Resp.CompleteFromChat(c.body, newResponseID); err != nil {
		return invalidAnswer()
	}
	b, err := json.Marshal(c.call.Resp)
	if err != nil {
		return invalidAnswer()
	}
	c.save(ctx, c.call.Resp)
	return b
}

// finish closes the stream and stores the response before the terminal
// events go out.
func (c *responsesCall) finish(ctx context.Context, resp *responses.Response, cut bool) []byte {
	tail := c.st.Close(cut)
	c.save(ctx, resp)
	return tail
}

func (c *responsesCall) save(ctx context.Context, resp *responses.Response) {
	if c.call.Req.Store {
		c.ep.Save(ctx, c.call.Record(resp))
	}
}

func invalidAnswer() []byte {
	return (&chatreq.APIError{Status: http.StatusBadGateway, Type: chatreq.TypeServer, Code: "invalid_upstream_response",
		Message: "the model server answered with an invalid chat completion"}).Body()
}
