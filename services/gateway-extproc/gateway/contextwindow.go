package gateway

import (
	"fmt"
	"log/slog"
	"net/http"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/toolselect"
)

// PathRejected is the response path of a routed request the router
// answered itself with an error (no candidate model can hold it).
const PathRejected = "rejected"

// CodeContextLengthExceeded is the OpenAI error code of a request no
// candidate model's context window can hold.
const CodeContextLengthExceeded = "context_length_exceeded"

// perMessageTokens approximates the chat-template overhead of one message
// (role markers, separators), as the classifier's context signal does.
const perMessageTokens = 4

// EstimateTokens estimates the tokens of text without a tokenizer, with the
// heuristic of the classifier's context signal: a CJK rune (Han, Hiragana,
// Katakana, Hangul) is one token, every other four UTF-8 bytes are one
// (rounded up). The error is about ±20%.
func EstimateTokens(text string) int {
	cjk, other := 0, 0
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			other++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if isCJK(r) {
			cjk++
		} else {
			other += size
		}
		i += size
	}
	return cjk + (other+3)/4
}

func isCJK(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3400 && r <= 0x4DBF, r >= 0x20000 && r <= 0x2A6DF, // Han
		r >= 0x3040 && r <= 0x30FF,                             // Hiragana, Katakana
		r >= 0xAC00 && r <= 0xD7AF, r >= 0x1100 && r <= 0x11FF: // Hangul
		return true
	}
	return false
}

// contextNeed is the estimated size of a request in tokens: the prompt
// (every message's text plus the per-message overhead, the tool
// definitions at four bytes a token, an inserted system prompt) and the
// completion it asks for (max_completion_tokens, else max_tokens, clamped
// by the decision's request_params max_tokens_limit; 0 when unset).
type contextNeed struct {
	prompt, completion int
}

func (n contextNeed) total() int { return n.prompt + n.completion }

func (x *Exchange) contextNeed() contextNeed {
	var n contextNeed
	for i := range x.req.Messages {
		n.prompt += perMessageTokens + EstimateTokens(x.req.Messages[i].Text)
	}
	raw := x.req.Raw()
	if x.req.HasTools {
		n.prompt += (x.toolBytes(raw) + 3) / 4
	}
	if sp := x.routed.plugins.SystemPrompt; sp != nil {
		n.prompt += perMessageTokens + EstimateTokens(sp.Text)
	}
	n.prompt += x.ragReserve() + x.memoryReserve()
	for _, key := range [2]string{"max_completion_tokens", "max_tokens"} {
		if v := gjson.GetBytes(raw, key); v.Type == gjson.Number && v.Int() > 0 {
			n.completion = int(min(v.Int(), 1<<40))
			break
		}
	}
	if p := x.routed.plugins.Params; p != nil && p.MaxTokensLimit > 0 && int64(n.completion) > p.MaxTokensLimit {
		n.completion = int(p.MaxTokensLimit)
	}
	return n
}

// ragReserveOverhead is the room reserved, besides the passages, for what
// the rag plugin adds around them: the delimiters of a system block, or a
// synthetic tool call and its result (two messages).
const ragReserveOverhead = 2*perMessageTokens + 32

// ragReserve is the room, in tokens, the decision's rag plugin may add
// after the context filter and compression ran: its max_context_length
// (characters, counted four to a token like other text) plus the
// injection overhead. Without a cap nothing can be reserved.
func (x *Exchange) ragReserve() int {
	d := x.routed.cfgDecision
	if d == nil || !x.auto || d.Plugins.RAG == nil || d.Plugins.RAG.MaxChars <= 0 {
		return 0
	}
	return (d.Plugins.RAG.MaxChars+3)/4 + ragReserveOverhead
}

// memoryReserve is the room, in tokens, the decision's memory plugin may
// add after the context filter ran for a known user: its
// max_inject_tokens (as a byte budget) plus a system block's overhead.
// Anonymous requests get no memories and need no room.
func (x *Exchange) memoryReserve() int {
	d := x.routed.cfgDecision
	if d == nil || !x.auto || d.Plugins.Memory == nil || d.Plugins.Memory.MaxInjectBytes <= 0 || x.routed.cache.id.User == "" {
		return 0
	}
	return (d.Plugins.Memory.MaxInjectBytes+3)/4 + ragReserveOverhead
}

// toolBytes is the size of the request's tool definitions that the
// decision's tools plugin keeps by its name rules (mode none keeps none;
// mode filtered keeps allow_tools minus block_tools): the filter and
// compression run before the plugin edits the body, and must not count
// tools that will not be sent. Semantic selection and tool_selection run
// later and are not anticipated (the estimate stays an upper bound of
// what they keep).
func (x *Exchange) toolBytes(raw []byte) int {
	tools := gjson.GetBytes(raw, "tools")
	var rule *toolselect.ToolsRule
	if d := x.routed.cfgDecision; d != nil && x.auto && d.Plugins.Tools != nil {
		rule = d.Plugins.Tools.Tools
	}
	if rule == nil {
		return len(tools.Raw)
	}
	switch rule.Mode {
	case toolselect.ModeNone:
		return 0
	case toolselect.ModeFiltered:
		n := 0
		tools.ForEach(func(_, t gjson.Result) bool {
			name := t.Get("function.name").Str
			if (len(rule.Allow) == 0 || rule.Allow.Has(name)) && !rule.Block.Has(name) {
				n += len(t.Raw) + 1
			}
			return true
		})
		return n
	}
	return len(tools.Raw)
}

// fitContext drops the routed targets whose context window
// (routing.modelCards[].context_window_size) cannot hold the request, so
// that the next candidate of the decision (modelRefs order, then the
// default model) serves it instead of a doomed attempt. Targets without a
// known window always fit. When no target fits, it answers a 400
// context_length_exceeded naming the largest window.
func (x *Exchange) fitContext() *Immediate {
	r := &x.routed
	if len(r.targets) == 0 {
		return nil
	}
	need, measured := contextNeed{}, false
	largest := 0
	kept := r.targets[:0]
	for _, t := range r.targets {
		w := t.Model.ContextWindow
		if w <= 0 {
			kept = append(kept, t)
			continue
		}
		if !measured {
			need, measured = x.contextNeed(), true
		}
		if need.total() <= w {
			kept = append(kept, t)
			continue
		}
		largest = max(largest, w)
		x.g.log.Debug("model skipped: context window too small", slog.String("model", t.Model.Name),
			slog.Int("context_window", w), slog.Int("estimated_tokens", need.total()))
	}
	r.targets = kept
	if len(kept) > 0 {
		r.target = kept[0]
		return nil
	}
	r.target = Target{}
	r.path = PathRejected
	e := &chatreq.APIError{Status: http.StatusBadRequest, Type: chatreq.TypeInvalidRequest, Param: "messages",
		Code: CodeContextLengthExceeded,
		Message: fmt.Sprintf("the request needs about %d tokens (%d estimated for the messages, %d requested for the completion), "+
			"more than the largest context window of the models this route may use (%d tokens); shorten the messages or lower max_tokens",
			need.total(), need.prompt, need.completion, largest)}
	imm := errorResponse(e)
	imm.Headers = x.appendRouteHeaders(imm.Headers)
	return imm
}
