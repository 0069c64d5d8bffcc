package responses

import (
	"encoding/json"
	"strings"
)

// chatRequest is the chat completion request a Responses request becomes.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Tools               []chatTool      `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
	User                string          `json:"user,omitempty"`
	ResponseFormat      json.RawMessage `json:"response_format,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []chatToolCall  `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

type chatToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type chatTool struct {
	Type     string       `json:"type"`
	Function chatToolFunc `json:"function"`
}

type chatToolFunc struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

type chatPart struct {
	Type     string        `json:"type"`
	Text     string        `json:"text,omitempty"`
	ImageURL *chatImageURL `json:"image_url,omitempty"`
}

type chatImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

var nullJSON = json.RawMessage("null")

// ChatBody renders the chat completion request for r: instructions as
// the system message, then history (the stored conversation of
// previous_response_id) and r's own input items.
func (r *Request) ChatBody(history []Item) ([]byte, error) {
	c := chatRequest{Model: r.Model, ParallelToolCalls: nil, MaxCompletionTokens: r.MaxOutputTokens,
		Temperature: r.Temperature, TopP: r.TopP, Stream: r.Stream, User: r.User, ReasoningEffort: r.ReasoningEffort}
	if r.Stream {
		c.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	n := len(history) + len(r.Input)
	if r.Instructions != nil {
		n++
	}
	c.Messages = make([]chatMessage, 0, n)
	if r.Instructions != nil && *r.Instructions != "" {
		b, err := json.Marshal(*r.Instructions)
		if err != nil {
			return nil, err
		}
		c.Messages = append(c.Messages, chatMessage{Role: "system", Content: b})
	}
	var err error
	if c.Messages, err = appendMessages(c.Messages, history); err != nil {
		return nil, err
	}
	if c.Messages, err = appendMessages(c.Messages, r.Input); err != nil {
		return nil, err
	}
	if len(r.Tools) > 0 {
		c.Tools = make([]chatTool, len(r.Tools))
		for i, t := range r.Tools {
			c.Tools[i] = chatTool{Type: "function", Function: chatToolFunc{Name: t.Name, Description: t.Description,
				Parameters: t.Parameters, Strict: t.Strict}}
		}
		c.ParallelToolCalls = r.ParallelToolCalls
		c.ToolChoice = chatToolChoice(r.ToolChoice)
	}
	if f := r.Text; f != nil && f.Format != nil && f.Format.Type != "text" {
		c.ResponseFormat, err = responseFormat(f.Format)
		if err != nil {
			return nil, err
		}
	}
	return json.Marshal(&c)
}

// chatToolChoice maps {"type":"function","name":n} to the chat form; the
// string choices are the same.
func chatToolChoice(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || raw[0] == '"' {
		return raw
	}
	var o struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return nil
	}
	b, _ := json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": o.Name}})
	return b
}

func responseFormat(f *TextFormat) (json.RawMessage, error) {
	if f.Type == "json_object" {
		return json.RawMessage(`{"type":"json_object"}`), nil
	}
	type schema struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Schema      json.RawMessage `json:"schema,omitempty"`
		Strict      *bool           `json:"strict,omitempty"`
	}
	return json.Marshal(struct {
		Type       string `json:"type"`
		JSONSchema schema `json:"json_schema"`
	}{"json_schema", schema{f.Name, f.Description, f.Schema, f.Strict}})
}

// appendMessages translates items to chat messages: consecutive
// function_call items join the assistant message before them (or a new
// one), function_call_output items become tool messages.
func appendMessages(ms []chatMessage, items []Item) ([]chatMessage, error) {
	for i := range items {
		it := &items[i]
		switch it.Type {
		case TypeMessage:
			m, err := messageOf(it)
			if err != nil {
				return nil, err
			}
			ms = append(ms, m)
		case TypeFunctionCall:
			args := ""
			if it.Arguments != nil {
				args = *it.Arguments
			}
			tc := chatToolCall{ID: it.CallID, Type: "function", Function: chatFunction{Name: it.Name, Arguments: args}}
			if k := len(ms) - 1; k >= 0 && ms[k].Role == "assistant" {
				ms[k].ToolCalls = append(ms[k].ToolCalls, tc)
				continue
			}
			ms = append(ms, chatMessage{Role: "assistant", Content: nullJSON, ToolCalls: []chatToolCall{tc}})
		case TypeFunctionCallOutput:
			content := it.Output
			if len(content) > 0 && content[0] == '[' {
				s, aerr := outputText("", content)
				if aerr != nil {
					return nil, aerr
				}
				b, err := json.Marshal(s)
				if err != nil {
					return nil, err
				}
				content = b
			}
			ms = append(ms, chatMessage{Role: "tool", Content: content, ToolCallID: it.CallID})
		}
	}
	return ms, nil
}

// messageOf renders one message item. Developer messages go as system
// messages (OpenAI-compatible servers do not all know the developer
// role); assistant text parts are joined into one string.
func messageOf(it *Item) (chatMessage, error) {
	role := it.Role
	if role == "developer" {
		role = "system"
	}
	m := chatMessage{Role: role}
	images := false
	for _, p := range it.Content {
		if p.Type == PartInputImage {
			images = true
			break
		}
	}
	if !images || role != "user" {
		var b strings.Builder
		for _, p := range it.Content {
			switch {
			case p.Text != nil:
				b.WriteString(*p.Text)
			case p.Refusal != nil:
				b.WriteString(*p.Refusal)
			}
		}
		s, err := json.Marshal(b.String())
		m.Content = s
		return m, err
	}
	parts := make([]chatPart, 0, len(it.Content))
	for _, p := range it.Content {
		switch {
		case p.Type == PartInputImage:
			parts = append(parts, chatPart{Type: "image_url", ImageURL: &chatImageURL{URL: p.ImageURL, Detail: p.Detail}})
		case p.Text != nil:
			parts = append(parts, chatPart{Type: "text", Text: *p.Text})
		}
	}
	b, err := json.Marshal(parts)
	m.Content = b
	return m, err
}
