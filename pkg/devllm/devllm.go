// Package devllm is a small OpenAI-compatible chat backend for development
// and tests: it is NOT a language model. It answers every chat completion
// with a deterministic text derived from the request (n choices; cut to
// max_tokens words with finish_reason "length"), streams it as SSE when
// asked, reports usage, and can be told to be slow or to fail. Errors have
// OpenAI's shape: {"error":{"message","type","param","code"}}, code a
// string or null (an injected 429 is type "requests", code
// "rate_limit_exceeded"). The last requests it received can be read back,
// so tests can check what the router forwarded upstream.
package devllm

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"
)

// Options configures the backend.
type Options struct {
	// Models served; a request for another model gets 404. Empty serves any.
	Models []string
	// Latency is added before the first byte of every answer.
	Latency time.Duration
	// TokenDelay is added between streamed chunks.
	TokenDelay time.Duration
	// FailureRate in [0,1] answers that fraction of requests with FailStatus.
	FailureRate float64
	// FailStatus is the status of injected failures (default 500).
	FailStatus int
	// Name tags answers and the x-devllm-backend header (default "devllm").
	Name string
	// Seed makes failure injection reproducible.
	Seed uint64
	// MaxBody bounds a request body (default 4 MiB).
	MaxBody int64
}

// Server is the HTTP handler of the backend.
type Server struct {
	opts   Options
	models map[string]bool

	mu   sync.Mutex
	rnd  *rand.Rand
	last []Received
	fail int // remaining forced failures set by FailNext
}

// Received is one request as the backend saw it.
type Received struct {
	Path   string
	Header http.Header
	Body   map[string]any
}

// New returns a backend.
func New(o Options) *Server {
	if o.FailStatus == 0 {
		o.FailStatus = http.StatusInternalServerError
	}
	if o.Name == "" {
		o.Name = "devllm"
	}
	if o.MaxBody == 0 {
		o.MaxBody = 4 << 20
	}
	s := &Server{opts: o, models: map[string]bool{}, rnd: rand.New(rand.NewPCG(o.Seed, 7))}
	for _, m := range o.Models {
		s.models[m] = true
	}
	return s
}

// FailNext makes the next n chat requests fail with the configured status.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	s.fail = n
	s.mu.Unlock()
}

// Received returns the requests seen so far (most recent last, up to 64).
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.last...)
}

// ServeHTTP routes /v1/chat/completions, /v1/models and /health.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-devllm-backend", s.opts.Name)
	switch {
	case r.URL.Path == "/health":
		w.WriteHeader(http.StatusOK)
	case r.URL.Path == "/v1/models" && r.Method == http.MethodGet:
		s.listModels(w)
	case strings.HasSuffix(r.URL.Path, "/chat/completions") && r.Method == http.MethodPost:
		s.chat(w, r)
	case r.URL.Path == "/v1/models" || strings.HasSuffix(r.URL.Path, "/chat/completions"):
		allow := http.MethodPost
		if r.URL.Path == "/v1/models" {
			allow = http.MethodGet
		}
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, errorType(http.StatusMethodNotAllowed), "method_not_allowed", "",
			"method "+r.Method+" is not allowed on "+r.URL.Path)
	default:
		writeError(w, http.StatusNotFound, errorType(http.StatusNotFound), "unknown_url", "", "no such endpoint "+r.URL.Path)
	}
}

