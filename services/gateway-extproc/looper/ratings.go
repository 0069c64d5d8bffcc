package looper

import (
	"context"
	"fmt"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/pkg/config"
)

// Answer is one model's successful answer (a chat.completion body) in a
// ratings response.
type Answer struct {
	Model string
	Body  []byte
}

// ratings sends the request, unchanged, to every modelRef concurrently
// (at most max_concurrent calls in flight; 0: all) and serves one
// chat.completion with one choice per model that answered (Combine), in
// modelRefs order. The request keeps its tools, so a model's tool calls
// pass through in its choice. A model fails when its call fails or its
// answer has no choice: on_error skip (the default; fallback acts as
// skip) leaves it out and fails the request only when no model answered,
// on_error fail fails the request with the first failure in modelRefs
// order. Every call runs to its end (none is cancelled when another
// fails), under the request deadline only.
//
// Result.Model is the first model that answered (the served target),
// Result.Called the modelRefs in order.
func (r *run) ratings(ctx context.Context) Result {
	c := r.p.cfg.Ratings
	if c == nil {
		c = &config.RatingsAlgorithm{}
	}
	policy := onError(c.OnError, r.p.cfg.OnError)
	var res Result
	if len(r.p.refs) == 0 {
		res.Err = ErrNoAnswer
		return res
	}
	jobs := make([]job, len(r.p.refs))
	for i, ref := range r.p.refs {
		jobs[i] = job{model: ref.Name}
		res.Called = append(res.Called, ref.Name)
	}
	results := r.fanOut(ctx, jobs, c.MaxConcurrent, 0)
	answers := make([]Answer, 0, len(results))
	for _, a := range results {
		if a.err == nil && !hasChoice(a.reply.Body) {
			a.err = fmt.Errorf("answer of %s has no choice", a.model)
		}
		switch {
		case a.err != nil && policy == OnErrorFail:
			res.Err = fmt.Errorf("ratings call to %s: %w", a.model, a.err)
			if !a.reply.OK() {
				res.Reply = a.reply // a 2xx answer without a choice is no answer to relay
			}
			return res
		case a.err != nil:
			if !a.reply.OK() && a.reply.Status != 0 {
				res.Reply = a.reply // the last failed answer, relayed if none succeeds
			}
		default:
			answers = append(answers, Answer{Model: a.model, Body: a.reply.Body})
		}
	}
	if len(answers) == 0 {
		if res.Err = ctx.Err(); res.Err == nil {
			res.Err = fmt.Errorf("none of %d models answered: %w", len(jobs), ErrNoAnswer)
		}
		return res
	}
	body, err := Combine(nil, answers)
	if err != nil {
		res.Reply, res.Err = Reply{}, err
		return res
	}
	res.Model = answers[0].Model
	res.Reply = Reply{Status: 200, Body: body}
	return res
}

// hasChoice reports whether a chat.completion body has a first choice
// with a message.
func hasChoice(body []byte) bool {
	if len(body) == 0 {
		return false
	}
	return gjson.Get(unsafe.String(&body[0], len(body)), "choices.0.message").IsObject()
}

// Combine appends to dst the ratings chat.completion of answers: choice i
// is the first choice of answers[i] with index i and a "model" field
// naming answers[i].Model (its message, tool calls, finish_reason and
// logprobs as the model sent them); the top-level "model" lists the
// models joined by commas, "id" and "created" are the first answer's, and
// "usage" sums the prompt, completion and total tokens of the answers
// that report usage (absent when none does).
func Combine(dst []byte, answers []Answer) ([]byte, error) {
	if len(answers) == 0 {
		return dst, ErrNoAnswer
	}
	var id, created gjson.Result
	var prompt, completion, total int64
	hasUsage := false
	choices := make([]gjson.Result, len(answers))
	for i, a := range answers {
		if len(a.Body) == 0 {
			return dst, fmt.Errorf("answer of %s is empty", a.Model)
		}
		// Read in place: only raw slices of the body are appended to dst
		// before returning.
		v := gjson.Parse(unsafe.String(&a.Body[0], len(a.Body)))
		v.ForEach(func(k, f gjson.Result) bool {
			switch k.Str {
			case "id":
				if i == 0 {
					id = f
				}
			case "created":
				if i == 0 {
					created = f
				}
			case "choices":
				choices[i] = f.Get("0")
			case "usage":
				if f.IsObject() {
					hasUsage = true
					prompt += f.Get("prompt_tokens").Int()
					completion += f.Get("completion_tokens").Int()
					total += f.Get("total_tokens").Int()
				}
			}
			return true
		})
		if !choices[i].IsObject() {
			return dst, fmt.Errorf("answer of %s has no choice", a.Model)
		}
	}
	dst = append(dst, `{"id":`...)
	if id.Type == gjson.String {
		dst = append(dst, id.Raw...)
	} else {
		dst = append(dst, `"chatcmpl-ratings"`...)
	}
	dst = append(dst, `,"object":"chat.completion","created":`...)
	if created.Type == gjson.Number {
		dst = append(dst, created.Raw...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, `,"model":`...)
	dst = appendModels(dst, answers)
	dst = append(dst, `,"choices":[`...)
	for i, ch := range choices {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"index":`...)
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, `,"model":`...)
		dst = appendString(dst, answers[i].Model)
		ch.ForEach(func(k, f gjson.Result) bool {
			if k.Str == "index" || k.Str == "model" {
				return true
			}
			dst = append(dst, ',')
			dst = append(dst, k.Raw...)
			dst = append(dst, ':')
			dst = append(dst, f.Raw...)
			return true
		})
		dst = append(dst, '}')
	}
	dst = append(dst, ']')
	if hasUsage {
		dst = append(dst, `,"usage":{"prompt_tokens":`...)
		dst = strconv.AppendInt(dst, prompt, 10)
		dst = append(dst, `,"completion_tokens":`...)
		dst = strconv.AppendInt(dst, completion, 10)
		dst = append(dst, `,"total_tokens":`...)
		dst = strconv.AppendInt(dst, total, 10)
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

// appendModels appends the models of answers joined by commas, as a JSON
// string.
func appendModels(dst []byte, answers []Answer) []byte {
	dst = append(dst, '"')
	for i, a := range answers {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendEscaped(dst, a.Model)
	}
	return append(dst, '"')
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	return append(appendEscaped(append(dst, '"'), s), '"')
}

// appendEscaped appends s escaped for the inside of a JSON string
// (invalid UTF-8 becomes U+FFFD).
func appendEscaped(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return dst
}
