// Package sse parses OpenAI chat-completion server-sent events as they pass
// through (chunk boundaries may fall anywhere), reassembles the completion,
// and renders completions back into an SSE stream for cache replay.
package sse

import (
	"bytes"
	"encoding/json"
	"unsafe"

	"github.com/tidwall/gjson"
)

// DefaultMaxBytes caps what a Reassembler buffers (pending line, event data
// and reassembled text together).
const DefaultMaxBytes = 4 << 20

// Usage is the token usage reported by the upstream.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
	// CachedTokens is prompt_tokens_details.cached_tokens: prompt tokens
	// read from the provider's prompt cache (part of PromptTokens).
	CachedTokens int64 `json:"-"`
	// CacheWriteTokens is cache_creation_input_tokens (Anthropic, and
	// its OpenAI-compatible translation): prompt tokens written to the
	// provider's prompt cache (part of PromptTokens).
	CacheWriteTokens int64 `json:"-"`
	// ReasoningTokens is completion_tokens_details.reasoning_tokens (part
	// of CompletionTokens).
	ReasoningTokens int64 `json:"-"`
}

// ToolCall is a reassembled tool call.
type ToolCall struct {
	ID        string
	Type      string
	Name      string
	Arguments []byte
}

// Reassembler consumes an SSE byte stream incrementally. The zero value is
// not usable; use New.
type Reassembler struct {
	max  int
	line []byte // pending partial line
	data []byte // data lines of the event being read

	ID, Model, Role, FinishReason string
	Created                       int64
	Usage                         Usage
	HasUsage                      bool
	// Done is set once "data: [DONE]" was seen.
	Done bool
	// Events counts dispatched data events.
	Events int
	// Overflow is set when the stream exceeded the byte cap; the
	// reassembled completion is then incomplete and must not be cached.
	Overflow bool
	// Malformed counts events whose data was not valid JSON.
	Malformed int
	// MultiChoice is set when a chunk carried a choice index other than 0.
	MultiChoice bool

	content   []byte
	reasoning []byte
	tools     []ToolCall
	sawToken  bool
}

// New returns a Reassembler that buffers at most maxBytes (<=0: DefaultMaxBytes).
func New(maxBytes int) *Reassembler {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Reassembler{max: maxBytes}
}

// Write feeds the next bytes of the stream. It reports whether these bytes
// carried the first generated token (content, reasoning or tool call), which
// callers use for time-to-first-token.
func (r *Reassembler) Write(p []byte) (firstToken bool) {
	before := r.sawToken
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			r.appendLine(p)
			break
		}
		if len(r.line) > 0 {
			r.appendLine(p[:i])
			r.handleLine(r.line)
			r.line = r.line[:0]
		} else {
			r.handleLine(p[:i])
		}
		p = p[i+1:]
	}
	return !before && r.sawToken
}

// Close flushes a final event that was not followed by a blank line.
func (r *Reassembler) Close() {
	if len(r.line) > 0 {
		r.handleLine(r.line)
		r.line = r.line[:0]
	}
	r.dispatch()
}

func (r *Reassembler) appendLine(p []byte) {
	if len(r.line)+len(p) > r.max {
		r.Overflow = true
		return
	}
	r.line = append(r.line, p...)
}

func (r *Reassembler) handleLine(line []byte) {
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) == 0 {
		r.dispatch()
		return
	}
	if line[0] == ':' {
		return // comment
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	if string(field) != "data" {
		return
	}
	if len(r.data)+len(value)+1 > r.max {
		r.Overflow = true
		return
	}
	if len(r.data) > 0 {
		r.data = append(r.data, '\n')
	}
	r.data = append(r.data, value...)
}

func (r *Reassembler) dispatch() {
	if len(r.data) == 0 {
		return
	}
	data := r.data
	r.data = r.data[:0]
	r.Events++
	if string(data) == "[DONE]" {
		r.Done = true
		return
	}
	if !gjson.ValidBytes(data) {
		r.Malformed++
		return
	}
	r.chunk(gjson.Parse(unsafe.String(unsafe.SliceData(data), len(data))))
}

