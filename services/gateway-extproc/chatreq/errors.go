// Package chatreq parses an OpenAI chat-completions request body once into a
// compact view and rewrites the raw JSON byte-preservingly: only the fields
// the router must change are touched, everything else is copied verbatim.
package chatreq

import (
	"net/http"
	"strconv"
	"strings"
)

// Error types used in OpenAI-style error bodies.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeNotFound       = "not_found_error"
	TypeServer         = "server_error"
)

// APIError is an error that reaches the client as an OpenAI-style body
// {"error":{"message","type","param","code"}} with Status.
type APIError struct {
	Status  int
	Message string
	Type    string
	Param   string
	Code    string
}

func (e *APIError) Error() string { return e.Message }

// Body renders the OpenAI error envelope.
func (e *APIError) Body() []byte {
	b := make([]byte, 0, 96+len(e.Message))
	b = append(b, `{"error":{"message":`...)
	b = AppendJSONString(b, e.Message)
	b = append(b, `,"type":`...)
	b = strconv.AppendQuote(b, e.Type)
	b = append(b, `,"param":`...)
	b = appendNullableString(b, e.Param)
	b = append(b, `,"code":`...)
	b = appendNullableString(b, e.Code)
	b = append(b, "}}"...)
	return b
}

func appendNullableString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return AppendJSONString(b, s)
}

// BadRequest is a 400 invalid_request_error.
func BadRequest(param, code, msg string) *APIError {
	return &APIError{Status: http.StatusBadRequest, Message: msg, Type: TypeInvalidRequest, Param: param, Code: code}
}

// servedEndpoints names what the router serves, for UnknownPath.
const servedEndpoints = "semrouter serves POST /v1/chat/completions, POST /v1/completions, POST /v1/embeddings, " +
	"POST /v1/responses (unless global.services.response_api.enabled is false), GET /v1/models and GET /v1/models/{model}"

// UnknownPath is the 404 for a path the router does not serve. For an
// OpenAI endpoint it does not implement (audio, images, files, …; the
// responses API when disabled) the code is unsupported_endpoint; either way the message
// names the endpoints it serves. (A 404 rather than a 501: the OpenAI
// SDKs retry 5xx answers, which would only repeat this one.)
func UnknownPath(method, path string) *APIError {
	code, msg := "not_found", "unknown path "+strconv.Quote(path)
	if openAIEndpoint(path) {
		code, msg = "unsupported_endpoint", method+" "+path+" is an OpenAI endpoint this router does not serve"
	}
	return &APIError{Status: http.StatusNotFound, Message: msg + ": " + servedEndpoints, Type: TypeInvalidRequest, Code: code}
}

// openAIEndpoint reports whether path is (under) an OpenAI API endpoint.
func openAIEndpoint(path string) bool {
	rest, ok := strings.CutPrefix(path, "/v1/")
	if !ok {
		return false
	}
	first, _, _ := strings.Cut(rest, "/")
	switch first {
	case "completions", "embeddings", "responses", "moderations", "images", "audio", "files", "uploads",
		"batches", "fine_tuning", "assistants", "threads", "vector_stores", "realtime", "evals", "containers",
		"conversations", "videos":
		return true
	}
	return false
}

// MethodNotAllowed is a 405 for a wrong HTTP method.
func MethodNotAllowed(method, path string) *APIError {
	return &APIError{Status: http.StatusMethodNotAllowed, Message: "method " + method + " is not allowed on " + path,
		Type: TypeInvalidRequest, Code: "method_not_allowed"}
}

// TooLarge is a 413 for a body above the configured limit.
func TooLarge(limit int64) *APIError {
	return &APIError{Status: http.StatusRequestEntityTooLarge,
		Message: "request body exceeds the limit of " + strconv.FormatInt(limit, 10) + " bytes",
		Type:    TypeInvalidRequest, Code: "request_too_large"}
}

// ModelNotAvailable is the 404 model_not_found (as OpenAI answers) for a
// chat request naming a model the router does not serve.
func ModelNotAvailable(model string) *APIError {
	return &APIError{Status: http.StatusNotFound, Message: "model " + strconv.Quote(model) + " is not available",
		Type: TypeInvalidRequest, Param: "model", Code: "model_not_found"}
}

// ModelNotFound is the 404 of GET /v1/models/{id} for a model the router
// does not serve.
func ModelNotFound(model string) *APIError {
	return &APIError{Status: http.StatusNotFound, Message: "the model " + strconv.Quote(model) + " does not exist",
		Type: TypeInvalidRequest, Param: "model", Code: "model_not_found"}
}

// Upstream is a 502 returned when no backend could answer.
func Upstream(msg string) *APIError {
	return &APIError{Status: http.StatusBadGateway, Message: msg, Type: TypeServer, Code: "upstream_unavailable"}
}
