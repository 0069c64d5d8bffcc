// Package anthropic translates between the OpenAI chat-completions API the
// router speaks to clients and the Anthropic Messages API of a model whose
// providers.models[].api_format is anthropic: the request body on the way
// up (ConvertRequest), and the response on the way down (Exchange.Response:
// JSON bodies, SSE streams and error bodies).
package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

// DefaultMaxTokens is the max_tokens sent when the client set neither
// max_tokens nor max_completion_tokens: the Messages API requires one.
const DefaultMaxTokens = 4096

// DefaultVersion is the anthropic-version header sent unless the backend's
// extra_headers set one.
const DefaultVersion = "2023-06-01"

// Header names of the Messages API.
const (
	HeaderAPIKey  = "x-api-key"
	HeaderVersion = "anthropic-version"
)

// oaRequest is the part of an OpenAI chat-completions body the translation
// reads.
type oaRequest struct {
	Model               string          `json:"model"`
	Messages            []oaMessage     `json:"messages"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools             []oaTool        `json:"tools"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	User              string          `json:"user"`
}

type oaMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []oaToolCall    `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

type oaToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type oaTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

type oaPart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL *struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

// Messages API request shapes.
type msgRequest struct {
	Model         string         `json:"model"`
	MaxTokens     int64          `json:"max_tokens"`
	System        string         `json:"system,omitempty"`
	Messages      []msgMessage   `json:"messages"`
	Temperature   *float64       `json:"temperature,omitempty"`
	TopP          *float64       `json:"top_p,omitempty"`
	StopSequences []string       `json:"stop_sequences,omitempty"`
	Stream        bool           `json:"stream,omitempty"`
	Tools         []msgTool      `json:"tools,omitempty"`
	ToolChoice    *msgToolChoice `json:"tool_choice,omitempty"`
	Metadata      *msgMetadata   `json:"metadata,omitempty"`
}

type msgMetadata struct {
	UserID string `json:"user_id"`
}

type msgMessage struct {
	Role    string     `json:"role"`
	Content []msgBlock `json:"content"`
}

type msgBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	Source    *msgImageSource `json:"source,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   []msgBlock      `json:"content,omitempty"`
}

type msgImageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type msgTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type msgToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// Exchange is one translated request: the Messages API body and what the
// response translation needs to know about the client's request.
type Exchange struct {
	// Body is the Messages API request body.
	Body []byte
	// Stream is the client's stream flag.
	Stream bool
	// IncludeUsage is stream_options.include_usage of the (rewritten)
	// request: only then does a stream end with a usage chunk.
	IncludeUsage bool
	// Model is the model id of the request, used when the response names
	// none.
	Model string
}

// ConvertRequest translates an OpenAI chat-completions body into a
// Messages API body. maxTokens is the max_tokens used when the request
// sets neither max_completion_tokens nor max_tokens (<= 0:
// DefaultMaxTokens). A request the Messages API cannot express is a 400
// *chatreq.APIError.
func ConvertRequest(body []byte, maxTokens int64) (*Exchange, error) {
	var in oaRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, chatreq.BadRequest("", "invalid_request", "request body is not a valid chat-completions request: "+err.Error())
	}
	if maxTokens <= 0 {
		maxTokens = DefaultMaxTokens
	}
	out := msgRequest{Model: in.Model, MaxTokens: maxTokens, Temperature: in.Temperature, TopP: in.TopP, Stream: in.Stream}
	switch {
	case in.MaxCompletionTokens != nil && *in.MaxCompletionTokens > 0:
		out.MaxTokens = *in.MaxCompletionTokens
	case in.MaxTokens != nil && *in.MaxTokens > 0:
		out.MaxTokens = *in.MaxTokens
	}
	if in.User != "" {
		out.Metadata = &msgMetadata{UserID: in.User}
	}
	stop, err := stopSequences(in.Stop)
	if err != nil {
		return nil, err
	}
	out.StopSequences = stop
	var system []string
	for i := range in.Messages {
		m := &in.Messages[i]
		if err := convertMessage(&out, &system, m, i); err != nil {
			return nil, err
		}
	}
	out.System = strings.Join(system, "\n\n")
	for i, t := range in.Tools {
		if t.Type != "" && t.Type != "function" {
			return nil, chatreq.BadRequest(fmt.Sprintf("tools[%d].type", i), "unsupported_tool",
				fmt.Sprintf("tool type %q cannot be sent to an Anthropic model; only function tools can", t.Type))
		}
		schema := t.Function.Parameters
		if len(bytes.TrimSpace(schema)) == 0 || string(bytes.TrimSpace(schema)) == "null" {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		}
		out.Tools = append(out.Tools, msgTool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	tc, err := toolChoice(in.ToolChoice, in.ParallelToolCalls)
	if err != nil {
		return nil, err
	}
	if tc != nil && tc.Type == "none" && len(out.Tools) == 0 {
		tc = nil
	}
	out.ToolChoice = tc
	b, err := json.Marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("encode messages request: %w", err)
	}
	x := &Exchange{Body: b, Stream: in.Stream, Model: in.Model}
	if in.StreamOptions != nil {
		x.IncludeUsage = in.StreamOptions.IncludeUsage
	}
	return x, nil
}

