package apimode

import (
	"encoding/json"
	"net/http"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// PathRouterModelStats serves this gateway's windowed per-model metrics
// (global.services.observability.metrics.windowed_metrics) as JSON: the
// body is a windows.Report. Access is that of PathRouterReplay: trusted
// peers (--trusted-proxies) or the management token as a bearer.
const PathRouterModelStats = "/v1/router_model_stats"

// serveModelStats answers PathRouterModelStats; it reports whether r was
// that path.
func (s *Server) serveModelStats(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != PathRouterModelStats {
		return false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeImmediate(w, &gateway.Immediate{Status: http.StatusMethodNotAllowed, Body: chatreq.MethodNotAllowed(r.Method, r.URL.Path).Body(),
			Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}, {Name: "allow", Value: "GET, HEAD"}}})
		return true
	}
	if !s.replayAllowed(r) {
		writeAPIError(w, &chatreq.APIError{Status: http.StatusForbidden, Type: chatreq.TypeInvalidRequest, Code: "forbidden",
			Message: "model stats are only served to trusted proxies or with the management token"})
		return true
	}
	rep := s.gw.ModelStats()
	if rep == nil {
		writeAPIError(w, &chatreq.APIError{Status: http.StatusNotFound, Type: chatreq.TypeInvalidRequest, Code: "windowed_metrics_disabled",
			Message: "windowed model metrics are off: enable global.services.observability.metrics.windowed_metrics"})
		return true
	}
	b, err := json.Marshal(rep)
	if err != nil {
		writeAPIError(w, &chatreq.APIError{Status: http.StatusInternalServerError, Type: chatreq.TypeServer, Code: "internal", Message: "encode model stats"})
		return true
	}
	writeImmediate(w, &gateway.Immediate{Status: http.StatusOK, Body: b,
		Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}, {Name: "cache-control", Value: "no-store"}}})
	return true
}