// chunk merges one chat.completion.chunk in a single pass over each
// object. Strings taken from it are copied because data is reused.
func (r *Reassembler) chunk(c gjson.Result) {
	c.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			if r.ID == "" {
				r.ID = clone(v.Str)
			}
		case "model":
			if r.Model == "" {
				r.Model = clone(v.Str)
			}
		case "created":
			if r.Created == 0 {
				r.Created = v.Int()
			}
		case "usage":
			if v.IsObject() {
				r.HasUsage = true
				r.Usage = ParseUsage(v)
			}
		case "choices":
			v.ForEach(func(_, ch gjson.Result) bool {
				r.choice(ch)
				return true
			})
		}
		return true
	})
}

// ParseUsage reads an OpenAI usage object, with its prompt cache
// (prompt_tokens_details.cached_tokens, cache_creation_input_tokens) and
// reasoning (completion_tokens_details.reasoning_tokens) details.
func ParseUsage(v gjson.Result) Usage {
	var u Usage
	v.ForEach(func(k, n gjson.Result) bool {
		switch k.Str {
		case "prompt_tokens":
			u.PromptTokens = n.Int()
		case "completion_tokens":
			u.CompletionTokens = n.Int()
		case "total_tokens":
			u.TotalTokens = n.Int()
		case "cache_creation_input_tokens":
			u.CacheWriteTokens = n.Int()
		case "prompt_tokens_details":
			u.CachedTokens = n.Get("cached_tokens").Int()
		case "completion_tokens_details":
			u.ReasoningTokens = n.Get("reasoning_tokens").Int()
		}
		return true
	})
	return u
}

