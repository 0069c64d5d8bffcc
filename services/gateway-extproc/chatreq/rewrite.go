package chatreq

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Reasoning family types (providers.defaults.reasoning_families[].type).
const (
	FamilyChatTemplateKwargs      = "chat_template_kwargs"
	FamilyReasoningEffort         = "reasoning_effort"
	FamilyTopLevelReasoningEffort = "top_level_reasoning_effort"
)

// Reasoning describes how to express the reasoning mode for one family.
type Reasoning struct {
	// Type is one of the Family* constants.
	Type string
	// Parameter is the field to set: "enable_thinking" under
	// chat_template_kwargs, or a (dotted) path such as "reasoning.effort".
	Parameter string
	On        bool
	// Effort is the effort written when On for effort families.
	Effort string
}

// SystemPrompt is the system_prompt plugin edit.
type SystemPrompt struct {
	// Mode is "replace" or "insert" (default insert).
	Mode string
	Text string
}

// Params is the request_params plugin edit.
type Params struct {
	Blocked        []string
	MaxTokensLimit int64
	MaxN           int64
}

// Rewrite lists the edits to apply; zero fields leave the body untouched.
type Rewrite struct {
	Model        string
	Reasoning    *Reasoning
	IncludeUsage bool
	SystemPrompt *SystemPrompt
	Params       *Params
}

// Apply renders the rewritten body in one pass over the raw bytes: the
// edits are collected as splices (replace a value, delete a member, append a
// member) against the offsets recorded by Parse, so every byte the edits do
// not name is copied verbatim. It returns the original slice and
// changed=false when nothing changes.
func (r *Request) Apply(w *Rewrite) (body []byte, changed bool, err error) {
	e := editor{r: r}
	if w.Params != nil {
		e.params(w.Params)
	}
	if w.SystemPrompt != nil && w.SystemPrompt.Text != "" {
		e.systemPrompt(w.SystemPrompt)
	}
	if w.Model != "" && w.Model != r.Model {
		e.setTop("model", AppendJSONString(nil, w.Model))
	}
	if w.Reasoning != nil {
		e.reasoning(w.Reasoning)
	}
	if w.IncludeUsage && r.Stream && !r.IncludeUsage {
		e.setPath("stream_options", "include_usage", []byte("true"))
	}
	if e.err != nil {
		return r.raw, false, e.err
	}
	if len(e.splices) == 0 && len(e.appends) == 0 {
		return r.raw, false, nil
	}
	return e.render(), true, nil
}

// splice replaces raw[at:end] with text.
type splice struct {
	at, end int
	text    []byte
}

type editor struct {
	r       *Request
	splices []splice
	appends []byte // ,"key":value members added before the closing brace
	deleted []bool // by member index
	err     error
}

// setTop sets a top-level member to a raw JSON value.
func (e *editor) setTop(key string, raw []byte) {
	if i := e.r.member(key); i >= 0 {
		m := e.r.members[i]
		if e.isDeleted(i) {
			return
		}
		e.splices = append(e.splices, splice{m.valAt, m.valEnd, raw})
		return
	}
	e.appends = append(e.appends, ',')
	e.appends = AppendJSONString(e.appends, key)
	e.appends = append(e.appends, ':')
	e.appends = append(e.appends, raw...)
}

// setPath sets top.sub (sub may itself be a dotted sjson path) to raw.
func (e *editor) setPath(top, sub string, raw []byte) {
	i := e.r.member(top)
	if i < 0 || e.isDeleted(i) {
		v := make([]byte, 0, len(sub)+len(raw)+8)
		v, e.err = sjson.SetRawBytes(append(v, "{}"...), sub, raw)
		e.setTop(top, v)
		return
	}
	m := e.r.members[i]
	cur := e.r.raw[m.valAt:m.valEnd]
	if cur[0] != '{' {
		cur = []byte("{}")
	}
	v, err := sjson.SetRawBytes(cur, sub, raw)
	if err != nil {
		e.err = fmt.Errorf("set %s.%s: %w", top, sub, err)
		return
	}
	e.splices = append(e.splices, splice{m.valAt, m.valEnd, v})
}

// get returns a top-level member's value (or a path below it).
func (e *editor) get(top, sub string) gjson.Result {
	i := e.r.member(top)
	if i < 0 || e.isDeleted(i) {
		return gjson.Result{}
	}
	m := e.r.members[i]
	v := gjson.ParseBytes(e.r.raw[m.valAt:m.valEnd])
	if sub != "" {
		v = v.Get(sub)
	}
	return v
}

func (e *editor) isDeleted(i int) bool { return e.deleted != nil && e.deleted[i] }

