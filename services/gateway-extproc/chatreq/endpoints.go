package chatreq

import (
	"strings"

	"github.com/tidwall/gjson"
)

// Paths of the OpenAI inference endpoints the router serves.
const (
	PathChat        = "/v1/chat/completions"
	PathCompletions = "/v1/completions"
	PathEmbeddings  = "/v1/embeddings"
)

// ParseCompletions validates a legacy text-completions body (POST
// /v1/completions) and builds the same compact view as Parse, so the
// router can classify it: the prompt becomes the one user message. A
// string prompt is its text; an array of strings is joined with "\n"
// (every prompt of a batch counts); token-id prompts (an array of
// integers, or of such arrays) carry no text. The body is forwarded as
// is, only model may be rewritten (Apply with Rewrite.Model); the
// message-level edits of chat do not apply to it.
func ParseCompletions(body []byte) (*Request, error) {
	r, prompt, err := parseObject(body, "prompt")
	if err != nil {
		return nil, err
	}
	if !prompt.Exists() {
		return nil, BadRequest("prompt", "missing_required_parameter", "missing required parameter: 'prompt'")
	}
	text, ok := inputText(prompt, true)
	if !ok {
		return nil, BadRequest("prompt", "invalid_type",
			"prompt must be a string, an array of strings, an array of token ids or an array of token-id arrays")
	}
	r.Messages = []Message{{Role: "user", Text: text, contentAt: -1}}
	r.LastUser = 0
	return r, nil
}

// ParseEmbeddings validates an embeddings body (POST /v1/embeddings): a
// JSON object with a string model and an input (a string, an array of
// strings, of token ids or of token-id arrays). The view has no
// messages and never streams.
func ParseEmbeddings(body []byte) (*Request, error) {
	r, input, err := parseObject(body, "input")
	if err != nil {
		return nil, err
	}
	if !input.Exists() {
		return nil, BadRequest("input", "missing_required_parameter", "missing required parameter: 'input'")
	}
	if _, ok := inputText(input, false); !ok {
		return nil, BadRequest("input", "invalid_type",
			"input must be a string, an array of strings, an array of token ids or an array of token-id arrays")
	}
	if input.IsArray() && !input.Get("0").Exists() {
		return nil, BadRequest("input", "empty_array", "input must not be an empty array")
	}
	r.Stream, r.IncludeUsage = false, false
	return r, nil
}

// inputText checks the shape of a prompt or input value and, with
// collect, returns its text: a string, or the strings of an array joined
// with "\n"; token ids have none. ok is false for any other shape (null,
// an object, a mixed array).
func inputText(v gjson.Result, collect bool) (string, bool) {
	switch {
	case v.Type == gjson.String:
		return v.Str, true
	case !v.IsArray():
		return "", false
	}
	var b strings.Builder
	kind := gjson.Null // the element type every element must share
	ok := true
	v.ForEach(func(_, e gjson.Result) bool {
		t := e.Type
		if e.IsArray() {
			t = gjson.JSON
			if !tokenIDs(e) {
				ok = false
				return false
			}
		}
		switch {
		case kind != gjson.Null && t != kind:
			ok = false
		case t == gjson.String && !collect:
		case t == gjson.String:
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(e.Str)
		case t != gjson.Number && t != gjson.JSON:
			ok = false
		}
		kind = t
		return ok
	})
	if !ok {
		return "", false
	}
	return b.String(), true
}

// tokenIDs reports whether v is an array of numbers.
func tokenIDs(v gjson.Result) bool {
	ok := true
	v.ForEach(func(_, e gjson.Result) bool {
		ok = e.Type == gjson.Number
		return ok
	})
	return ok
}
