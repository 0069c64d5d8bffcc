// Package cachekey computes the response-cache fingerprints of an
// OpenAI chat-completions body, with exactly the canonical form the cache
// service (services/cache, ComputeKeys) defines, so that the gateway can
// send fingerprints instead of whole requests.
//
// # Recipe
//
// The body is read as a cache ChatRequest:
//
//   - protocol: "openai.chat";
//   - messages[i]: role; content — a string becomes the text, an array
//     becomes the list of its parts (raw JSON); name; tool_call_id;
//     tool_calls (raw JSON elements);
//   - tools (raw JSON elements), tool_choice, response_format (raw JSON);
//   - params: every other top-level member except model, messages, stream,
//     stream_options, user, metadata and store (temperature, top_p,
//     max_tokens, seed, stop, n, reasoning_effort, …). A null param counts
//     as absent.
//
// The model is never fingerprinted (the selected model is part of the
// cache partition) and neither is the stream flag (the gateway always
// stores the JSON completion and replays it as SSE when asked).
//
// Canonical form, hashed with SHA-256 and sent as lower-case hex: the JSON
// encoding (encoding/json, sorted map keys) of
//
//	{"protocol":P,"messages":[M...],"tools":[...],"tool_choice":X,"response_format":Y,"params":[[name,value]...]}
//
// with empty members omitted, params sorted by name, every raw JSON value
// re-encoded with sorted keys and canonical numbers (integral values below
// 2^53 as integers, others in Go's shortest 'g' form), and each message as
// {"role","content","parts","name","tool_call_id","tool_calls","elided"}
// (empty members omitted): the role lower-cased and trimmed, the text with
// every run of white space collapsed to one space and the ends trimmed.
//
// The exact fingerprint hashes the whole request. The context fingerprint
// hashes it with the last user message replaced by {"role":"user",
// "elided":true}; without a user message it equals the exact fingerprint.
package cachekey

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
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

// notParams are the top-level members that are not generation parameters.
func notParam(name string) bool {
	switch name {
	case "model", "messages", "tools", "tool_choice", "response_format",
		"stream", "stream_options", "user", "metadata", "store":
		return true
	}
	return false
}

type message struct {
	Role       string `json:"role"`
	Content    string `json:"content,omitempty"`
	Parts      []any  `json:"parts,omitempty"`
	Name       string `json:"name,omitempty"`
	ToolCallID string `json:"tool_call_id,omitempty"`
	ToolCalls  []any  `json:"tool_calls,omitempty"`
	Elided     bool   `json:"elided,omitempty"`
}

type request struct {
	Protocol       string    `json:"protocol"`
	Messages       []message `json:"messages"`
	Tools          []any     `json:"tools,omitempty"`
	ToolChoice     any       `json:"tool_choice,omitempty"`
	ResponseFormat any       `json:"response_format,omitempty"`
	Params         [][2]any  `json:"params,omitempty"`
}

// Compute fingerprints a chat-completions body.
func Compute(body []byte) (Keys, error) {
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return Keys{}, errors.New("fingerprint request: body is not a JSON object")
	}
	req := request{Protocol: Protocol}
	lastUser := -1
	var err error
	root.ForEach(func(key, v gjson.Result) bool {
		switch name := key.Str; name {
		case "messages":
			v.ForEach(func(_, m gjson.Result) bool {
				var msg message
				if msg, err = readMessage(m, len(req.Messages)); err != nil {
					return false
				}
				if msg.Role == "user" {
					lastUser = len(req.Messages)
				}
				req.Messages = append(req.Messages, msg)
				return true
			})
		case "tools":
			req.Tools, err = elements("tools", v)
		case "tool_choice":
			req.ToolChoice, err = canonical("tool_choice", v)
		case "response_format":
			req.ResponseFormat, err = canonical("response_format", v)
		default:
			if notParam(name) {
				return true
			}
			var c any
			if c, err = canonical(fmt.Sprintf("param %q", name), v); err == nil && c != nil {
				req.Params = append(req.Params, [2]any{name, c})
			}
		}
		return err == nil
	})
	if err != nil {
		return Keys{}, err
	}
	sort.Slice(req.Params, func(i, j int) bool { return req.Params[i][0].(string) < req.Params[j][0].(string) })
	exact, err := digest(&req)
	if err != nil {
		return Keys{}, err
	}
	k := Keys{Exact: exact, Context: exact, HasUser: lastUser >= 0}
	if lastUser >= 0 {
		kept := req.Messages[lastUser]
		req.Messages[lastUser] = message{Role: kept.Role, Elided: true}
		k.Context, err = digest(&req)
		req.Messages[lastUser] = kept
		if err != nil {
			return Keys{}, err
		}
	}
	return k, nil
}

func readMessage(m gjson.Result, i int) (message, error) {
	var msg message
	var err error
	m.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "role":
			msg.Role = strings.ToLower(strings.TrimSpace(v.String()))
		case "content":
			switch {
			case v.Type == gjson.String:
				msg.Content = strings.Join(strings.Fields(v.Str), " ")
			case v.IsArray():
				msg.Parts, err = elements(fmt.Sprintf("messages[%d].content", i), v)
			}
		case "name":
			msg.Name = v.String()
		case "tool_call_id":
			msg.ToolCallID = v.String()
		case "tool_calls":
			msg.ToolCalls, err = elements(fmt.Sprintf("messages[%d].tool_calls", i), v)
		}
		return err == nil
	})
	return msg, err
}

func elements(what string, v gjson.Result) ([]any, error) {
	if !v.IsArray() {
		return nil, nil
	}
	var out []any
	var err error
	i := 0
	v.ForEach(func(_, e gjson.Result) bool {
		var c any
		if c, err = canonical(fmt.Sprintf("%s[%d]", what, i), e); err != nil {
			return false
		}
		out = append(out, c)
		i++
		return true
	})
	return out, err
}

// canonical decodes one raw JSON value keeping numbers exact, then
// normalises the numbers; null becomes nil.
func canonical(what string, v gjson.Result) (any, error) {
	raw := bytes.TrimSpace([]byte(v.Raw))
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("canonicalise %s: %w", what, err)
	}
	return numbers(out), nil
}

func numbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return t
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return json.Number(strconv.FormatInt(int64(f), 10))
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	case map[string]any:
		for k, e := range t {
			t[k] = numbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = numbers(e)
		}
	}
	return v
}

func digest(r *request) (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encode canonical request: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}
