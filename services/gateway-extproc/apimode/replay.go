package apimode

import (
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// Router replay endpoints (router_replay plugin records of this gateway,
// or of every gateway sharing global.services.router_replay's store).
const (
	PathRouterReplay = "/v1/router_replay"
	// EnvManagementToken holds the bearer token that opens the replay
	// endpoints to peers outside --trusted-proxies (the management API's
	// token).
	EnvManagementToken = "SEMROUTER_MANAGEMENT_TOKEN"
	// maxReplayList caps one listing.
	maxReplayList = 1000
)

// replayList is the body of GET /v1/router_replay.
type replayList struct {
	Object string                  `json:"object"`
	Data   []*gateway.ReplayRecord `json:"data"`
	Stats  gateway.ReplayStats     `json:"stats"`
}

// serveReplay answers the router_replay endpoints; it reports whether r
// was one. Only trusted peers (--trusted-proxies) and callers with the
// management token (Authorization: Bearer $SEMROUTER_MANAGEMENT_TOKEN)
// get records; others get 403.
func (s *Server) serveReplay(w http.ResponseWriter, r *http.Request) bool {
	id, ok := strings.CutPrefix(r.URL.Path, PathRouterReplay)
	if !ok || id != "" && id[0] != '/' {
		return false
	}
	id = strings.TrimPrefix(id, "/")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		imm := &gateway.Immediate{Status: http.StatusMethodNotAllowed, Body: chatreq.MethodNotAllowed(r.Method, r.URL.Path).Body(),
			Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}, {Name: "allow", Value: "GET, HEAD"}}}
		writeImmediate(w, imm)
		return true
	}
	if !s.replayAllowed(r) {
		writeAPIError(w, &chatreq.APIError{Status: http.StatusForbidden, Type: chatreq.TypeInvalidRequest, Code: "forbidden",
			Message: "router replay records are only served to trusted proxies or with the management token"})
		return true
	}
	rp := s.gw.ReplayStore()
	var body any
	if id == "" {
		q := r.URL.Query()
		limit := 100
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				writeAPIError(w, chatreq.BadRequest("limit", "invalid_value", "limit must be a positive integer"))
				return true
			}
			limit = min(n, maxReplayList)
		}
		recs, err := rp.List(r.Context(), gateway.ReplayFilter{Decision: q.Get("decision"), Limit: limit})
		var stats gateway.ReplayStats
		if err == nil {
			stats, err = rp.Stats(r.Context())
		}
		if err != nil {
			s.replayUnavailable(w, err)
			return true
		}
		if recs == nil {
			recs = []*gateway.ReplayRecord{}
		}
		body = replayList{Object: "list", Data: recs, Stats: stats}
	} else {
		rec, ok, err := rp.Get(r.Context(), id)
		if err != nil {
			s.replayUnavailable(w, err)
			return true
		}
		if !ok {
			writeAPIError(w, &chatreq.APIError{Status: http.StatusNotFound, Type: chatreq.TypeInvalidRequest, Code: "not_found",
				Message: "no router replay record " + strconv.Quote(id)})
			return true
		}
		body = rec
	}
	b, err := json.Marshal(body)
	if err != nil {
		writeAPIError(w, &chatreq.APIError{Status: http.StatusInternalServerError, Type: chatreq.TypeServer, Code: "internal", Message: "encode records"})
		return true
	}
	writeImmediate(w, &gateway.Immediate{Status: http.StatusOK, Body: b,
		Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}, {Name: "cache-control", Value: "no-store"}}})
	return true
}

// replayUnavailable answers 503 when the shared replay store cannot be
// read (global.services.router_replay).
func (s *Server) replayUnavailable(w http.ResponseWriter, err error) {
	s.log.Warn("router replay: read the store", slog.Any("error", err))
	writeAPIError(w, &chatreq.APIError{Status: http.StatusServiceUnavailable, Type: chatreq.TypeServer, Code: "replay_store_unavailable",
		Message: "the router replay store cannot be read right now"})
}

// replayAllowed: a trusted peer, or the management token as a bearer.
func (s *Server) replayAllowed(r *http.Request) bool {
	if s.trusted.Contains(r.RemoteAddr) {
		return true
	}
	want := s.env(EnvManagementToken)
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && want != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(want)) == 1
}

func writeAPIError(w http.ResponseWriter, e *chatreq.APIError) {
	writeImmediate(w, &gateway.Immediate{Status: e.Status, Body: e.Body(),
		Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}}})
}
