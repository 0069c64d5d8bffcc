// Package cachekey computes the response-cache fingerprints of an OpenAI
// chat-completions body with the shared definition of pkg/cachekey (the
// one the cache service keys on), so the gateway sends fingerprints
// instead of whole requests.
//
// The body is read as a cachekey.ChatRequest: protocol "openai.chat";
// messages (role, text or content parts, name, tool_call_id, tool_calls);
// tools, tool_choice and response_format; and as params every other
// top-level member except model, messages, stream, stream_options, user,
// metadata and store.
package cachekey

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tidwall/gjson"

	shared "github.com/semrouter/semrouter/pkg/cachekey"
)

// Protocol names the wire API in the fingerprint.
const Protocol = "openai.chat"

// Keys are the fingerprints of one request, in hex.
type Keys struct {
	Exact   string
	Context string
	// HasUser reports whether the request has a user message.
	HasUser bool
}

// notParam reports the top-level members that are not generation parameters.
func notParam(name string) bool {
	switch name {
	case "model", "messages", "tools", "tool_choice", "response_format",
		"stream", "stream_options", "user", "metadata", "store":
		return true
	}
	return false
}

// Compute fingerprints a chat-completions body.
func Compute(body []byte) (Keys, error) {
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return Keys{}, errors.New("fingerprint request: body is not a JSON object")
	}
	req := shared.ChatRequest{Protocol: Protocol}
	root.ForEach(func(key, v gjson.Result) bool {
		switch name := key.Str; name {
		case "messages":
			v.ForEach(func(_, m gjson.Result) bool {
				req.Messages = append(req.Messages, readMessage(m))
				return true
			})
		case "tools":
			req.Tools = elements(v)
		case "tool_choice":
			req.ToolChoice = json.RawMessage(v.Raw)
		case "response_format":
			req.ResponseFormat = json.RawMessage(v.Raw)
		default:
			if notParam(name) {
				return true
			}
			if req.Params == nil {
				req.Params = map[string]json.RawMessage{}
			}
			req.Params[name] = json.RawMessage(v.Raw)
		}
		return true
	})
	k, err := shared.ComputeKeys(&req)
	if err != nil {
		return Keys{}, fmt.Errorf("fingerprint request: %w", err)
	}
	return Keys{Exact: k.Exact.String(), Context: k.Context.String(), HasUser: k.HasUser}, nil
}

func readMessage(m gjson.Result) shared.Message {
	var msg shared.Message
	m.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "role":
			msg.Role = v.String()
		case "content":
			switch {
			case v.Type == gjson.String:
				msg.Content = v.Str
			case v.IsArray():
				msg.Parts = elements(v)
			}
		case "name":
			msg.Name = v.String()
		case "tool_call_id":
			msg.ToolCallID = v.String()
		case "tool_calls":
			msg.ToolCalls = elements(v)
		}
		return true
	})
	return msg
}

// elements returns the raw JSON elements of an array (nil otherwise).
func elements(v gjson.Result) []json.RawMessage {
	if !v.IsArray() {
		return nil
	}
	var out []json.RawMessage
	v.ForEach(func(_, e gjson.Result) bool {
		out = append(out, json.RawMessage(e.Raw))
		return true
	})
	return out
}