func (e *editor) reasoning(rs *Reasoning) {
	switch rs.Type {
	case FamilyChatTemplateKwargs:
		if rs.Parameter == "" {
			return
		}
		sub := escapePath(rs.Parameter)
		if cur := e.get("chat_template_kwargs", sub); cur.Exists() && cur.Type == boolType(rs.On) {
			return
		}
		val := []byte("false")
		if rs.On {
			val = []byte("true")
		}
		e.setPath("chat_template_kwargs", sub, val)
	case FamilyReasoningEffort, FamilyTopLevelReasoningEffort:
		// Off keeps whatever the client sent; On writes the effort.
		if !rs.On || rs.Effort == "" {
			return
		}
		param := rs.Parameter
		if param == "" {
			param = "reasoning_effort"
			if rs.Type == FamilyReasoningEffort {
				param = "reasoning.effort"
			}
		}
		top, sub, nested := strings.Cut(param, ".")
		if e.get(top, sub).Str == rs.Effort {
			return
		}
		val := AppendJSONString(nil, rs.Effort)
		if nested {
			e.setPath(top, sub, val)
		} else {
			e.setTop(top, val)
		}
	}
}

// render applies the splices and appends to the raw body. New members go
// right after the last kept member (or inside the empty object).
func (e *editor) render() []byte {
	r := e.r
	if len(e.appends) > 0 {
		at, text := r.end, e.appends[1:] // no member precedes: drop the comma
		for i := len(r.members) - 1; i >= 0; i-- {
			if !e.isDeleted(i) {
				at, text = r.members[i].valEnd, e.appends
				break
			}
		}
		e.splices = append(e.splices, splice{at, at, text})
	}
	// Order by start, insertions before a replacement or deletion that
	// starts at the same offset.
	sort.Slice(e.splices, func(i, j int) bool {
		a, b := e.splices[i], e.splices[j]
		return a.at < b.at || (a.at == b.at && a.end < b.end)
	})
	size := len(r.raw)
	for _, s := range e.splices {
		size += len(s.text) - (s.end - s.at)
	}
	out := make([]byte, 0, size)
	pos := 0
	for _, s := range e.splices {
		if s.at < pos {
			continue // inside a deleted member
		}
		out = append(out, r.raw[pos:s.at]...)
		out = append(out, s.text...)
		pos = s.end
	}
	return append(out, r.raw[pos:]...)
}

// escapePath escapes sjson path metacharacters in a single key.
func escapePath(key string) string {
	var out []byte
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch c {
		case '.', '*', '?', '|', '#', '@', '\\', ':':
			if out == nil {
				out = append(make([]byte, 0, len(key)+4), key[:i]...)
			}
			out = append(out, '\\', c)
		default:
			if out != nil {
				out = append(out, c)
			}
		}
	}
	if out == nil {
		return key
	}
	return string(out)
}

// systemPrompt inserts or replaces the system message. "replace" swaps the
// content of the first system message; "insert" prepends the prompt to it.
// With no system message both add one at index 0.
func (e *editor) systemPrompt(sp *SystemPrompt) {
	r := e.r
	sys := -1
	for i, m := range r.Messages {
		if m.Role == "system" {
			sys = i
			break
		}
	}
	if sys < 0 || r.Messages[sys].contentAt < 0 {
		at := r.messagesAt + 1 // just after '['
		v := make([]byte, 0, len(sp.Text)+32)
		v = append(v, `{"role":"system","content":`...)
		v = AppendJSONString(v, sp.Text)
		v = append(v, "},"...)
		e.splices = append(e.splices, splice{at, at, v})
		return
	}
	m := r.Messages[sys]
	text := sp.Text
	if sp.Mode != "replace" && m.Text != "" {
		text = sp.Text + "\n\n" + m.Text
	}
	e.splices = append(e.splices, splice{m.contentAt, m.contentEnd, AppendJSONString(nil, text)})
}

// params applies the request_params plugin: blocked members are deleted,
// max_tokens / max_completion_tokens / n are clamped.
func (e *editor) params(p *Params) {
	r := e.r
	for _, k := range p.Blocked {
		if i := r.member(k); i >= 0 {
			if e.deleted == nil {
				e.deleted = make([]bool, len(r.members))
			}
			e.deleted[i] = true
		}
	}
	if e.deleted != nil {
		e.deleteRuns()
	}
	clamp := func(key string, limit int64) {
		if limit <= 0 {
			return
		}
		v := e.get(key, "")
		if v.Type != gjson.Number || v.Int() <= limit {
			return
		}
		e.setTop(key, strconv.AppendInt(nil, limit, 10))
	}
	clamp("max_tokens", p.MaxTokensLimit)
	clamp("max_completion_tokens", p.MaxTokensLimit)
	clamp("n", p.MaxN)
}

// deleteRuns turns deleted members into non-overlapping splices that also
// remove the separating commas.
func (e *editor) deleteRuns() {
	ms := e.r.members
	for i := 0; i < len(ms); {
		if !e.deleted[i] {
			i++
			continue
		}
		j := i
		for j+1 < len(ms) && e.deleted[j+1] {
			j++
		}
		switch {
		case j+1 < len(ms):
			e.splices = append(e.splices, splice{ms[i].keyAt, ms[j+1].keyAt, nil})
		case i > 0:
			e.splices = append(e.splices, splice{ms[i-1].valEnd, ms[j].valEnd, nil})
		default:
			e.splices = append(e.splices, splice{ms[i].keyAt, ms[j].valEnd, nil})
		}
		i = j + 1
	}
}

func boolType(b bool) gjson.Type {
	if b {
		return gjson.True
	}
	return gjson.False
}
