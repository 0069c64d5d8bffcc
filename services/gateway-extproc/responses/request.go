// Package responses translates the OpenAI Responses API (POST
// /v1/responses) to the router's chat-completions path and back: a
// Responses request becomes a chat completion request, the chat answer
// (JSON or SSE) becomes a Response object or the Responses event stream.
// It also keeps stored responses (previous_response_id, GET, DELETE,
// input_items) in memory or in redis.
package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

// Request is a parsed, validated POST /v1/responses body. Input holds the
// request's own input items, normalized (every item has a type and an id;
// message content is a list of parts).
type Request struct {
	Model              string
	Input              []Item
	Instructions       *string
	Tools              []Tool
	ToolChoice         json.RawMessage
	ParallelToolCalls  *bool
	MaxOutputTokens    *int64
	Temperature        *float64
	TopP               *float64
	Stream             bool
	Store              bool
	Metadata           map[string]string
	PreviousResponseID string
	User               string
	Text               *TextConfig
	ReasoningEffort    string
}

// Tool is a function tool of the request.
type Tool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// TextConfig is the request's text block (output format).
type TextConfig struct {
	Format *TextFormat `json:"format,omitempty"`
}

// TextFormat is text.format: text, json_object or json_schema.
type TextFormat struct {
	Type        string          `json:"type"`
	Name        string          `json:"name,omitempty"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Item is one conversation item: a message, a function_call or a
// function_call_output. It is what input_items lists and what the store
// keeps.
type Item struct {
	Type      string          `json:"type"`
	ID        string          `json:"id,omitempty"`
	Status    string          `json:"status,omitempty"`
	Role      string          `json:"role,omitempty"`
	Content   []Part          `json:"content,omitempty"`
	CallID    string          `json:"call_id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments *string         `json:"arguments,omitempty"`
	Output    json.RawMessage `json:"output,omitempty"`
	// Summary is a reasoning item's summary list (always []).
	Summary json.RawMessage `json:"summary,omitempty"`
}

// Part is one content part of a message item.
type Part struct {
	Type        string          `json:"type"`
	Text        *string         `json:"text,omitempty"`
	Annotations json.RawMessage `json:"annotations,omitempty"`
	ImageURL    string          `json:"image_url,omitempty"`
	Detail      string          `json:"detail,omitempty"`
	Refusal     *string         `json:"refusal,omitempty"`
}

// Item and part types.
const (
	TypeMessage            = "message"
	TypeFunctionCall       = "function_call"
	TypeFunctionCallOutput = "function_call_output"
	TypeReasoning          = "reasoning"
	PartReasoningText      = "reasoning_text"
	PartInputText          = "input_text"
	PartInputImage         = "input_image"
	PartOutputText         = "output_text"
	PartRefusal            = "refusal"
)

// wireRequest is the body as sent.
type wireRequest struct {
	Model              *string           `json:"model"`
	Input              json.RawMessage   `json:"input"`
	Instructions       *string           `json:"instructions"`
	Tools              []Tool            `json:"tools"`
	ToolChoice         json.RawMessage   `json:"tool_choice"`
	ParallelToolCalls  *bool             `json:"parallel_tool_calls"`
	MaxOutputTokens    *int64            `json:"max_output_tokens"`
	Temperature        *float64          `json:"temperature"`
	TopP               *float64          `json:"top_p"`
	Stream             bool              `json:"stream"`
	Store              *bool             `json:"store"`
	Metadata           map[string]string `json:"metadata"`
	PreviousResponseID *string           `json:"previous_response_id"`
	User               string            `json:"user"`
	Text               *TextConfig       `json:"text"`
	Reasoning          *struct {
		Effort *string `json:"effort"`
	} `json:"reasoning"`
	Background   bool            `json:"background"`
	Conversation json.RawMessage `json:"conversation"`
	Prompt       json.RawMessage `json:"prompt"`
}

