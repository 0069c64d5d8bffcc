// Package cachekey defines the response-cache fingerprints of a chat
// request: the exact fingerprint (the whole normalised request) and the
// context fingerprint (the same with the last user turn elided). The
// gateway computes them from the request body and the cache service keys
// its tiers on them, so both sides share this one definition.
//
// Canonical form, hashed with SHA-256: the JSON encoding (sorted map keys)
// of {"protocol","messages","tools","tool_choice","response_format",
// "params"} with empty members omitted, params sorted by name (a null param
// counts as absent), every raw JSON value re-encoded with sorted keys and
// canonical numbers (1, 1.0 and 1e0 alike), and each message as
// {"role","content","parts","name","tool_call_id","tool_calls","elided"}:
// the role lower-cased and trimmed, the text with every run of white space
// collapsed. The model and the stream flag are never fingerprinted (they
// belong to the cache partition).
package cachekey

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ChatRequest is the parsed part of a chat request the cache keys on.
type ChatRequest struct {
	// Protocol names the wire API ("openai.chat", "anthropic.messages",
	// "openai.responses"); equal bodies under different protocols differ.
	Protocol string
	// Model is the requested model. It is not fingerprinted: the selected
	// model is part of the partition instead.
	Model    string
	Messages []Message
	// Tools, ToolChoice and ResponseFormat are kept as raw JSON and
	// canonicalised (key order, insignificant whitespace) when hashed.
	Tools          []json.RawMessage
	ToolChoice     json.RawMessage
	ResponseFormat json.RawMessage
	// Params holds the generation parameters (temperature, top_p,
	// max_tokens, seed, stop, n, …) by their wire name.
	Params map[string]json.RawMessage
	// Stream is part of the partition, not of the fingerprints.
	Stream bool
}

// Message is one chat turn.
type Message struct {
	Role string
	// Content is the text content; runs of whitespace are collapsed and the
	// ends trimmed before hashing.
	Content string
	// Parts holds structured content parts (images, audio, …) as raw JSON
	// when the content is not plain text.
	Parts      []json.RawMessage
	Name       string
	ToolCallID string
	ToolCalls  []json.RawMessage
}

// Fingerprint is a SHA-256 digest of a canonical request form.
type Fingerprint [sha256.Size]byte

// String returns the digest in hex.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// IsZero reports whether f is unset.
func (f Fingerprint) IsZero() bool { return f == Fingerprint{} }

// ParseFingerprint decodes a hex digest.
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(f) {
		return f, fmt.Errorf("parse fingerprint %q: want %d hex bytes", s, len(f))
	}
	copy(f[:], b)
	return f, nil
}

// Keys are the lookup keys of one request.
type Keys struct {
	Exact   Fingerprint
	Context Fingerprint
	// LastUser is the normalised text of the last user turn, the text the
	// semantic tier embeds. Empty when the request has no user turn.
	LastUser string
	// HasUser reports whether a last user turn was found; without one only
	// the exact tier applies.
	HasUser bool
}

// ComputeKeys fingerprints req. It fails on raw JSON that does not parse.
func ComputeKeys(req *ChatRequest) (Keys, error) {
	last := lastUserIndex(req.Messages)
	exact, err := fingerprint(req, -1)
	if err != nil {
		return Keys{}, err
	}
	k := Keys{Exact: exact, HasUser: last >= 0}
	if last < 0 {
		// Without a user turn the context is the whole request.
		k.Context = exact
		return k, nil
	}
	if k.Context, err = fingerprint(req, last); err != nil {
		return Keys{}, err
	}
	k.LastUser = NormalizeText(messageText(req.Messages[last]))
	return k, nil
}

// ExactFingerprint hashes the whole normalised request.
func ExactFingerprint(req *ChatRequest) (Fingerprint, error) {
	return fingerprint(req, -1)
}

// ContextFingerprint hashes the request with its last user turn replaced by
// a placeholder (turns after it, such as tool results, still count).
func ContextFingerprint(req *ChatRequest) (Fingerprint, error) {
	return fingerprint(req, lastUserIndex(req.Messages))
}

func lastUserIndex(msgs []Message) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.EqualFold(strings.TrimSpace(msgs[i].Role), "user") {
			return i
		}
	}
	return -1
}

