package responses

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

// Path is the Responses API endpoint.
const Path = "/v1/responses"

// StoreTimeout bounds one store operation.
const StoreTimeout = 5 * time.Second

// Stores keeps the store across config revisions: a new one is opened
// only when the settings change. The zero value is ready to use.
type Stores struct {
	mu    sync.Mutex
	cfg   StoreConfig
	store Store
}

// Get returns the store for cfg.
func (m *Stores) Get(cfg StoreConfig, now func() time.Time) (Store, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.store != nil && reflect.DeepEqual(m.cfg, cfg) {
		return m.store, nil
	}
	st, err := Open(cfg, now)
	if err != nil {
		return nil, err
	}
	if c, ok := m.store.(io.Closer); ok {
		_ = c.Close()
	}
	m.cfg, m.store = cfg, st
	return st, nil
}

// Close closes the store.
func (m *Stores) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.store.(io.Closer); ok {
		_ = c.Close()
	}
	m.store = nil
}

// Route is what a request path under Path asks for.
type Route struct {
	// Create: POST /v1/responses.
	Create bool
	// ID and Sub: /v1/responses/{ID}[/{Sub}].
	ID, Sub string
}

// ParseRoute reports whether path is Path or below it (query removed).
func ParseRoute(path string) (Route, bool) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	rest, ok := strings.CutPrefix(path, Path)
	if !ok || rest != "" && rest[0] != '/' {
		return Route{}, false
	}
	id, sub, _ := strings.Cut(strings.Trim(rest, "/"), "/")
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	return Route{Create: id == "", ID: id, Sub: sub}, true
}

// Answer is a complete HTTP answer (JSON body).
type Answer struct {
	Status int
	Body   []byte
	// Allow is set on a 405.
	Allow string
}

func errorAnswer(e *chatreq.APIError) Answer { return Answer{Status: e.Status, Body: e.Body()} }

// MethodAllowed returns the 405 answer when method does not fit rt (ok
// false), the Allow header naming the methods that do.
func (rt Route) MethodAllowed(method, path string) (Answer, bool) {
	allow := "GET, HEAD"
	switch {
	case !rt.Create && rt.Sub != "" && rt.Sub != "input_items":
		return Answer{}, true // Serve answers the unknown path
	case rt.Create:
		allow = http.MethodPost
	case rt.Sub == "":
		allow = "GET, HEAD, DELETE"
	}
	if slices.Contains(strings.Split(allow, ", "), method) {
		return Answer{}, true
	}
	a := errorAnswer(chatreq.MethodNotAllowed(method, path))
	a.Allow = allow
	return a, false
}

// Endpoints answers the stored-response endpoints over a store.
type Endpoints struct {
	Store Store
	Log   *slog.Logger
}

// NotFound is the 404 for an id the caller has no stored response for.
func NotFound(id, param string) *chatreq.APIError {
	return &chatreq.APIError{Status: http.StatusNotFound, Type: chatreq.TypeInvalidRequest, Param: param,
		Code: "not_found", Message: "no response with id " + strconv.Quote(id) + " (it expired, was deleted, or was never stored)"}
}

// Unavailable is the 503 of a store that cannot be reached.
func Unavailable() *chatreq.APIError {
	return &chatreq.APIError{Status: http.StatusServiceUnavailable, Type: chatreq.TypeServer, Code: "store_unavailable",
		Message: "the response store could not be reached; try again later"}
}

func storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), StoreTimeout)
}

// Lookup reads the stored response id of owner; the error names param.
func (e Endpoints) Lookup(ctx context.Context, owner, id, param string) (*Record, *chatreq.APIError) {
	sctx, cancel := storeCtx(ctx)
	rec, err := e.Store.Get(sctx, owner, id)
	cancel()
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, NotFound(id, param)
	case err != nil:
		e.Log.WarnContext(ctx, "response store", slog.Any("error", err))
		return nil, Unavailable()
	}
	return rec, nil
}

// Save stores a finished response (a failure is logged: the client still
// gets its answer).
func (e Endpoints) Save(ctx context.Context, rec *Record) {
	sctx, cancel := storeCtx(ctx)
	err := e.Store.Put(sctx, rec)
	cancel()
	if err != nil {
		e.Log.WarnContext(ctx, "store response", slog.String("id", rec.Response.ID), slog.Any("error", err))
	}
}

