package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

// MaxBody caps a non-streaming Messages API response the translation
// reads.
const MaxBody = 32 << 20

// StatusOverloaded is Anthropic's "overloaded" status; clients get 503.
const StatusOverloaded = 529

// ErrInvalidResponse marks an upstream body that is not a Messages API
// answer.
var ErrInvalidResponse = errors.New("invalid anthropic response")

// msgResponse is a Messages API response.
type msgResponse struct {
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Model        string          `json:"model"`
	Content      []respBlock     `json:"content"`
	StopReason   *string         `json:"stop_reason"`
	StopSequence json.RawMessage `json:"stop_sequence"`
	Usage        msgUsage        `json:"usage"`
}

type respBlock struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Thinking string          `json:"thinking"`
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Input    json.RawMessage `json:"input"`
}

type msgUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
}

// OpenAI response shapes.
type oaCompletion struct {
	ID      string     `json:"id"`
	Object  string     `json:"object"`
	Created int64      `json:"created"`
	Model   string     `json:"model"`
	Choices []oaChoice `json:"choices"`
	Usage   *oaUsage   `json:"usage,omitempty"`
}

type oaChoice struct {
	Index        int        `json:"index"`
	Message      *oaRespMsg `json:"message,omitempty"`
	Delta        *oaRespMsg `json:"delta,omitempty"`
	Logprobs     *struct{}  `json:"logprobs"`
	FinishReason *string    `json:"finish_reason"`
}

type oaRespMsg struct {
	Role             string         `json:"role,omitempty"`
	Content          *string        `json:"content,omitempty"`
	ReasoningContent string         `json:"reasoning_content,omitempty"`
	ToolCalls        []oaRespToolCl `json:"tool_calls,omitempty"`
}

type oaRespToolCl struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type oaUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details,omitempty"`
	// CacheCreationInputTokens carries Anthropic's prompt cache writes
	// (the gateway prices them at cache_write_per_1m).
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens,omitempty"`
}

func (u msgUsage) openAI() *oaUsage {
	prompt := u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
	out := &oaUsage{PromptTokens: prompt, CompletionTokens: u.OutputTokens, TotalTokens: prompt + u.OutputTokens,
		CacheCreationInputTokens: u.CacheCreationInputTokens}
	if u.CacheReadInputTokens > 0 {
		out.PromptTokensDetails = &struct {
			CachedTokens int64 `json:"cached_tokens"`
		}{u.CacheReadInputTokens}
	}
	return out
}

// FinishReason maps a Messages API stop_reason to an OpenAI finish_reason.
func FinishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	return "stop" // end_turn, stop_sequence, pause_turn
}

// completionID turns a message id into a chat-completion id.
func completionID(id string) string {
	if id == "" {
		return "chatcmpl-anthropic"
	}
	return "chatcmpl-" + id
}

// ConvertResponse translates a Messages API JSON response into an OpenAI
// chat.completion; model is used when the response names none.
func ConvertResponse(body []byte, model string, now time.Time) ([]byte, error) {
	var in msgResponse
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidResponse, err)
	}
	if in.Type != "message" {
		return nil, fmt.Errorf("%w: type %q, want message", ErrInvalidResponse, in.Type)
	}
	if in.Model != "" {
		model = in.Model
	}
	msg := &oaRespMsg{Role: "assistant"}
	var text, thinking strings.Builder
	for _, b := range in.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "thinking":
			thinking.WriteString(b.Thinking)
		case "tool_use":
			tc := oaRespToolCl{ID: b.ID, Type: "function"}
			tc.Function.Name = b.Name
			tc.Function.Arguments = "{}"
			if len(bytes.TrimSpace(b.Input)) > 0 {
				tc.Function.Arguments = string(b.Input)
			}
			msg.ToolCalls = append(msg.ToolCalls, tc)
		}
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	msg.ReasoningContent = thinking.String()
	finish := "stop"
	if in.StopReason != nil {
		finish = FinishReason(*in.StopReason)
	}
	out := oaCompletion{ID: completionID(in.ID), Object: "chat.completion", Created: now.Unix(), Model: model,
		Choices: []oaChoice{{Message: msg, FinishReason: &finish}}, Usage: in.Usage.openAI()}
	return json.Marshal(&out)
}

