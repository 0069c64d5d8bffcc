package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// maxEventBytes caps one SSE line of the upstream stream.
const maxEventBytes = 4 << 20

// streamEvent is one Messages API stream event (the fields of every type).
type streamEvent struct {
	Type         string          `json:"type"`
	Message      *msgResponse    `json:"message"`
	Index        int             `json:"index"`
	ContentBlock *respBlock      `json:"content_block"`
	Delta        json.RawMessage `json:"delta"`
	Usage        *msgUsage       `json:"usage"`
	Error        *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

type streamDelta struct {
	Type        string  `json:"type"`
	Text        string  `json:"text"`
	Thinking    string  `json:"thinking"`
	PartialJSON string  `json:"partial_json"`
	StopReason  *string `json:"stop_reason"`
}

// Stream translates a Messages API SSE stream into the OpenAI
// chat.completion.chunk SSE stream a client expects: a role chunk at
// message_start, content and tool-call deltas, a finish_reason chunk at
// message_delta, a usage chunk (only with includeUsage) and data: [DONE]
// at message_stop. An error event becomes data: {"error":{…}} and ends
// the stream. It is push-based (Write the upstream bytes as they come,
// Take the translation): ext_proc mode feeds it body chunks, API mode
// reads it through NewStreamReader. A stream that ends before
// message_stop fails Finish with io.ErrUnexpectedEOF; one that is not a
// Messages API stream fails with ErrInvalidResponse.
type Stream struct {
	includeUsage bool
	created      int64

	id, model string
	usage     msgUsage
	// tools maps a content block index to its tool-call ordinal.
	tools     map[int]int
	nextTool  int
	started   bool
	finished  bool
	out       bytes.Buffer
	err       error
	pending   []byte // bytes of an unfinished line
	eventType []byte
	data      []byte
}

// NewStream starts a translation; model names the chunks until
// message_start names the model; now stamps created.
func NewStream(model string, includeUsage bool, now time.Time) *Stream {
	return &Stream{model: model, includeUsage: includeUsage, created: now.Unix(), tools: map[int]int{}}
}

// Write parses p, the next bytes of the upstream stream. Bytes after
// message_stop (or an error event) are ignored.
func (s *Stream) Write(p []byte) error {
	if s.err != nil {
		return s.err
	}
	s.pending = append(s.pending, p...)
	start := 0
	for !s.finished && s.err == nil {
		i := bytes.IndexByte(s.pending[start:], '\n')
		if i < 0 {
			break
		}
		s.line(s.pending[start : start+i])
		start += i + 1
	}
	if s.finished {
		s.pending = s.pending[:0]
		return s.err
	}
	n := copy(s.pending, s.pending[start:])
	s.pending = s.pending[:n]
	if s.err == nil && len(s.pending) > maxEventBytes {
		s.err = fmt.Errorf("%w: stream line over %d bytes", ErrInvalidResponse, maxEventBytes)
	}
	return s.err
}

// Finish ends the upstream stream: a last line without newline and a
// last event without blank line still count.
func (s *Stream) Finish() error {
	if s.err != nil || s.finished {
		return s.err
	}
	if len(s.pending) > 0 {
		s.line(s.pending)
		s.pending = s.pending[:0]
	}
	if !s.finished && s.err == nil && len(s.data) > 0 {
		s.dispatch()
	}
	if !s.finished && s.err == nil {
		s.err = io.ErrUnexpectedEOF
	}
	return s.err
}

// Take returns the translation produced so far and clears it; the slice
// is valid until the next Write or Finish.
func (s *Stream) Take() []byte {
	b := s.out.Bytes()
	s.out.Reset()
	return b
}

// Done reports whether the stream reached message_stop or an error event.
func (s *Stream) Done() bool { return s.finished }

// line handles one SSE line (without its newline).
func (s *Stream) line(line []byte) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	switch {
	case len(line) == 0:
		s.dispatch()
	case line[0] == ':':
	default:
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			s.eventType = append(s.eventType[:0], value...)
		case "data":
			if len(s.data) > 0 {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, value...)
		}
	}
}

// streamReader reads an upstream body through a Stream.
type streamReader struct {
	src io.ReadCloser
	s   *Stream
	buf []byte
	out []byte
	err error
}

// NewStreamReader wraps src, a Messages API SSE body, so that reading
// yields the OpenAI chunk stream (see Stream). The read fails with
// io.ErrUnexpectedEOF when src ends before message_stop.
func NewStreamReader(src io.ReadCloser, model string, includeUsage bool, now time.Time) io.ReadCloser {
	return &streamReader{src: src, s: NewStream(model, includeUsage, now), buf: make([]byte, 16<<10)}
}

