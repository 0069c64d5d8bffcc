package looper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"github.com/tidwall/gjson"
)

// errNotCompletion: the body to stream is not a chat.completion.
var errNotCompletion = errors.New("ratings answer is not a chat.completion with choices")

// AppendStream appends to dst a multi-choice chat.completion (a ratings
// answer, see Combine) rendered as a chat.completion.chunk SSE stream:
//
//  1. one role chunk carrying the role delta of every choice;
//  2. per choice, one content chunk with the rest of its message
//     (content, reasoning_content, refusal, tool_calls with their index)
//     and its logprobs;
//  3. per choice, one finish chunk with its finish_reason ("stop" when
//     the answer had none);
//  4. with includeUsage, a usage-only chunk when the answer has usage;
//  5. "data: [DONE]".
//
// Every choice of every chunk keeps its index and its "model" field.
func AppendStream(dst, completion []byte, includeUsage bool) ([]byte, error) {
	if len(completion) == 0 {
		return dst, errNotCompletion
	}
	if bytes.ContainsAny(completion, "\r\n") {
		// A line break in JSON is whitespace (strings escape theirs), but
		// it would end an SSE data line: compact first.
		var b bytes.Buffer
		if err := json.Compact(&b, completion); err != nil {
			return dst, fmt.Errorf("compact ratings answer: %w", err)
		}
		completion = b.Bytes()
	}
	v := gjson.Parse(unsafe.String(&completion[0], len(completion)))
	choices := v.Get("choices")
	if !v.IsObject() || !choices.IsArray() {
		return dst, errNotCompletion
	}
	head := func(dst []byte) []byte {
		dst = append(dst, `data: {"id":`...)
		dst = appendRaw(dst, v.Get("id"), `""`)
		dst = append(dst, `,"object":"chat.completion.chunk","created":`...)
		dst = appendRaw(dst, v.Get("created"), `0`)
		dst = append(dst, `,"model":`...)
		dst = appendRaw(dst, v.Get("model"), `""`)
		return append(dst, `,"choices":[`...)
	}
	const tail = "]}\n\n"
	// choiceHead opens choice ch (position i) up to its delta's "{".
	choiceHead := func(dst []byte, i int, ch gjson.Result) []byte {
		dst = append(dst, `{"index":`...)
		if idx := ch.Get("index"); idx.Type == gjson.Number {
			dst = append(dst, idx.Raw...)
		} else {
			dst = strconv.AppendInt(dst, int64(i), 10)
		}
		if m := ch.Get("model"); m.Type == gjson.String {
			dst = append(dst, `,"model":`...)
			dst = append(dst, m.Raw...)
		}
		return append(dst, `,"delta":{`...)
	}

	// 1. roles
	dst = head(dst)
	i := 0
	choices.ForEach(func(_, ch gjson.Result) bool {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = choiceHead(dst, i, ch)
		dst = append(dst, `"role":`...)
		role := ch.Get("message.role")
		if role.Type != gjson.String || role.Str == "" {
			dst = append(dst, `"assistant"`...)
		} else {
			dst = append(dst, role.Raw...)
		}
		dst = append(dst, "}}"...)
		i++
		return true
	})
	dst = append(dst, tail...)

	// 2. contents
	i = 0
	choices.ForEach(func(_, ch gjson.Result) bool {
		mark := len(dst)
		dst = head(dst)
		dst = choiceHead(dst, i, ch)
		n := 0
		ch.Get("message").ForEach(func(k, f gjson.Result) bool {
			if k.Str == "role" || f.Type == gjson.Null {
				return true
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			dst = append(dst, k.Raw...)
			dst = append(dst, ':')
			if k.Str == "tool_calls" && f.IsArray() {
				dst = appendToolCallDeltas(dst, f)
			} else {
				dst = append(dst, f.Raw...)
			}
			return true
		})
		dst = append(dst, '}')
		if lp := ch.Get("logprobs"); lp.IsObject() {
			dst = append(dst, `,"logprobs":`...)
			dst = append(dst, lp.Raw...)
			n++
		}
		dst = append(dst, '}')
		dst = append(dst, tail...)
		if n == 0 {
			dst = dst[:mark] // nothing but a role: no content chunk
		}
		i++
		return true
	})

	// 3. finishes
	i = 0
	choices.ForEach(func(_, ch gjson.Result) bool {
		dst = head(dst)
		dst = choiceHead(dst, i, ch)
		dst = append(dst, `},"finish_reason":`...)
		if fr := ch.Get("finish_reason"); fr.Type == gjson.String {
			dst = append(dst, fr.Raw...)
		} else {
			dst = append(dst, `"stop"`...)
		}
		dst = append(dst, '}')
		dst = append(dst, tail...)
		i++
		return true
	})

	// 4. usage
	if u := v.Get("usage"); includeUsage && u.IsObject() {
		dst = head(dst)
		dst = append(dst, `],"usage":`...)
		dst = append(dst, u.Raw...)
		dst = append(dst, "}\n\n"...)
	}
	return append(dst, "data: [DONE]\n\n"...), nil
}

// appendToolCallDeltas appends the tool calls of a message as stream
// deltas: each with its position as "index".
func appendToolCallDeltas(dst []byte, calls gjson.Result) []byte {
	dst = append(dst, '[')
	j := 0
	calls.ForEach(func(_, tc gjson.Result) bool {
		if j > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"index":`...)
		dst = strconv.AppendInt(dst, int64(j), 10)
		tc.ForEach(func(k, f gjson.Result) bool {
			if k.Str != "index" {
				dst = append(dst, ',')
				dst = append(dst, k.Raw...)
				dst = append(dst, ':')
				dst = append(dst, f.Raw...)
			}
			return true
		})
		dst = append(dst, '}')
		j++
		return true
	})
	return append(dst, ']')
}

// appendRaw appends v's raw JSON, or def when v is missing or null.
func appendRaw(dst []byte, v gjson.Result, def string) []byte {
	if !v.Exists() || v.Type == gjson.Null {
		return append(dst, def...)
	}
	return append(dst, v.Raw...)
}
