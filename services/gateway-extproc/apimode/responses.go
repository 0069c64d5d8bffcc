package apimode

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/propagation"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/responses"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// PathResponses is the OpenAI Responses API: POST creates a response
// through the chat-completions path (routing, plugins, cache, failover
// and metrics apply unchanged), GET and DELETE /v1/responses/{id} and GET
// /v1/responses/{id}/input_items read the store
// (global.services.response_api).
const PathResponses = responses.Path

// ResponseStores is the Responses API store holder, for an ext_proc
// server of the same process to share (extproc.WithResponseStores).
func (s *Server) ResponseStores() *responses.Stores { return s.respStores }

// newResponseID returns prefix_ and 48 random hex digits.
func newResponseID(prefix string) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return prefix + "_" + hex.EncodeToString(b[:])
}

// serveResponses answers PathResponses and below; false when the path is
// another or the Responses API is off (enabled: false), which leaves the
// gateway's 404 unsupported_endpoint.
func (s *Server) serveResponses(ctx context.Context, w http.ResponseWriter, r *http.Request) bool {
	rt, ok := responses.ParseRoute(r.URL.Path)
	if !ok {
		return false
	}
	t := s.gw.Routes()
	if t.Responses.Disabled {
		return false
	}
	if a, ok := rt.MethodAllowed(r.Method, r.URL.Path); !ok {
		writeAnswer(w, a)
		return true
	}
	st, err := s.respStores.Get(t.Responses.Store, s.now)
	if err != nil {
		s.log.WarnContext(ctx, "open response store", "error", err)
		writeAPIError(w, responses.Unavailable())
		return true
	}
	ep := responses.Endpoints{Store: st, Log: s.log}
	owner := s.caller(r, t)
	if rt.Create {
		s.createResponse(ctx, w, r, t, ep, owner)
		return true
	}
	writeAnswer(w, ep.Serve(ctx, r.Method, rt, r.URL.Query(), owner))
	return true
}

// caller is the trusted user id (identity header from a trusted peer):
// stored responses are only served to the caller that created them.
func (s *Server) caller(r *http.Request, t *routes.Table) string {
	if !s.trusted.Contains(r.RemoteAddr) {
		return ""
	}
	return strings.TrimSpace(r.Header.Get(t.Identity.UserIDHeader))
}

func writeAnswer(w http.ResponseWriter, a responses.Answer) {
	h := []gateway.Header{{Name: "content-type", Value: "application/json"}, {Name: "cache-control", Value: "no-store"}}
	if a.Allow != "" {
		h = append(h, gateway.Header{Name: "allow", Value: a.Allow})
	}
	writeImmediate(w, &gateway.Immediate{Status: a.Status, Body: a.Body, Headers: h})
}

// createResponse translates the request to a chat completion, runs it
// through the chat path and translates the answer back; a stored
// response is saved before its last bytes reach the client.
func (s *Server) createResponse(ctx context.Context, w http.ResponseWriter, r *http.Request, t *routes.Table, ep responses.Endpoints, owner string) {
	bodyTaken := s.bindDeadlines(ctx, w)
	body, rerr := s.readBody(r, t.MaxBodyBytes)
	bodyTaken(rerr == nil)
	if rerr != nil {
		s.reject(ctx, w, r, rerr)
		return
	}
	call, aerr := ep.Prepare(ctx, body, owner, newResponseID, s.now())
	if aerr != nil {
		if aerr.Status == http.StatusBadRequest {
			s.reject(ctx, w, r, aerr)
		} else {
			writeAPIError(w, aerr)
		}
		return
	}
	cr := r.Clone(ctx)
	cr.URL.Path, cr.URL.RawPath = "/v1/chat/completions", ""
	cr.Body = io.NopCloser(bytes.NewReader(call.Chat))
	cr.ContentLength = int64(len(call.Chat))
	cr.Header.Del("Content-Encoding")
	cr.Header.Del("Content-Length")
	cr.Header.Set("Content-Type", "application/json")
	tw := newResponsesWriter(w, s.log, call.Resp, call.Req.Stream, newResponseID)
	s.serveChatIn(ctx, tw, cr, call.Conversation)
	final, write := tw.end()
	if final != nil && call.Req.Store {
		ep.Save(ctx, call.Record(final))
	}
	write()
}

// reject answers a request refused before translation through an
// exchange, so that it is traced and counted as a parse error
// (llm_request_errors_total) like a refused chat request.
func (s *Server) reject(ctx context.Context, w http.ResponseWriter, r *http.Request, e *chatreq.APIError) {
	x := s.gw.NewExchange()
	x.Begin(ctx, propagation.HeaderCarrier(r.Header))
	writeImmediate(w, x.Reject(e))
	x.End(e.Status)
}
