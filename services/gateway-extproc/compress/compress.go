package compress

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
)

// Sizer estimates prompt sizes as the gateway's context-window filter
// does: Text per message text, plus PerMessage tokens of chat-template
// overhead per message.
type Sizer struct {
	Text       Estimator
	PerMessage int
}

// Result is the outcome of Apply. Before and After are the estimated
// prompt tokens (messages plus the overhead passed in) before and after.
type Result struct {
	Body          []byte
	Changed       bool
	Before, After int
	// ToolOutputs is the number of tool outputs shortened, Dropped the
	// number of messages removed from the history.
	ToolOutputs, Dropped int
}

// message is one chat message of the body being compressed.
type message struct {
	role    string
	raw     string
	text    string
	cost    int
	content string // new content text when replaced
	changed bool
	drop    bool
}

// Apply compresses the messages of a chat-completions body when its
// estimated prompt (messages plus overhead tokens the caller counts for
// tools and an injected system prompt) exceeds b.Trigger, aiming at
// b.Target: first the tool outputs above min_tokens, oldest first, each
// cut extractively to the tool target; then, with history drop_oldest,
// whole turns (a user message and everything up to the next user
// message), oldest first, which keeps every tool call with its results.
// System and developer messages, the latest user message and everything
// after it are never removed; only tool outputs are rewritten. When the
// prompt still exceeds the target, Apply returns what it could save.
func (p *Policy) Apply(ctx context.Context, body []byte, overhead int, b Budgets, sz Sizer) (Result, error) {
	arr := gjson.GetBytes(body, "messages")
	if !arr.IsArray() || arr.Index <= 0 {
		return Result{}, errors.New("locate the messages array")
	}
	var msgs []message
	lastUser := -1
	total := overhead
	arr.ForEach(func(_, m gjson.Result) bool {
		role := m.Get("role").Str
		msg := message{role: role, raw: m.Raw, text: contentText(m.Get("content"))}
		msg.cost = sz.PerMessage + sz.Text(msg.text)
		total += msg.cost
		if role == "user" {
			lastUser = len(msgs)
		}
		msgs = append(msgs, msg)
		return true
	})
	res := Result{Body: body, Before: total, After: total}
	if total <= b.Trigger {
		return res, nil
	}
	query := ""
	if lastUser >= 0 {
		query = msgs[lastUser].text
	}
	if p.toolOutputs {
		for i := range msgs {
			if total <= b.Target {
				break
			}
			if err := ctx.Err(); err != nil {
				return Result{}, fmt.Errorf("compress tool outputs: %w", err)
			}
			m := &msgs[i]
			if m.role != "tool" && m.role != "function" {
				continue
			}
			if sz.Text(m.text) <= p.toolMin {
				continue
			}
			out, ok := Extract(m.text, query, p.toolTarget, sz.Text)
			if !ok {
				continue
			}
			cost := sz.PerMessage + sz.Text(out)
			total += cost - m.cost
			m.cost, m.content, m.changed = cost, out, true
			res.ToolOutputs++
		}
	}
	if p.history == HistoryDropOldest && total > b.Target {
		for _, u := range turns(msgs, lastUser) {
			if total <= b.Target {
				break
			}
			for _, i := range u {
				msgs[i].drop = true
				total -= msgs[i].cost
				res.Dropped++
			}
		}
	}
	if res.ToolOutputs == 0 && res.Dropped == 0 {
		return res, nil
	}
	out, err := rebuild(body, arr, msgs)
	if err != nil {
		return Result{}, err
	}
	res.Body, res.Changed, res.After = out, true, total
	return res, nil
}

// turns groups the messages before lastUser into droppable turns, oldest
// first: each user message with the non-system messages up to the next
// user message; non-system messages before the first user message form a
// turn of their own. System and developer messages belong to no turn.
func turns(msgs []message, lastUser int) [][]int {
	var out [][]int
	var cur []int
	for i := 0; i < lastUser; i++ {
		switch msgs[i].role {
		case "system", "developer":
			continue
		case "user":
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// contentText is the text of a message content: the string, or the text
// parts of an array joined with "\n" (as chatreq reads it).
func contentText(c gjson.Result) string {
	if c.Type == gjson.String {
		return c.Str
	}
	if !c.IsArray() {
		return ""
	}
	var b strings.Builder
	first := true
	c.ForEach(func(_, part gjson.Result) bool {
		if part.Get("type").Str == "text" {
			if !first {
				b.WriteByte('\n')
			}
			first = false
			b.WriteString(part.Get("text").String())
		}
		return true
	})
	return b.String()
}

// rebuild writes body with the messages array replaced: dropped messages
// left out, changed ones with their content replaced by a string.
func rebuild(body []byte, arr gjson.Result, msgs []message) ([]byte, error) {
	out := make([]byte, 0, len(body))
	out = append(out, body[:arr.Index]...)
	out = append(out, '[')
	first := true
	for i := range msgs {
		m := &msgs[i]
		if m.drop {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		if !m.changed {
			out = append(out, m.raw...)
			continue
		}
		c := gjson.Get(m.raw, "content")
		if c.Index <= 0 {
			return nil, fmt.Errorf("locate the content of message %d", i)
		}
		out = append(out, m.raw[:c.Index]...)
		out = chatreq.AppendJSONString(out, m.content)
		out = append(out, m.raw[c.Index+len(c.Raw):]...)
	}
	out = append(out, ']')
	out = append(out, body[arr.Index+len(arr.Raw):]...)
	return out, nil
}
