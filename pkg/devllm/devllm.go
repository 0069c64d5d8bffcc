// Package devllm is a small OpenAI-compatible chat backend for development
// and tests: it is NOT a language model. It answers every chat completion
// with a deterministic text derived from the request, streams it as SSE
// when asked, reports usage, and can be told to be slow or to fail. The
// last requests it received can be read back, so tests can check what the
// router forwarded upstream.
package devllm

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
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
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint "+r.URL.Path)
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
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", "request body too large")
		return
	}
	var req chatRequest
	var raw map[string]any
	if err := json.Unmarshal(body, &req); err != nil || json.Unmarshal(body, &raw) != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "malformed JSON body")
		return
	}
	s.record(Received{Path: r.URL.Path, Header: r.Header.Clone(), Body: raw})
	if len(s.models) > 0 && !s.models[req.Model] {
		writeError(w, http.StatusNotFound, "model_not_found", fmt.Sprintf("model %q is not served here", req.Model))
		return
	}
	if s.shouldFail() {
		writeError(w, s.opts.FailStatus, "server_error", "injected failure")
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
	words := strings.Fields(answer)
	id := fmt.Sprintf("chatcmpl-devllm-%d", time.Now().UnixNano())
	created := time.Now().Unix()
	usage := map[string]int{"prompt_tokens": promptTokens, "completion_tokens": len(words), "total_tokens": promptTokens + len(words)}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": id, "object": "chat.completion", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": answer}}},
			"usage": usage,
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
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
	}
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
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
		send(chunk(map[string]any{"content": word}, nil))
	}
	send(chunk(map[string]any{}, "stop"))
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

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": status}})
}