func (s *Server) listModels(w http.ResponseWriter) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		OwnedBy string `json:"owned_by"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, m := range s.opts.Models {
		out.Data = append(out.Data, model{ID: m, Object: "model", OwnedBy: s.opts.Name})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

type chatRequest struct {
	Model  string `json:"model"`
	Stream bool   `json:"stream"`
	// N is the number of choices (default 1).
	N *float64 `json:"n"`
	// MaxTokens (or the newer MaxCompletionTokens) truncates the answer to
	// that many tokens (whitespace-separated words here).
	MaxTokens           *float64 `json:"max_tokens"`
	MaxCompletionTokens *float64 `json:"max_completion_tokens"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, errorType(http.StatusRequestEntityTooLarge), "request_too_large", "",
			fmt.Sprintf("request body exceeds the limit of %d bytes", tooBig.Limit))
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, errorType(http.StatusBadRequest), "read_error", "", "the request body could not be read")
		return
	}
	var req chatRequest
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		writeError(w, http.StatusBadRequest, errorType(http.StatusBadRequest), nil, "", "malformed JSON body")
		return
	}
	if err := json.Unmarshal(body, &req); err != nil {
		code, param, msg := any(nil), "", "malformed JSON body"
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			code, param = "invalid_type", te.Field
			msg = fmt.Sprintf("%s must be %s, got a JSON %s", te.Field, jsonKind(te.Type), te.Value)
		}
		writeError(w, http.StatusBadRequest, errorType(http.StatusBadRequest), code, param, msg)
		return
	}
	s.record(Received{Path: r.URL.Path, Header: r.Header.Clone(), Body: raw})
	if len(s.models) > 0 && !s.models[req.Model] {
		writeError(w, http.StatusNotFound, errorType(http.StatusNotFound), "model_not_found", "model", fmt.Sprintf("model %q is not served here", req.Model))
		return
	}
	n, maxTokens, param, msg := req.limits()
	if msg != "" {
		writeError(w, http.StatusBadRequest, errorType(http.StatusBadRequest), "invalid_value", param, msg)
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, errorType(http.StatusBadRequest), "invalid_value", "messages",
			"messages must contain at least one message")
		return
	}
	if s.shouldFail() {
		st := s.opts.FailStatus
		writeError(w, st, errorType(st), errorCode(st), "", "injected failure")
		return
	}
	if s.opts.Latency > 0 {
		select {
		case <-time.After(s.opts.Latency):
		case <-r.Context().Done():
			return
		}
	}
	last := ""
	for _, m := range req.Messages {
		if m.Role == "user" {
			last = textOf(m.Content)
		}
	}
	answer := fmt.Sprintf("[%s/%s] You said: %s", s.opts.Name, req.Model, last)
	promptTokens := 0
	for _, m := range req.Messages {
		promptTokens += countTokens(textOf(m.Content))
	}
	words, finish := truncate(strings.Fields(answer), maxTokens)
	id := fmt.Sprintf("chatcmpl-devllm-%d", time.Now().UnixNano())
	created := time.Now().Unix()
	completion := n * len(words)
	usage := map[string]int{"prompt_tokens": promptTokens, "completion_tokens": completion, "total_tokens": promptTokens + completion}
	if !req.Stream {
		choices := make([]any, n)
		for i := range choices {
			choices[i] = map[string]any{"index": i, "finish_reason": finish,
				"message": map[string]any{"role": "assistant", "content": strings.Join(words, " ")}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": req.Model,
			"choices": choices, "usage": usage,
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	flusher, _ := w.(http.Flusher)
	send := func(v any) {
		data, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", data)
		if flusher != nil {
			flusher.Flush()
		}
	}
	chunk := func(index int, delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": index, "delta": delta, "finish_reason": finish}}}
	}
	// Choices are streamed one after the other, each chunk naming its index.
	for c := 0; c < n; c++ {
		send(chunk(c, map[string]any{"role": "assistant", "content": ""}, nil))
		for i, word := range words {
			if i > 0 {
				word = " " + word
			}
			if s.opts.TokenDelay > 0 {
				select {
				case <-time.After(s.opts.TokenDelay):
				case <-r.Context().Done():
					return
				}
			}
			send(chunk(c, map[string]any{"content": word}, nil))
		}
		send(chunk(c, map[string]any{}, finish))
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model, "choices": []any{}, "usage": usage})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

func (s *Server) record(r Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = append(s.last, r)
	if len(s.last) > 64 {
		s.last = s.last[len(s.last)-64:]
	}
}

func (s *Server) shouldFail() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return true
	}
	return s.opts.FailureRate > 0 && s.rnd.Float64() < s.opts.FailureRate
}

// textOf returns the text of a message content: a string or content parts.
func textOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// countTokens approximates tokens as whitespace-separated words.
func countTokens(s string) int { return len(strings.Fields(s)) }

// MaxChoices bounds n, as OpenAI does.
const MaxChoices = 128

// limits reads n and the token limit; msg (naming param) is set when one
// is out of range. maxTokens 0 means no limit.
func (req *chatRequest) limits() (n, maxTokens int, param, msg string) {
	n = 1
	if req.N != nil {
		if *req.N < 1 || *req.N > MaxChoices || *req.N != math.Trunc(*req.N) {
			return 0, 0, "n", fmt.Sprintf("n must be an integer between 1 and %d, got %v", MaxChoices, *req.N)
		}
		n = int(*req.N)
	}
	for _, l := range []struct {
		name string
		v    *float64
	}{{"max_completion_tokens", req.MaxCompletionTokens}, {"max_tokens", req.MaxTokens}} {
		if l.v == nil {
			continue
		}
		if *l.v < 1 || *l.v != math.Trunc(*l.v) {
			return 0, 0, l.name, fmt.Sprintf("%s must be an integer of at least 1, got %v", l.name, *l.v)
		}
		if v := int(min(*l.v, math.MaxInt32)); maxTokens == 0 || v < maxTokens {
			maxTokens = v
		}
	}
	return n, maxTokens, "", ""
}

// truncate keeps the first max words (0: all); the finish reason is
// "length" when words were cut, else "stop".
func truncate(words []string, max int) ([]string, string) {
	if max > 0 && len(words) > max {
		return words[:max], "length"
	}
	return words, "stop"
}

// jsonKind names the JSON shape a field of Go type t takes.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Float32, reflect.Float64, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "an object"
}

// errorType is the OpenAI error type for a status: "requests" for 429 (a
// request-rate limit), "server_error" for 5xx, "invalid_request_error"
// otherwise.
func errorType(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "requests"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}

// errorCode is the OpenAI error code of an injected failure (nil when
// OpenAI sends none).
func errorCode(status int) any {
	if status == http.StatusTooManyRequests {
		return "rate_limit_exceeded"
	}
	return nil
}

// writeError writes an OpenAI error body: code is a string or nil, param
// names the offending field ("" writes null).
func writeError(w http.ResponseWriter, status int, typ string, code any, param, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var p any
	if param != "" {
		p = param
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": p, "code": code}})
}