// convertMessage appends message i to out (system and developer turns go
// to system). Consecutive turns of one role are merged into one message,
// as the Messages API wants roles to alternate; tool results become
// tool_result blocks of a user turn.
func convertMessage(out *msgRequest, system *[]string, m *oaMessage, i int) error {
	param := fmt.Sprintf("messages[%d]", i)
	switch m.Role {
	case "system", "developer":
		text, _, err := contentBlocks(m.Content, param, false)
		if err != nil {
			return err
		}
		var parts []string
		for _, b := range text {
			parts = append(parts, b.Text)
		}
		if s := strings.Join(parts, "\n"); s != "" {
			*system = append(*system, s)
		}
		return nil
	case "user":
		blocks, _, err := contentBlocks(m.Content, param, true)
		if err != nil {
			return err
		}
		appendTurn(out, "user", blocks)
		return nil
	case "assistant":
		blocks, _, err := contentBlocks(m.Content, param, false)
		if err != nil {
			return err
		}
		for j, tc := range m.ToolCalls {
			input := json.RawMessage(`{}`)
			if a := strings.TrimSpace(tc.Function.Arguments); a != "" {
				if !json.Valid([]byte(a)) || a[0] != '{' {
					return chatreq.BadRequest(fmt.Sprintf("%s.tool_calls[%d].function.arguments", param, j), "invalid_tool_arguments",
						"tool call arguments must be a JSON object to be sent to an Anthropic model")
				}
				input = json.RawMessage(a)
			}
			blocks = append(blocks, msgBlock{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: input})
		}
		if len(blocks) > 0 {
			appendTurn(out, "assistant", blocks)
		}
		return nil
	case "tool", "function":
		content, _, err := contentBlocks(m.Content, param, false)
		if err != nil {
			return err
		}
		appendTurn(out, "user", []msgBlock{{Type: "tool_result", ToolUseID: m.ToolCallID, Content: content}})
		return nil
	}
	return chatreq.BadRequest(param+".role", "invalid_role", fmt.Sprintf("message role %q cannot be sent to an Anthropic model", m.Role))
}

func appendTurn(out *msgRequest, role string, blocks []msgBlock) {
	if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
		out.Messages[n-1].Content = append(out.Messages[n-1].Content, blocks...)
		return
	}
	out.Messages = append(out.Messages, msgMessage{Role: role, Content: blocks})
}

// contentBlocks turns an OpenAI content (a string, null or an array of
// parts) into text and (with images) image blocks. Empty text is dropped
// (the Messages API refuses empty text blocks).
func contentBlocks(raw json.RawMessage, param string, images bool) ([]msgBlock, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, chatreq.BadRequest(param+".content", "invalid_content", "content is not a valid string")
		}
		if s == "" {
			return nil, true, nil
		}
		return []msgBlock{{Type: "text", Text: s}}, true, nil
	}
	var parts []oaPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, false, chatreq.BadRequest(param+".content", "invalid_content", "content must be a string or an array of parts")
	}
	var out []msgBlock
	for j, p := range parts {
		switch p.Type {
		case "text", "input_text":
			if p.Text != "" {
				out = append(out, msgBlock{Type: "text", Text: p.Text})
			}
		case "image_url":
			if !images || p.ImageURL == nil {
				return nil, false, chatreq.BadRequest(fmt.Sprintf("%s.content[%d]", param, j), "unsupported_content",
					"image parts can only be sent in user messages to an Anthropic model")
			}
			src, err := imageSource(p.ImageURL.URL)
			if err != nil {
				return nil, false, chatreq.BadRequest(fmt.Sprintf("%s.content[%d].image_url.url", param, j), "invalid_image_url", err.Error())
			}
			out = append(out, msgBlock{Type: "image", Source: src})
		default:
			return nil, false, chatreq.BadRequest(fmt.Sprintf("%s.content[%d].type", param, j), "unsupported_content",
				fmt.Sprintf("content part type %q cannot be sent to an Anthropic model", p.Type))
		}
	}
	return out, true, nil
}

// imageSource maps an image_url: a base64 data URL becomes a base64
// source, an http(s) URL a url source.
func imageSource(u string) (*msgImageSource, error) {
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &msgImageSource{Type: "url", URL: u}, nil
	}
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return nil, fmt.Errorf("image url must be a base64 data URL or an http(s) URL")
	}
	meta, data, ok := strings.Cut(rest, ",")
	media, isB64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isB64 || data == "" {
		return nil, fmt.Errorf("image data URL must be base64 encoded (data:<media type>;base64,<data>)")
	}
	switch media {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
	default:
		return nil, fmt.Errorf("image media type %q is not one Anthropic accepts (image/jpeg, image/png, image/gif, image/webp)", media)
	}
	return &msgImageSource{Type: "base64", MediaType: media, Data: data}, nil
}

func stopSequences(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, chatreq.BadRequest("stop", "invalid_stop", "stop must be a string or an array of strings")
	}
	return many, nil
}

// toolChoice maps tool_choice ("none", "auto", "required" or a named
// function) and parallel_tool_calls false.
func toolChoice(raw json.RawMessage, parallel *bool) (*msgToolChoice, error) {
	raw = bytes.TrimSpace(raw)
	var tc *msgToolChoice
	if len(raw) > 0 && string(raw) != "null" {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			switch s {
			case "auto":
				tc = &msgToolChoice{Type: "auto"}
			case "required":
				tc = &msgToolChoice{Type: "any"}
			case "none":
				tc = &msgToolChoice{Type: "none"}
			default:
				return nil, chatreq.BadRequest("tool_choice", "invalid_tool_choice", fmt.Sprintf("unknown tool_choice %q", s))
			}
		} else {
			var named struct {
				Type     string `json:"type"`
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			}
			if err := json.Unmarshal(raw, &named); err != nil || named.Function.Name == "" {
				return nil, chatreq.BadRequest("tool_choice", "invalid_tool_choice", "tool_choice must be none, auto, required or a named function")
			}
			tc = &msgToolChoice{Type: "tool", Name: named.Function.Name}
		}
	}
	if parallel != nil && !*parallel {
		if tc == nil {
			tc = &msgToolChoice{Type: "auto"}
		}
		if tc.Type != "none" {
			tc.DisableParallelToolUse = true
		}
	}
	return tc, nil
}