type wireItem struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Status    string          `json:"status"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments *string         `json:"arguments"`
	Output    json.RawMessage `json:"output"`
}

type wirePart struct {
	Type     string  `json:"type"`
	Text     *string `json:"text"`
	ImageURL *string `json:"image_url"`
	FileID   string  `json:"file_id"`
	Detail   string  `json:"detail"`
	Refusal  *string `json:"refusal"`
}

// IDFunc returns a new object id with the given prefix ("resp", "msg",
// "fc"); tests inject a counter.
type IDFunc func(prefix string) string

// ParseRequest parses and validates a POST /v1/responses body. Every
// problem is a 400 naming the offending field in param.
func ParseRequest(body []byte, newID IDFunc) (*Request, *chatreq.APIError) {
	var w wireRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, decodeError("", err)
	}
	if dec.More() {
		return nil, chatreq.BadRequest("", "invalid_json", "request body holds more than one JSON value")
	}
	if w.Model == nil || strings.TrimSpace(*w.Model) == "" {
		return nil, chatreq.BadRequest("model", "missing_required_parameter", "model is required")
	}
	r := &Request{Model: *w.Model, Instructions: w.Instructions, ParallelToolCalls: w.ParallelToolCalls,
		MaxOutputTokens: w.MaxOutputTokens, Temperature: w.Temperature, TopP: w.TopP, Stream: w.Stream,
		Store: w.Store == nil || *w.Store, Metadata: w.Metadata, User: w.User, Text: w.Text}
	if w.PreviousResponseID != nil {
		r.PreviousResponseID = *w.PreviousResponseID
		if r.PreviousResponseID == "" {
			return nil, chatreq.BadRequest("previous_response_id", "invalid_value", "previous_response_id must not be empty")
		}
	}
	if w.Reasoning != nil && w.Reasoning.Effort != nil {
		r.ReasoningEffort = *w.Reasoning.Effort
	}
	switch {
	case w.Background:
		return nil, chatreq.BadRequest("background", "unsupported_parameter", "background responses are not supported by this router")
	case len(w.Conversation) > 0 && string(w.Conversation) != "null":
		return nil, chatreq.BadRequest("conversation", "unsupported_parameter", "conversations are not supported by this router: use previous_response_id")
	case len(w.Prompt) > 0 && string(w.Prompt) != "null":
		return nil, chatreq.BadRequest("prompt", "unsupported_parameter", "prompt templates are not supported by this router")
	case w.MaxOutputTokens != nil && *w.MaxOutputTokens < 1:
		return nil, chatreq.BadRequest("max_output_tokens", "invalid_value", "max_output_tokens must be a positive integer")
	}
	if err := r.parseTools(w.Tools); err != nil {
		return nil, err
	}
	if err := r.parseToolChoice(w.ToolChoice); err != nil {
		return nil, err
	}
	if err := checkTextFormat(w.Text); err != nil {
		return nil, err
	}
	items, err := ParseInput(w.Input, newID)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 && r.PreviousResponseID == "" {
		return nil, chatreq.BadRequest("input", "missing_required_parameter", "input is required: a string or a list of input items")
	}
	r.Input = items
	return r, nil
}

// decodeError turns a JSON decoding failure into a 400 naming the field.
func decodeError(prefix string, err error) *chatreq.APIError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if prefix != "" {
			field = strings.TrimSuffix(prefix+"."+field, ".")
		}
		return chatreq.BadRequest(field, "invalid_type", field+" must not be a JSON "+te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return chatreq.BadRequest(prefix, "invalid_json", "request body is not valid JSON: "+se.Error())
	}
	return chatreq.BadRequest(prefix, "invalid_json", "request body is not a JSON object")
}

func (r *Request) parseTools(tools []Tool) *chatreq.APIError {
	for i, t := range tools {
		p := "tools[" + strconv.Itoa(i) + "]"
		if t.Type != "function" {
			return chatreq.BadRequest(p+".type", "unsupported_tool_type",
				"tool type "+strconv.Quote(t.Type)+" is not supported by this router: only function tools are")
		}
		if t.Name == "" {
			return chatreq.BadRequest(p+".name", "missing_required_parameter", "a function tool needs a name")
		}
	}
	r.Tools = tools
	return nil
}

func (r *Request) parseToolChoice(raw json.RawMessage) *chatreq.APIError {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "none", "auto", "required":
			r.ToolChoice = raw
			return nil
		}
		return chatreq.BadRequest("tool_choice", "invalid_value", "tool_choice must be none, auto, required or a function")
	}
	var o struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return chatreq.BadRequest("tool_choice", "invalid_type", "tool_choice must be a string or an object")
	}
	if o.Type != "function" {
		return chatreq.BadRequest("tool_choice.type", "unsupported_tool_type",
			"tool_choice type "+strconv.Quote(o.Type)+" is not supported by this router: only function")
	}
	if o.Name == "" {
		return chatreq.BadRequest("tool_choice.name", "missing_required_parameter", "tool_choice of type function needs a name")
	}
	r.ToolChoice = raw
	return nil
}

func checkTextFormat(t *TextConfig) *chatreq.APIError {
	if t == nil || t.Format == nil {
		return nil
	}
	switch t.Format.Type {
	case "text", "json_object":
		return nil
	case "json_schema":
		if t.Format.Name == "" {
			return chatreq.BadRequest("text.format.name", "missing_required_parameter", "a json_schema format needs a name")
		}
		return nil
	}
	return chatreq.BadRequest("text.format.type", "invalid_value", "text.format.type must be text, json_object or json_schema")
}

// ParseInput normalizes the input field: a string is one user message; a
// list holds messages (with string or part content), function_call and
// function_call_output items. Reasoning items are dropped (the chat path
// has no place for them).
func ParseInput(raw json.RawMessage, newID IDFunc) ([]Item, *chatreq.APIError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, decodeError("input", err)
		}
		return []Item{{Type: TypeMessage, ID: newID("msg"), Status: "completed", Role: "user",
			Content: []Part{{Type: PartInputText, Text: &s}}}}, nil
	}
	if raw[0] != '[' {
		return nil, chatreq.BadRequest("input", "invalid_type", "input must be a string or a list of input items")
	}
	var ws []wireItem
	if err := json.Unmarshal(raw, &ws); err != nil {
		return nil, decodeError("input", err)
	}
	items := make([]Item, 0, len(ws))
	for i := range ws {
		it, keep, err := normalizeItem("input["+strconv.Itoa(i)+"]", &ws[i], newID)
		if err != nil {
			return nil, err
		}
		if keep {
			items = append(items, it)
		}
	}
	return items, nil
}

func normalizeItem(p string, w *wireItem, newID IDFunc) (Item, bool, *chatreq.APIError) {
	typ := w.Type
	if typ == "" && w.Role != "" {
		typ = TypeMessage
	}
	switch typ {
	case TypeMessage:
		return normalizeMessage(p, w, newID)
	case TypeFunctionCall:
		if w.CallID == "" {
			return Item{}, false, chatreq.BadRequest(p+".call_id", "missing_required_parameter", "a function_call item needs a call_id")
		}
		if w.Name == "" {
			return Item{}, false, chatreq.BadRequest(p+".name", "missing_required_parameter", "a function_call item needs a name")
		}
		args := ""
		if w.Arguments != nil {
			args = *w.Arguments
		}
		return Item{Type: TypeFunctionCall, ID: idOr(w.ID, "fc", newID), Status: "completed", CallID: w.CallID,
			Name: w.Name, Arguments: &args}, true, nil
	case TypeFunctionCallOutput:
		if w.CallID == "" {
			return Item{}, false, chatreq.BadRequest(p+".call_id", "missing_required_parameter", "a function_call_output item needs a call_id")
		}
		out := bytes.TrimSpace(w.Output)
		if len(out) == 0 || (out[0] != '"' && out[0] != '[') {
			return Item{}, false, chatreq.BadRequest(p+".output", "invalid_type", "output must be a string or a list of content parts")
		}
		if out[0] == '[' {
			if _, err := outputText(p, out); err != nil {
				return Item{}, false, err
			}
		}
		return Item{Type: TypeFunctionCallOutput, ID: idOr(w.ID, "fco", newID), Status: "completed", CallID: w.CallID,
			Output: out}, true, nil
	case TypeReasoning:
		return Item{}, false, nil
	case "":
		return Item{}, false, chatreq.BadRequest(p+".type", "missing_required_parameter", "an input item needs a type (or a role)")
	}
	return Item{}, false, chatreq.BadRequest(p+".type", "unsupported_item_type",
		"input item type "+strconv.Quote(typ)+" is not supported by this router: use message, function_call or function_call_output")
}

func idOr(id, prefix string, newID IDFunc) string {
	if id != "" {
		return id
	}
	return newID(prefix)
}

func normalizeMessage(p string, w *wireItem, newID IDFunc) (Item, bool, *chatreq.APIError) {
	switch w.Role {
	case "user", "system", "developer", "assistant":
	case "":
		return Item{}, false, chatreq.BadRequest(p+".role", "missing_required_parameter", "a message needs a role")
	default:
		return Item{}, false, chatreq.BadRequest(p+".role", "invalid_value", "role must be user, assistant, system or developer")
	}
	it := Item{Type: TypeMessage, ID: idOr(w.ID, "msg", newID), Status: "completed", Role: w.Role}
	c := bytes.TrimSpace(w.Content)
	if len(c) == 0 || string(c) == "null" {
		return Item{}, false, chatreq.BadRequest(p+".content", "missing_required_parameter", "a message needs content")
	}
	textType := PartInputText
	if w.Role == "assistant" {
		textType = PartOutputText
	}
	if c[0] == '"' {
		var s string
		if err := json.Unmarshal(c, &s); err != nil {
			return Item{}, false, decodeError(p+".content", err)
		}
		it.Content = []Part{textPart(textType, s)}
		return it, true, nil
	}
	var ws []wirePart
	if err := json.Unmarshal(c, &ws); err != nil {
		return Item{}, false, chatreq.BadRequest(p+".content", "invalid_type", "content must be a string or a list of content parts")
	}
	it.Content = make([]Part, 0, len(ws))
	for j, wp := range ws {
		pp := p + ".content[" + strconv.Itoa(j) + "]"
		switch wp.Type {
		case PartInputText, PartOutputText:
			if wp.Text == nil {
				return Item{}, false, chatreq.BadRequest(pp+".text", "missing_required_parameter", "a text part needs text")
			}
			it.Content = append(it.Content, textPart(wp.Type, *wp.Text))
		case PartRefusal:
			r := ""
			if wp.Refusal != nil {
				r = *wp.Refusal
			}
			it.Content = append(it.Content, Part{Type: PartRefusal, Refusal: &r})
		case PartInputImage:
			if wp.ImageURL == nil || *wp.ImageURL == "" {
				if wp.FileID != "" {
					return Item{}, false, chatreq.BadRequest(pp+".file_id", "unsupported_parameter",
						"file ids are not supported by this router: send the image as image_url (a URL or a data URL)")
				}
				return Item{}, false, chatreq.BadRequest(pp+".image_url", "missing_required_parameter", "an input_image part needs image_url")
			}
			it.Content = append(it.Content, Part{Type: PartInputImage, ImageURL: *wp.ImageURL, Detail: wp.Detail})
		default:
			return Item{}, false, chatreq.BadRequest(pp+".type", "unsupported_content_type",
				"content part type "+strconv.Quote(wp.Type)+" is not supported by this router: use input_text, input_image or output_text")
		}
	}
	return it, true, nil
}

func textPart(typ, s string) Part {
	p := Part{Type: typ, Text: &s}
	if typ == PartOutputText {
		p.Annotations = json.RawMessage("[]")
	}
	return p
}

// outputText joins the text parts of a function_call_output list.
func outputText(p string, out json.RawMessage) (string, *chatreq.APIError) {
	var ws []wirePart
	if err := json.Unmarshal(out, &ws); err != nil {
		return "", chatreq.BadRequest(p+".output", "invalid_type", "output must be a string or a list of content parts")
	}
	var b strings.Builder
	for j, wp := range ws {
		if wp.Type != PartInputText && wp.Type != PartOutputText {
			return "", chatreq.BadRequest(p+".output["+strconv.Itoa(j)+"].type", "unsupported_content_type",
				"function_call_output parts must be text parts")
		}
		if wp.Text != nil {
			b.WriteString(*wp.Text)
		}
	}
	return b.String(), nil
}

// MarshalJSON writes a message's content as [] when it has no parts yet
// (a streamed message just opened): clients expect the list.
func (it Item) MarshalJSON() ([]byte, error) {
	type plain Item
	if it.Type != TypeMessage || len(it.Content) > 0 {
		return json.Marshal(plain(it))
	}
	return json.Marshal(struct {
		plain
		Content []Part `json:"content"`
	}{plain(it), []Part{}})
}