func (r *streamReader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		n, err := r.src.Read(r.buf)
		var werr error
		if n > 0 {
			werr = r.s.Write(r.buf[:n])
		}
		switch {
		case werr != nil:
			r.err = werr
		case r.s.Done():
			r.err = io.EOF
		case errors.Is(err, io.EOF):
			r.err = r.s.Finish()
			if r.err == nil {
				r.err = io.EOF
			}
		case err != nil:
			r.err = err
		}
		r.out = append(r.out[:0], r.s.Take()...)
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

func (r *streamReader) Close() error { return r.src.Close() }

func (s *Stream) dispatch() {
	data := s.data
	s.data, s.eventType = s.data[:0], s.eventType[:0]
	if len(bytes.TrimSpace(data)) == 0 {
		return
	}
	var ev streamEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		s.err = fmt.Errorf("%w: stream event: %v", ErrInvalidResponse, err)
		return
	}
	switch ev.Type {
	case "message_start":
		if ev.Message != nil {
			if ev.Message.ID != "" {
				s.id = ev.Message.ID
			}
			if ev.Message.Model != "" {
				s.model = ev.Message.Model
			}
			s.usage = ev.Message.Usage
		}
		s.started = true
		empty := ""
		s.chunk(&oaRespMsg{Role: "assistant", Content: &empty}, nil)
	case "content_block_start":
		s.needStart()
		if b := ev.ContentBlock; b != nil && b.Type == "tool_use" {
			k := s.nextTool
			s.nextTool++
			s.tools[ev.Index] = k
			tc := oaRespToolCl{Index: &k, ID: b.ID, Type: "function"}
			tc.Function.Name = b.Name
			s.chunk(&oaRespMsg{ToolCalls: []oaRespToolCl{tc}}, nil)
		} else if b != nil && b.Type == "text" && b.Text != "" {
			t := b.Text
			s.chunk(&oaRespMsg{Content: &t}, nil)
		}
	case "content_block_delta":
		s.needStart()
		var d streamDelta
		if err := json.Unmarshal(ev.Delta, &d); err != nil {
			s.err = fmt.Errorf("%w: content_block_delta: %v", ErrInvalidResponse, err)
			return
		}
		switch d.Type {
		case "text_delta":
			t := d.Text
			s.chunk(&oaRespMsg{Content: &t}, nil)
		case "thinking_delta":
			s.chunk(&oaRespMsg{ReasoningContent: d.Thinking}, nil)
		case "input_json_delta":
			k, ok := s.tools[ev.Index]
			if !ok {
				s.err = fmt.Errorf("%w: input_json_delta for block %d, which is no tool_use", ErrInvalidResponse, ev.Index)
				return
			}
			if d.PartialJSON == "" {
				return
			}
			tc := oaRespToolCl{Index: &k}
			tc.Function.Arguments = d.PartialJSON
			s.chunk(&oaRespMsg{ToolCalls: []oaRespToolCl{tc}}, nil)
		}
	case "message_delta":
		s.needStart()
		if ev.Usage != nil {
			// message_delta usage counts are cumulative.
			s.usage.OutputTokens = ev.Usage.OutputTokens
			if ev.Usage.InputTokens > 0 {
				s.usage.InputTokens = ev.Usage.InputTokens
			}
			if ev.Usage.CacheCreationInputTokens > 0 {
				s.usage.CacheCreationInputTokens = ev.Usage.CacheCreationInputTokens
			}
			if ev.Usage.CacheReadInputTokens > 0 {
				s.usage.CacheReadInputTokens = ev.Usage.CacheReadInputTokens
			}
		}
		var d streamDelta
		if len(ev.Delta) > 0 {
			if err := json.Unmarshal(ev.Delta, &d); err != nil {
				s.err = fmt.Errorf("%w: message_delta: %v", ErrInvalidResponse, err)
				return
			}
		}
		if d.StopReason != nil {
			f := FinishReason(*d.StopReason)
			s.chunk(&oaRespMsg{}, &f)
		}
	case "message_stop":
		s.needStart()
		if s.includeUsage {
			c := oaCompletion{ID: completionID(s.id), Object: "chat.completion.chunk", Created: s.created, Model: s.model,
				Choices: []oaChoice{}, Usage: s.usage.openAI()}
			s.emit(&c)
		}
		s.out.WriteString("data: [DONE]\n\n")
		s.finished = true
	case "error":
		typ, msg := "api_error", "the Anthropic backend failed while streaming"
		if ev.Error != nil {
			typ, msg = ev.Error.Type, ev.Error.Message
		}
		body, _ := json.Marshal(msgError{Type: "error", Error: struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		}{typ, msg}})
		_, out := ConvertError(errorStatus(typ), body)
		s.out.WriteString("data: ")
		s.out.Write(out)
		s.out.WriteString("\n\n")
		s.finished = true
	case "ping", "content_block_stop":
	default:
		// Unknown event types are skipped: the API may add some.
	}
}

// needStart fails a stream whose first event is not message_start.
func (s *Stream) needStart() {
	if !s.started && s.err == nil {
		s.err = fmt.Errorf("%w: stream does not begin with message_start", ErrInvalidResponse)
	}
}

func (s *Stream) chunk(delta *oaRespMsg, finish *string) {
	if s.err != nil {
		return
	}
	c := oaCompletion{ID: completionID(s.id), Object: "chat.completion.chunk", Created: s.created, Model: s.model,
		Choices: []oaChoice{{Delta: delta, FinishReason: finish}}}
	s.emit(&c)
}

func (s *Stream) emit(c *oaCompletion) {
	b, err := json.Marshal(c)
	if err != nil {
		s.err = fmt.Errorf("encode chunk: %w", err)
		return
	}
	s.out.WriteString("data: ")
	s.out.Write(b)
	s.out.WriteString("\n\n")
}

// errorStatus is the HTTP status an error type of a stream error event
// would have had.
func errorStatus(t string) int {
	switch t {
	case "overloaded_error":
		return StatusOverloaded
	case "rate_limit_error":
		return 429
	case "invalid_request_error":
		return 400
	case "authentication_error":
		return 401
	case "permission_error":
		return 403
	case "not_found_error":
		return 404
	case "request_too_large":
		return 413
	}
	return 500
}
