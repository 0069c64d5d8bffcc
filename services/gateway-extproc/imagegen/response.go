package imagegen

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

// OpenAI error codes of a failed generation.
const (
	CodeRejected = "image_generation_rejected"
	CodeFailed   = "image_generation_failed"
	CodeTimeout  = "image_generation_timeout"
)

// Completion is the envelope of the chat answer carrying an image.
type Completion struct {
	ID      string
	Created int64
	Model   string
	Prompt  string
}

// appendContent appends the assistant message text as a JSON string: the
// image as markdown, with the prompt (shortened, without markdown
// brackets) as its alt text.
func appendContent(b []byte, c Completion, im *Image) []byte {
	alt := strings.Map(func(r rune) rune {
		switch r {
		case '[', ']', '(', ')', '\n', '\r', '\t':
			return ' '
		}
		return r
	}, c.Prompt)
	if utf8.RuneCountInString(alt) > 80 {
		alt = string([]rune(alt)[:80]) + "…"
	}
	b = chatreq.AppendJSONString(b, "!["+alt+"](")
	b = appendURL(b[:len(b)-1], im)
	return append(b, ')', '"')
}

// appendURL appends the image URL (DataURL) inside a JSON string, without
// copying the image into a new string first: base64 needs no escaping.
func appendURL(b []byte, im *Image) []byte {
	if im.B64 == "" {
		q := chatreq.AppendJSONString(b, im.URL)
		// drop the quotes AppendJSONString added around the URL
		copy(q[len(b):], q[len(b)+1:len(q)-1])
		return q[:len(q)-2]
	}
	b = append(b, "data:"...)
	b = append(b, im.MIME...)
	b = append(b, ";base64,"...)
	return append(b, im.B64...)
}

// appendMessageBody appends the message fields after the role: content
// and images (a structured image_url part, as OpenRouter-style clients
// read it).
func appendMessageBody(b []byte, c Completion, im *Image) []byte {
	b = append(b, `,"content":`...)
	b = appendContent(b, c, im)
	b = append(b, `,"images":[{"type":"image_url","image_url":{"url":"`...)
	b = appendURL(b, im)
	b = append(b, `"}}]`...)
	return b
}

func appendUsage(b []byte, im *Image) []byte {
	b = append(b, `"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, im.InputTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, im.OutputTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, im.InputTokens+im.OutputTokens, 10)
	return append(b, '}')
}

func appendHead(b []byte, c Completion, object string) []byte {
	b = append(b, `{"id":`...)
	b = chatreq.AppendJSONString(b, c.ID)
	b = append(b, `,"object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = strconv.AppendInt(b, c.Created, 10)
	b = append(b, `,"model":`...)
	return chatreq.AppendJSONString(b, c.Model)
}

// AppendCompletion appends the chat.completion JSON answering with im.
func AppendCompletion(b []byte, c Completion, im *Image) []byte {
	b = appendHead(b, c, "chat.completion")
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant"`...)
	b = appendMessageBody(b, c, im)
	b = append(b, `},"finish_reason":"stop"}],`...)
	b = appendUsage(b, im)
	return append(b, '}')
}

// AppendStream appends the same answer as a chat.completion.chunk SSE
// stream: a chunk with the role, content and images, a finish chunk, a
// usage chunk when includeUsage is set, and "data: [DONE]".
func AppendStream(b []byte, c Completion, im *Image, includeUsage bool) []byte {
	b = append(b, "data: "...)
	b = appendHead(b, c, "chat.completion.chunk")
	b = append(b, `,"choices":[{"index":0,"delta":{"role":"assistant"`...)
	b = appendMessageBody(b, c, im)
	b = append(b, "},\"finish_reason\":null}]}\n\ndata: "...)
	b = appendHead(b, c, "chat.completion.chunk")
	b = append(b, `,"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`...)
	b = append(b, "\n\n"...)
	if includeUsage {
		b = append(b, "data: "...)
		b = appendHead(b, c, "chat.completion.chunk")
		b = append(b, `,"choices":[],`...)
		b = appendUsage(b, im)
		b = append(b, "}\n\n"...)
	}
	return append(b, "data: [DONE]\n\n"...)
}

// Failure maps a Generate error to the client's OpenAI error and the
// metrics outcome: the backend refusing the prompt (a 4xx other than
// 401, 403, 404 and 429) is the client's 400; the time bound is a 504;
// everything else (unreachable, 5xx, auth, unknown model, rate limit,
// unusable body) is a 502. The message names the backend, never its key.
func (p *Plugin) Failure(err error) (*chatreq.APIError, string) {
	where := "image generation backend " + p.backend + " (" + p.endpoint + ")"
	var se *StatusError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &chatreq.APIError{Status: http.StatusGatewayTimeout, Type: chatreq.TypeServer, Code: CodeTimeout,
			Message: where + " did not answer within " + p.timeout.String()}, metrics.ImageGenTimeout
	case errors.As(err, &se) && se.Status >= 400 && se.Status < 500 &&
		se.Status != http.StatusUnauthorized && se.Status != http.StatusForbidden &&
		se.Status != http.StatusNotFound && se.Status != http.StatusTooManyRequests:
		return &chatreq.APIError{Status: http.StatusBadRequest, Type: chatreq.TypeInvalidRequest, Code: CodeRejected,
			Message: where + " refused the prompt (" + strconv.Itoa(se.Status) + "): " + se.Message}, metrics.ImageGenRejected
	case errors.As(err, &se):
		return &chatreq.APIError{Status: http.StatusBadGateway, Type: chatreq.TypeServer, Code: CodeFailed,
			Message: where + " answered " + strconv.Itoa(se.Status) + ": " + se.Message}, metrics.ImageGenFailed
	default:
		return &chatreq.APIError{Status: http.StatusBadGateway, Type: chatreq.TypeServer, Code: CodeFailed,
			Message: where + " failed: " + err.Error()}, metrics.ImageGenFailed
	}
}
