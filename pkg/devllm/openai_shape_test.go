package devllm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/semrouter/semrouter/pkg/devllm"
)

// TestChoicesAndMaxTokens: n gives n choices, max_tokens (or
// max_completion_tokens, the smaller wins) truncates each to that many
// words with finish_reason "length"; usage counts every choice.
func TestChoicesAndMaxTokens(t *testing.T) {
	const full = "[b/small] You said: one two three" // 6 words
	tests := []struct {
		name       string
		n          int64
		maxTokens  int64
		maxCompl   int64
		content    string
		finish     string
		completion int64
	}{
		{name: "defaults", content: full, finish: "stop", completion: 6},
		{name: "three choices", n: 3, content: full, finish: "stop", completion: 18},
		{name: "truncated", maxTokens: 2, content: "[b/small] You", finish: "length", completion: 2},
		{name: "limit equal to the answer is no truncation", maxTokens: 6, content: full, finish: "stop", completion: 6},
		{name: "two truncated choices", n: 2, maxTokens: 3, content: "[b/small] You said:", finish: "length", completion: 6},
		{name: "max_completion_tokens", maxCompl: 1, content: "[b/small]", finish: "length", completion: 1},
		{name: "the smaller limit wins", maxTokens: 1, maxCompl: 4, content: "[b/small]", finish: "length", completion: 1},
	}
	c := client(t, devllm.New(devllm.Options{Name: "b"}))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := params("small", "one two three")
			if tt.n > 0 {
				p.N = openai.Int(tt.n)
			}
			if tt.maxTokens > 0 {
				p.MaxTokens = openai.Int(tt.maxTokens)
			}
			if tt.maxCompl > 0 {
				p.MaxCompletionTokens = openai.Int(tt.maxCompl)
			}
			res, err := c.Chat.Completions.New(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			want := max(tt.n, 1)
			if int64(len(res.Choices)) != want {
				t.Fatalf("%d choices, want %d", len(res.Choices), want)
			}
			for i, ch := range res.Choices {
				if ch.Index != int64(i) || ch.Message.Content != tt.content || ch.FinishReason != tt.finish {
					t.Errorf("choice %d = index %d %q %q; want %q %q", i, ch.Index, ch.Message.Content, ch.FinishReason, tt.content, tt.finish)
				}
			}
			if res.Usage.CompletionTokens != tt.completion {
				t.Errorf("completion tokens %d, want %d", res.Usage.CompletionTokens, tt.completion)
			}

			// The same request streamed reassembles to the same choices.
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			stream := c.Chat.Completions.NewStreaming(context.Background(), p)
			acc := openai.ChatCompletionAccumulator{}
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if int64(len(acc.Choices)) != want {
				t.Fatalf("streamed %d choices, want %d", len(acc.Choices), want)
			}
			for i, ch := range acc.Choices {
				if ch.Message.Content != tt.content || ch.FinishReason != tt.finish {
					t.Errorf("streamed choice %d = %q %q; want %q %q", i, ch.Message.Content, ch.FinishReason, tt.content, tt.finish)
				}
			}
			if acc.Usage.CompletionTokens != tt.completion {
				t.Errorf("streamed completion tokens %d, want %d", acc.Usage.CompletionTokens, tt.completion)
			}
		})
	}
}

// TestErrorBodiesHaveOpenAIShapes: every error body is
// {"error":{"message","type","param","code"}} with code a string or null,
// and the types and codes OpenAI uses.
func TestErrorBodiesHaveOpenAIShapes(t *testing.T) {
	const chat = "/v1/chat/completions"
	const ok = `{"model":"small","messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name       string
		failStatus int
		failNext   bool
		maxBody    int64
		method     string
		path, body string
		status     int
		typ        string
		code       any // nil or string
		param      any
	}{
		{name: "injected 429", failStatus: 429, failNext: true, path: chat, body: ok, status: 429, typ: "requests", code: "rate_limit_exceeded"},
		{name: "injected 500", failStatus: 500, failNext: true, path: chat, body: ok, status: 500, typ: "server_error"},
		{name: "injected 503", failStatus: 503, failNext: true, path: chat, body: ok, status: 503, typ: "server_error"},
		{name: "unknown model", path: chat, body: `{"model":"other","messages":[]}`, status: 404, typ: "invalid_request_error", code: "model_not_found", param: "model"},
		{name: "malformed body", path: chat, body: "{nope", status: 400, typ: "invalid_request_error"},
		{name: "n out of range", path: chat, body: `{"model":"small","n":0,"messages":[]}`, status: 400, typ: "invalid_request_error", code: "invalid_value", param: "n"},
		{name: "max_tokens out of range", path: chat, body: `{"model":"small","max_tokens":0,"messages":[]}`, status: 400, typ: "invalid_request_error", code: "invalid_value", param: "max_tokens"},
		{name: "unknown endpoint", path: "/v1/nope", body: ok, status: 404, typ: "invalid_request_error", code: "unknown_url"},
		{name: "stream not a boolean", path: chat, body: `{"model":"small","stream":"yes","messages":[{"role":"user","content":"x"}]}`,
			status: 400, typ: "invalid_request_error", code: "invalid_type", param: "stream"},
		{name: "messages not an array", path: chat, body: `{"model":"small","messages":5}`,
			status: 400, typ: "invalid_request_error", code: "invalid_type", param: "messages"},
		{name: "role not a string", path: chat, body: `{"model":"small","messages":[{"role":7,"content":"x"}]}`,
			status: 400, typ: "invalid_request_error", code: "invalid_type", param: "messages.role"},
		{name: "no messages", path: chat, body: `{"model":"small"}`, status: 400, typ: "invalid_request_error", code: "invalid_value", param: "messages"},
		{name: "body over the limit", maxBody: 16, path: chat, body: ok, status: 413, typ: "invalid_request_error", code: "request_too_large"},
		{name: "wrong method on chat", method: http.MethodGet, path: chat, status: 405, typ: "invalid_request_error", code: "method_not_allowed"},
		{name: "wrong method on models", method: http.MethodDelete, path: "/v1/models", status: 405, typ: "invalid_request_error", code: "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := devllm.New(devllm.Options{Models: []string{"small"}, FailStatus: tt.failStatus, MaxBody: tt.maxBody})
			if tt.failNext {
				srv.FailNext(1)
			}
			hs := httptest.NewServer(srv)
			defer hs.Close()
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, hs.URL+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
				t.Errorf("405 without Allow")
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, data)
			}
			var body struct {
				Error map[string]any `json:"error"`
			}
			if err := json.Unmarshal(data, &body); err != nil {
				t.Fatal(err)
			}
			e := body.Error
			for _, k := range []string{"message", "type", "param", "code"} {
				if _, ok := e[k]; !ok {
					t.Errorf("error lacks %q: %s", k, data)
				}
			}
			if e["type"] != tt.typ || e["code"] != tt.code || e["param"] != tt.param {
				t.Errorf("type/code/param = %v/%v/%v, want %v/%v/%v", e["type"], e["code"], e["param"], tt.typ, tt.code, tt.param)
			}
		})
	}

	// The OpenAI SDK reads the 429 as a rate-limit error with its code.
	srv := devllm.New(devllm.Options{FailStatus: http.StatusTooManyRequests})
	srv.FailNext(1)
	c := client(t, srv)
	_, err := c.Chat.Completions.New(context.Background(), params("m", "x"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != "rate_limit_exceeded" || apiErr.Type != "requests" {
		t.Fatalf("SDK error = %v", err)
	}
}