// usageJSON is the OpenAI wire shape of Usage (details only when set).
type usageJSON struct {
	PromptTokens             int64          `json:"prompt_tokens"`
	CompletionTokens         int64          `json:"completion_tokens"`
	TotalTokens              int64          `json:"total_tokens"`
	PromptTokensDetails      *promptDetails `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails  *complDetails  `json:"completion_tokens_details,omitempty"`
	CacheCreationInputTokens int64          `json:"cache_creation_input_tokens,omitempty"`
}

type promptDetails struct {
	CachedTokens int64 `json:"cached_tokens"`
}

type complDetails struct {
	ReasoningTokens int64 `json:"reasoning_tokens"`
}

// MarshalJSON writes the OpenAI usage object, with the prompt cache and
// reasoning details when they are set (a cached answer keeps them, so
// what it cost can be priced again on a hit).
func (u Usage) MarshalJSON() ([]byte, error) {
	w := usageJSON{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens,
		CacheCreationInputTokens: u.CacheWriteTokens}
	if u.CachedTokens != 0 {
		w.PromptTokensDetails = &promptDetails{u.CachedTokens}
	}
	if u.ReasoningTokens != 0 {
		w.CompletionTokensDetails = &complDetails{u.ReasoningTokens}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads an OpenAI usage object (ParseUsage's fields).
func (u *Usage) UnmarshalJSON(b []byte) error {
	var w usageJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*u = Usage{PromptTokens: w.PromptTokens, CompletionTokens: w.CompletionTokens, TotalTokens: w.TotalTokens,
		CacheWriteTokens: w.CacheCreationInputTokens}
	if w.PromptTokensDetails != nil {
		u.CachedTokens = w.PromptTokensDetails.CachedTokens
	}
	if w.CompletionTokensDetails != nil {
		u.ReasoningTokens = w.CompletionTokensDetails.ReasoningTokens
	}
	return nil
}

func (r *Reassembler) choice(ch gjson.Result) {
	var index int64
	var delta, finish gjson.Result
	ch.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "index":
			index = v.Int()
		case "delta":
			delta = v
		case "finish_reason":
			finish = v
		}
		return true
	})
	if index != 0 {
		r.MultiChoice = true
		return
	}
	if finish.Type == gjson.String {
		r.FinishReason = clone(finish.Str)
	}
	delta.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "role":
			if r.Role == "" && v.Str != "" {
				r.Role = clone(v.Str)
			}
		case "content":
			if v.Type == gjson.String && v.Str != "" {
				r.sawToken = true
				r.content = r.appendText(r.content, v.String())
			}
		case "reasoning_content":
			if v.Type == gjson.String && v.Str != "" {
				r.sawToken = true
				r.reasoning = r.appendText(r.reasoning, v.String())
			}
		case "tool_calls":
			v.ForEach(func(_, tc gjson.Result) bool {
				r.sawToken = true
				r.mergeTool(tc)
				return true
			})
		}
		return true
	})
}

func (r *Reassembler) appendText(dst []byte, s string) []byte {
	if len(r.content)+len(r.reasoning)+len(s) > r.max {
		r.Overflow = true
		return dst
	}
	return append(dst, s...)
}

func (r *Reassembler) mergeTool(tc gjson.Result) {
	idx := int(tc.Get("index").Int())
	if idx < 0 || idx > 127 {
		r.Overflow = true
		return
	}
	for len(r.tools) <= idx {
		r.tools = append(r.tools, ToolCall{})
	}
	t := &r.tools[idx]
	if id := tc.Get("id").Str; id != "" {
		t.ID = clone(id)
	}
	if typ := tc.Get("type").Str; typ != "" {
		t.Type = clone(typ)
	}
	fn := tc.Get("function")
	if name := fn.Get("name").Str; name != "" {
		t.Name = clone(name)
	}
	if args := fn.Get("arguments"); args.Type == gjson.String {
		t.Arguments = r.appendText(t.Arguments, args.String())
	}
}

func clone(s string) string {
	if s == "" {
		return ""
	}
	return string([]byte(s))
}

// Content is the reassembled assistant text.
func (r *Reassembler) Content() string { return string(r.content) }

// ToolCalls returns the reassembled tool calls.
func (r *Reassembler) ToolCalls() []ToolCall { return r.tools }

// Complete reports whether the stream ended cleanly with [DONE] and the
// reassembled completion is whole.
func (r *Reassembler) Complete() bool {
	return r.Done && !r.Overflow && !r.MultiChoice && r.Malformed == 0
}

// Completion renders the reassembled stream as a chat.completion JSON body.
func (r *Reassembler) Completion() ([]byte, error) {
	msg := message{Role: r.Role, Content: string(r.content), ReasoningContent: string(r.reasoning)}
	if msg.Role == "" {
		msg.Role = "assistant"
	}
	for _, t := range r.tools {
		typ := t.Type
		if typ == "" {
			typ = "function"
		}
		msg.ToolCalls = append(msg.ToolCalls, toolCall{ID: t.ID, Type: typ,
			Function: function{Name: t.Name, Arguments: string(t.Arguments)}})
	}
	out := completion{ID: r.ID, Object: "chat.completion", Created: r.Created, Model: r.Model,
		Choices: []choice{{Index: 0, Message: &msg, FinishReason: nullable(r.FinishReason)}}}
	if r.HasUsage {
		u := r.Usage
		out.Usage = &u
	}
	return json.Marshal(out)
}

type completion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	Usage   *Usage   `json:"usage,omitempty"`
}

type choice struct {
	Index        int      `json:"index"`
	Message      *message `json:"message,omitempty"`
	Delta        *message `json:"delta,omitempty"`
	FinishReason any      `json:"finish_reason"`
}

type message struct {
	Role             string     `json:"role,omitempty"`
	Content          string     `json:"content"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	ToolCalls        []toolCall `json:"tool_calls,omitempty"`
}

type toolCall struct {
	Index    *int     `json:"index,omitempty"`
	ID       string   `json:"id,omitempty"`
	Type     string   `json:"type,omitempty"`
	Function function `json:"function"`
}

type function struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