// msgError is a Messages API error body.
type msgError struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// ConvertError translates a Messages API error answer (status, body) into
// the status and OpenAI error envelope the client gets: 529 overloaded
// becomes 503; the error type is kept as the code, and mapped to OpenAI's
// error types.
func ConvertError(status int, body []byte) (int, []byte) {
	var in msgError
	_ = json.Unmarshal(body, &in)
	if status == StatusOverloaded {
		status = http.StatusServiceUnavailable
	}
	e := &chatreq.APIError{Status: status, Message: in.Error.Message, Code: in.Error.Type}
	if e.Message == "" {
		e.Message = "the Anthropic backend answered " + strconv.Itoa(status)
		if t := strings.TrimSpace(string(body)); t != "" && len(t) <= 512 && json.Valid(body) {
			e.Message += ": " + t
		}
	}
	switch {
	case in.Error.Type == "authentication_error", in.Error.Type == "permission_error":
		e.Type = "authentication_error"
	case in.Error.Type == "rate_limit_error":
		e.Type = "rate_limit_error"
	case in.Error.Type == "not_found_error":
		e.Type = chatreq.TypeNotFound
	case status >= 500:
		e.Type = chatreq.TypeServer
	default:
		e.Type = chatreq.TypeInvalidRequest
	}
	return status, e.Body()
}

// Response translates resp, a Messages API answer to x, into what an
// OpenAI client expects, in place: an error status and body into an
// OpenAI error (529 → 503), a JSON message into a chat.completion, an SSE
// stream into chat.completion.chunk events ending with data: [DONE]. The
// body is translated as it is read; a body that is not a Messages API
// answer fails the read with ErrInvalidResponse (io.ErrUnexpectedEOF for a
// stream cut before message_stop). now stamps created.
func (x *Exchange) Response(resp *http.Response, now time.Time) {
	h := resp.Header
	h.Del("Content-Length")
	h.Del("Content-Encoding")
	resp.ContentLength = -1
	if resp.StatusCode == StatusOverloaded || resp.StatusCode >= 400 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		status, out := ConvertError(resp.StatusCode, body)
		resp.StatusCode, resp.Status = status, strconv.Itoa(status)+" "+http.StatusText(status)
		h.Set("Content-Type", "application/json")
		resp.Body = io.NopCloser(bytes.NewReader(out))
		resp.ContentLength = int64(len(out))
		h.Set("Content-Length", strconv.Itoa(len(out)))
		return
	}
	if strings.HasPrefix(strings.ToLower(h.Get("Content-Type")), "text/event-stream") {
		h.Set("Content-Type", "text/event-stream")
		resp.Body = NewStreamReader(resp.Body, x.Model, x.IncludeUsage, now)
		return
	}
	h.Set("Content-Type", "application/json")
	resp.Body = &jsonBody{src: resp.Body, model: x.Model, now: now}
}

// jsonBody translates a JSON message on its first read.
type jsonBody struct {
	src   io.ReadCloser
	model string
	now   time.Time
	out   *bytes.Reader
	err   error
}

func (b *jsonBody) Read(p []byte) (int, error) {
	if b.out == nil && b.err == nil {
		body, err := io.ReadAll(io.LimitReader(b.src, MaxBody+1))
		switch {
		case err != nil:
			b.err = err
		case len(body) > MaxBody:
			b.err = fmt.Errorf("%w: body over %d bytes", ErrInvalidResponse, MaxBody)
		default:
			out, cerr := ConvertResponse(body, b.model, b.now)
			b.out, b.err = bytes.NewReader(out), cerr
		}
	}
	if b.err != nil {
		return 0, b.err
	}
	return b.out.Read(p)
}

func (b *jsonBody) Close() error { return b.src.Close() }
