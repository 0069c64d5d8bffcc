package apimode

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// PathMemories is the endpoint that forgets the calling user's memories
// (memory plugin): DELETE, from a trusted peer that names the user in the
// identity header (global.services.authz.identity.user_id_header), so a
// user can only erase their own memories, through the auth layer.
const PathMemories = "/v1/memories"

// memoriesDeleted is the answer of DELETE /v1/memories.
type memoriesDeleted struct {
	Object  string `json:"object"`
	User    string `json:"user"`
	Deleted int    `json:"deleted"`
}

// serveMemories answers PathMemories; false when the path is another.
func (s *Server) serveMemories(ctx context.Context, w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != PathMemories {
		return false
	}
	if r.Method != http.MethodDelete {
		imm := &gateway.Immediate{Status: http.StatusMethodNotAllowed, Body: chatreq.MethodNotAllowed(r.Method, r.URL.Path).Body(),
			Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}, {Name: "allow", Value: "DELETE"}}}
		writeImmediate(w, imm)
		return true
	}
	user := ""
	if s.trusted.Contains(r.RemoteAddr) {
		user = strings.TrimSpace(r.Header.Get(s.gw.Routes().Identity.UserIDHeader))
	}
	if user == "" {
		writeAPIError(w, &chatreq.APIError{Status: http.StatusForbidden, Type: chatreq.TypeInvalidRequest, Code: "forbidden",
			Message: "deleting memories needs the user id header set by a trusted proxy"})
		return true
	}
	store, err := s.gw.MemoryStore()
	if err != nil || store == nil {
		writeAPIError(w, &chatreq.APIError{Status: http.StatusNotFound, Type: chatreq.TypeInvalidRequest, Code: "memory_disabled",
			Message: "no decision of the active config runs the memory plugin"})
		return true
	}
	n, err := store.Forget(ctx, user)
	if err != nil {
		s.log.WarnContext(ctx, "forget memories", "error", err)
		writeAPIError(w, &chatreq.APIError{Status: http.StatusServiceUnavailable, Type: chatreq.TypeServer, Code: "memory_unavailable",
			Message: "the memory store could not be reached; try again later"})
		return true
	}
	b, _ := json.Marshal(memoriesDeleted{Object: "memories.deleted", User: user, Deleted: n})
	writeImmediate(w, &gateway.Immediate{Status: http.StatusOK, Body: b,
		Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}, {Name: "cache-control", Value: "no-store"}}})
	return true
}