// Serve answers GET and DELETE /v1/responses/{id} and GET
// /v1/responses/{id}/input_items for owner (rt is not a create).
func (e Endpoints) Serve(ctx context.Context, method string, rt Route, query url.Values, owner string) Answer {
	switch {
	case rt.Sub == "input_items":
		return e.inputItems(ctx, rt.ID, query, owner)
	case rt.Sub != "":
		return errorAnswer(chatreq.UnknownPath(method, Path+"/"+rt.ID+"/"+rt.Sub))
	case method == http.MethodDelete:
		sctx, cancel := storeCtx(ctx)
		err := e.Store.Delete(sctx, owner, rt.ID)
		cancel()
		switch {
		case errors.Is(err, ErrNotFound):
			return errorAnswer(NotFound(rt.ID, ""))
		case err != nil:
			e.Log.WarnContext(ctx, "response store", slog.Any("error", err))
			return errorAnswer(Unavailable())
		}
		return jsonAnswer(deleted{ID: rt.ID, Object: "response.deleted", Deleted: true})
	}
	rec, aerr := e.Lookup(ctx, owner, rt.ID, "")
	if aerr != nil {
		return errorAnswer(aerr)
	}
	return jsonAnswer(rec.Response)
}

type deleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// itemList is the answer of GET /v1/responses/{id}/input_items.
type itemList struct {
	Object  string  `json:"object"`
	Data    []Item  `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
}

// inputItems lists the items the response was generated from (the
// conversation of previous_response_id, then its own input), newest first
// unless order=asc, limit (1-100, default 20) after the item id after.
func (e Endpoints) inputItems(ctx context.Context, id string, q url.Values, owner string) Answer {
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return errorAnswer(chatreq.BadRequest("limit", "invalid_value", "limit must be an integer from 1 to 100"))
		}
		limit = n
	}
	order := q.Get("order")
	if order != "" && order != "asc" && order != "desc" {
		return errorAnswer(chatreq.BadRequest("order", "invalid_value", "order must be asc or desc"))
	}
	rec, aerr := e.Lookup(ctx, owner, id, "")
	if aerr != nil {
		return errorAnswer(aerr)
	}
	items := make([]Item, 0, len(rec.History)+len(rec.Input))
	items = append(append(items, rec.History...), rec.Input...)
	if order != "asc" {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	if after := q.Get("after"); after != "" {
		k := -1
		for i := range items {
			if items[i].ID == after {
				k = i
				break
			}
		}
		if k < 0 {
			return errorAnswer(chatreq.BadRequest("after", "invalid_value", "no input item "+strconv.Quote(after)+" in this response"))
		}
		items = items[k+1:]
	}
	out := itemList{Object: "list", Data: items}
	if len(items) > limit {
		out.Data, out.HasMore = items[:limit], true
	}
	if n := len(out.Data); n > 0 {
		first, last := out.Data[0].ID, out.Data[n-1].ID
		out.FirstID, out.LastID = &first, &last
	}
	return jsonAnswer(out)
}

func jsonAnswer(v any) Answer {
	b, err := json.Marshal(v)
	if err != nil {
		return errorAnswer(&chatreq.APIError{Status: http.StatusInternalServerError, Type: chatreq.TypeServer, Code: "internal", Message: "encode response"})
	}
	return Answer{Status: http.StatusOK, Body: b}
}

// Prepare parses a create body for owner and resolves its
// previous_response_id: the request, the conversation before it, the
// chat completion body, and the Response to fill.
func (e Endpoints) Prepare(ctx context.Context, body []byte, owner string, newID IDFunc, now time.Time) (*Call, *chatreq.APIError) {
	req, aerr := ParseRequest(body, newID)
	if aerr != nil {
		return nil, aerr
	}
	c := &Call{Req: req, Owner: owner}
	if req.PreviousResponseID != "" {
		prev, aerr := e.Lookup(ctx, owner, req.PreviousResponseID, "previous_response_id")
		if aerr != nil {
			return nil, aerr
		}
		c.History = prev.Conversation()
		c.Conversation = prev.ChainID()
	}
	chat, err := req.ChatBody(c.History)
	if err != nil {
		var ae *chatreq.APIError
		if !errors.As(err, &ae) {
			ae = chatreq.BadRequest("input", "invalid_input", "the input could not be translated: "+err.Error())
		}
		return nil, ae
	}
	c.Chat = chat
	c.Resp = NewResponse(req, newID("resp"), now.Unix())
	if c.Conversation == "" {
		c.Conversation = c.Resp.ID // a new conversation, named by its first response
	}
	return c, nil
}

// Call is one create in flight.
type Call struct {
	Req     *Request
	Owner   string
	History []Item
	// Chat is the chat completion request body.
	Chat []byte
	// Resp is the Response being built.
	Resp *Response
	// Conversation is the conversation the call belongs to: the one of
	// previous_response_id, else this response's id (Record.ConversationID).
	Conversation string
}

// Record is what Save keeps for the finished response final.
func (c *Call) Record(final *Response) *Record {
	return &Record{Owner: c.Owner, Response: final, Input: c.Req.Input, History: c.History, ConversationID: c.Conversation}
}
