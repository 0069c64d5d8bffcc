package chatreq

import (
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Message is the compact view of one chat message.
type Message struct {
	Role string
	// Text is the message text: the string content, or the text parts of an
	// array content joined with "\n".
	Text string
	// Parts is the number of content parts when content is an array.
	Parts int
	// HasToolCalls reports an assistant message carrying tool_calls.
	HasToolCalls bool

	// contentAt/contentEnd bound the raw content value (contentAt < 0: none).
	contentAt, contentEnd int
}

// member is one top-level key of the body with the offsets of its key and
// value in the raw bytes.
type member struct {
	name          string
	keyAt         int
	valAt, valEnd int
}

// Request is the parsed view of a chat-completions body. Strings in the view
// may alias the raw body, which must not be mutated while the view is in use.
type Request struct {
	raw []byte

	Model    string
	Messages []Message
	// LastUser is the index of the last user message, -1 when there is none.
	LastUser int

	Stream       bool
	IncludeUsage bool
	HasTools     bool

	// ReasoningEffort is the top-level reasoning_effort; NestedEffort is
	// reasoning.effort.
	ReasoningEffort string
	NestedEffort    string

	// messagesAt is the offset of the messages array in raw.
	messagesAt int
	// members are the top-level keys in order; end is the offset of the
	// closing brace.
	members []member
	end     int
}

func (r *Request) member(name string) int {
	for i := range r.members {
		if r.members[i].name == name {
			return i
		}
	}
	return -1
}

// Raw returns the original body bytes.
func (r *Request) Raw() []byte { return r.raw }

// LastUserText is the text of the last user turn ("" when there is none).
func (r *Request) LastUserText() string {
	if r.LastUser < 0 {
		return ""
	}
	return r.Messages[r.LastUser].Text
}

// Parse validates body and builds the compact view in one pass over the
// top-level object. The returned error is always an *APIError (400).
func Parse(body []byte) (*Request, error) {
	r, msgs, err := parseObject(body, "messages")
	if err != nil {
		return nil, err
	}
	if !msgs.Exists() {
		return nil, BadRequest("messages", "missing_required_parameter", "missing required parameter: 'messages'")
	}
	if !msgs.IsArray() {
		return nil, BadRequest("messages", "invalid_type", "messages must be an array")
	}
	r.messagesAt = msgs.Index
	if err := r.parseMessages(msgs); err != nil {
		return nil, err
	}
	if len(r.Messages) == 0 {
		return nil, BadRequest("messages", "empty_array", "messages must contain at least one message")
	}
	return r, nil
}

// parseObject is the pass over the top-level object shared by every
// endpoint's body: JSON and UTF-8 validation, the members, a required
// string model, stream and stream_options. payload is the member the
// caller validates itself (messages, prompt, input); it is returned as is
// (not Exists when absent).
func parseObject(body []byte, payload string) (*Request, gjson.Result, error) {
	var none gjson.Result
	if len(body) == 0 {
		return nil, none, BadRequest("", "invalid_json", "request body is empty")
	}
	if !gjson.ValidBytes(body) {
		return nil, none, BadRequest("", "invalid_json", "request body is not valid JSON")
	}
	if !utf8.Valid(body) {
		// JSON text is UTF-8 (RFC 8259 §8.1): the router's stages cannot
		// carry other bytes, and model servers refuse them too.
		return nil, none, BadRequest("", "invalid_encoding", "request body is not valid UTF-8 (first invalid byte at offset "+
			strconv.Itoa(invalidUTF8At(body))+")")
	}
	// The body is immutable for the life of the view, so aliasing it as a
	// string avoids copying every value gjson hands back.
	s := unsafe.String(unsafe.SliceData(body), len(body))
	root := gjson.Parse(s)
	if !root.IsObject() {
		return nil, none, BadRequest("", "invalid_json", "request body must be a JSON object")
	}
	// The body is valid JSON and an object, so its last non-space byte is
	// the closing brace (gjson's root Raw may include trailing space).
	end := len(body) - 1
	for end > 0 && body[end] != '}' {
		end--
	}
	r := &Request{raw: body, LastUser: -1, messagesAt: -1, members: make([]member, 0, 12), end: end}
	var msgs gjson.Result
	var perr *APIError
	root.ForEach(func(key, value gjson.Result) bool {
		if r.member(key.Str) >= 0 {
			// Upstreams disagree on which duplicate wins; refuse instead
			// of routing on one value and forwarding the other.
			perr = BadRequest(key.Str, "duplicate_key", "duplicate key "+strconv.Quote(key.Str)+" in request body")
			return false
		}
		r.members = append(r.members, member{name: key.Str, keyAt: key.Index,
			valAt: value.Index, valEnd: value.Index + len(value.Raw)})
		switch key.Str {
		case "model":
			if value.Type != gjson.String {
				perr = BadRequest("model", "invalid_type", "model must be a string")
				return false
			}
			r.Model = value.Str
		case payload:
			msgs = value
		case "stream":
			if !isBoolOrNull(value) {
				perr = BadRequest("stream", "invalid_type", "stream must be a boolean")
				return false
			}
			r.Stream = value.Type == gjson.True
		case "stream_options":
			if value.Type != gjson.Null && !value.IsObject() {
				perr = BadRequest("stream_options", "invalid_type", "stream_options must be an object")
				return false
			}
			iu := value.Get("include_usage")
			if iu.Exists() && !isBoolOrNull(iu) {
				perr = BadRequest("stream_options.include_usage", "invalid_type", "stream_options.include_usage must be a boolean")
				return false
			}
			r.IncludeUsage = iu.Type == gjson.True
		case "tools":
			r.HasTools = value.IsArray() && len(value.Raw) > 2
		case "reasoning_effort":
			r.ReasoningEffort = value.Str
		case "reasoning":
			r.NestedEffort = value.Get("effort").Str
		}
		return true
	})
	if perr != nil {
		return nil, none, perr
	}
	if r.Model == "" {
		return nil, none, BadRequest("model", "missing_required_parameter", "missing required parameter: 'model'")
	}
	return r, msgs, nil
}

func (r *Request) parseMessages(msgs gjson.Result) *APIError {
	var perr *APIError
	r.Messages = make([]Message, 0, 4)
	msgs.ForEach(func(_, m gjson.Result) bool {
		at := len(r.Messages)
		if !m.IsObject() {
			perr = BadRequest(messageParam(at, ""), "invalid_type", "messages["+strconv.Itoa(at)+"] must be an object")
			return false
		}
		msg := Message{contentAt: -1}
		var content gjson.Result
		m.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "role":
				msg.Role = v.Str
			case "content":
				content = v
				msg.contentAt, msg.contentEnd = v.Index, v.Index+len(v.Raw)
			case "tool_calls":
				msg.HasToolCalls = v.IsArray() && len(v.Raw) > 2
			}
			return true
		})
		if msg.Role == "" {
			perr = BadRequest(messageParam(at, "role"), "missing_required_parameter",
				"messages["+strconv.Itoa(at)+"] needs a non-empty string 'role'")
			return false
		}
		switch {
		case content.Type == gjson.String:
			msg.Text = content.String()
		case content.IsArray():
			msg.Text, msg.Parts = partsText(content)
		case msg.contentAt >= 0 && content.Type != gjson.Null:
			perr = BadRequest(messageParam(at, "content"), "invalid_type",
				"messages["+strconv.Itoa(at)+"].content must be a string, an array of content parts or null")
			return false
		}
		if msg.Role == "user" {
			r.LastUser = len(r.Messages)
		}
		r.Messages = append(r.Messages, msg)
		return true
	})
	return perr
}

// partsText joins the text parts of an array content.
func partsText(content gjson.Result) (string, int) {
	var text string
	var joined []byte
	n := 0
	content.ForEach(func(_, part gjson.Result) bool {
		n++
		if part.Get("type").Str != "text" {
			return true
		}
		t := part.Get("text").String()
		switch {
		case text == "" && joined == nil:
			text = t
		case joined == nil:
			joined = append(append(append(make([]byte, 0, len(text)+len(t)+1), text...), '\n'), t...)
		default:
			joined = append(append(joined, '\n'), t...)
		}
		return true
	})
	if joined != nil {
		return string(joined), n
	}
	return text, n
}

// messageParam names messages[i] (and its field) as the OpenAI API does
// in an error's param: "messages.[2].content".
func messageParam(i int, field string) string {
	p := "messages.[" + strconv.Itoa(i) + "]"
	if field != "" {
		p += "." + field
	}
	return p
}

func isBoolOrNull(v gjson.Result) bool {
	return v.Type == gjson.True || v.Type == gjson.False || v.Type == gjson.Null
}

// invalidUTF8At is the offset of the first byte of b that is not part of
// a valid UTF-8 sequence (len(b) when there is none).
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}