func messageText(m Message) string {
	if m.Content != "" || len(m.Parts) == 0 {
		return m.Content
	}
	var b strings.Builder
	for _, p := range m.Parts {
		var part struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(p, &part) == nil && part.Text != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(part.Text)
		}
	}
	return b.String()
}

// NormalizeText collapses every run of Unicode whitespace to one space and
// trims the ends.
func NormalizeText(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// canonicalJSON re-encodes raw JSON with sorted object keys, no
// insignificant whitespace and numbers kept verbatim.
func canonicalJSON(raw json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return canonicalNumbers(v), nil
}

// canonicalNumbers rewrites every number so that equal values hash equally
// (1, 1.0 and 1e0 all become 1).
func canonicalNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
		if f, err := strconv.ParseFloat(string(t), 64); err == nil {
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return json.Number(strconv.FormatInt(int64(f), 10))
			}
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
		return t
	case map[string]any:
		for k, e := range t {
			t[k] = canonicalNumbers(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = canonicalNumbers(e)
		}
		return t
	default:
		return v
	}
}

type canonMessage struct {
	Role       string `json:"role"`
	Content    string `json:"content,omitempty"`
	Parts      []any  `json:"parts,omitempty"`
	Name       string `json:"name,omitempty"`
	ToolCallID string `json:"tool_call_id,omitempty"`
	ToolCalls  []any  `json:"tool_calls,omitempty"`
	Elided     bool   `json:"elided,omitempty"`
}

type canonRequest struct {
	Protocol       string         `json:"protocol"`
	Messages       []canonMessage `json:"messages"`
	Tools          []any          `json:"tools,omitempty"`
	ToolChoice     any            `json:"tool_choice,omitempty"`
	ResponseFormat any            `json:"response_format,omitempty"`
	Params         [][2]any       `json:"params,omitempty"`
}

// fingerprint hashes req; the message at elide (if >= 0) is replaced by a
// placeholder.
func fingerprint(req *ChatRequest, elide int) (Fingerprint, error) {
	c := canonRequest{Protocol: strings.ToLower(strings.TrimSpace(req.Protocol))}
	raws := func(what string, in []json.RawMessage) ([]any, error) {
		var out []any
		for i, r := range in {
			v, err := canonicalJSON(r)
			if err != nil {
				return nil, fmt.Errorf("canonicalise %s[%d]: %w", what, i, err)
			}
			out = append(out, v)
		}
		return out, nil
	}
	for i, m := range req.Messages {
		cm := canonMessage{Role: strings.ToLower(strings.TrimSpace(m.Role))}
		if i == elide {
			cm.Elided = true
			c.Messages = append(c.Messages, cm)
			continue
		}
		cm.Content = NormalizeText(m.Content)
		cm.Name = m.Name
		cm.ToolCallID = m.ToolCallID
		var err error
		if cm.Parts, err = raws(fmt.Sprintf("messages[%d].content", i), m.Parts); err != nil {
			return Fingerprint{}, err
		}
		if cm.ToolCalls, err = raws(fmt.Sprintf("messages[%d].tool_calls", i), m.ToolCalls); err != nil {
			return Fingerprint{}, err
		}
		c.Messages = append(c.Messages, cm)
	}
	var err error
	if c.Tools, err = raws("tools", req.Tools); err != nil {
		return Fingerprint{}, err
	}
	if c.ToolChoice, err = canonicalJSON(req.ToolChoice); err != nil {
		return Fingerprint{}, fmt.Errorf("canonicalise tool_choice: %w", err)
	}
	if c.ResponseFormat, err = canonicalJSON(req.ResponseFormat); err != nil {
		return Fingerprint{}, fmt.Errorf("canonicalise response_format: %w", err)
	}
	names := make([]string, 0, len(req.Params))
	for k := range req.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v, err := canonicalJSON(req.Params[k])
		if err != nil {
			return Fingerprint{}, fmt.Errorf("canonicalise param %q: %w", k, err)
		}
		if v == nil {
			continue // absent and null mean the same
		}
		c.Params = append(c.Params, [2]any{k, v})
	}
	b, err := json.Marshal(c)
	if err != nil {
		return Fingerprint{}, fmt.Errorf("encode canonical request: %w", err)
	}
	return sha256.Sum256(b), nil
}
