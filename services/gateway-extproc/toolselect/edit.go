package toolselect

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Edit is the planned change to a request's tools. Apply renders it onto
// a body; the same Edit applies to the body of every failover target.
type Edit struct {
	// Kept, Removed and Added name the tools (in request order, then the
	// added ones).
	Kept, Removed, Added []string

	removeAll    bool   // mode none: no tools, tool_choice or legacy functions
	tools        []byte // the new tools array (setTools)
	setTools     bool
	dropTools    bool
	choice       []byte // the new tool_choice (setChoice)
	setChoice    bool
	dropChoice   bool
	stripHistory bool
}

// Changed reports whether the edit changes anything.
func (e *Edit) Changed() bool {
	return e != nil && (e.removeAll || e.setTools || e.dropTools || e.setChoice || e.dropChoice || e.stripHistory)
}

// finish records the final tool list: tools is what the request keeps
// (orig with some removed, then the added ones). It returns nil when
// nothing changes.
func (e *Edit) finish(body []byte, orig, tools []Tool) *Edit {
	final := make(nameSet, len(tools))
	for _, t := range tools {
		final[t.Name] = struct{}{}
	}
	inOrig := make(nameSet, len(orig))
	for _, t := range orig {
		inOrig[t.Name] = struct{}{}
		if final.has(t.Name) {
			e.Kept = append(e.Kept, t.Name)
		} else {
			e.Removed = append(e.Removed, t.Name)
		}
	}
	for _, t := range tools {
		if !inOrig.has(t.Name) {
			e.Added = append(e.Added, t.Name)
		}
	}
	switch {
	case e.removeAll:
	case len(tools) == 0 && len(orig) > 0:
		e.dropTools, e.dropChoice = true, gjson.GetBytes(body, "tool_choice").Exists()
	case len(e.Removed) > 0 || len(e.Added) > 0:
		e.setTools = true
		n := 2
		for _, t := range tools {
			n += len(t.Raw) + 1
		}
		e.tools = make([]byte, 0, n)
		e.tools = append(e.tools, '[')
		for i, t := range tools {
			if i > 0 {
				e.tools = append(e.tools, ',')
			}
			e.tools = append(e.tools, t.Raw...)
		}
		e.tools = append(e.tools, ']')
		e.fixChoice(gjson.GetBytes(body, "tool_choice"), final)
	}
	if !e.Changed() {
		return nil
	}
	return e
}

// fixChoice keeps tool_choice consistent with the remaining tools: a
// forced function that was removed becomes "auto", and an allowed_tools
// choice keeps only remaining tools ("auto" when none remains).
func (e *Edit) fixChoice(tc gjson.Result, final nameSet) {
	if !tc.IsObject() {
		return
	}
	switch tc.Get("type").String() {
	case "function", "custom":
		name := tc.Get("function.name").String()
		if name == "" {
			name = tc.Get("custom.name").String()
		}
		if !final.has(name) {
			e.choice, e.setChoice = []byte(`"auto"`), true
		}
	case "allowed_tools":
		list := tc.Get("allowed_tools.tools")
		if !list.IsArray() {
			return
		}
		var keep []string
		dropped := false
		list.ForEach(func(_, t gjson.Result) bool {
			name := t.Get("function.name").String()
			if name == "" {
				name = t.Get("name").String()
			}
			if final.has(name) {
				keep = append(keep, t.Raw)
			} else {
				dropped = true
			}
			return true
		})
		switch {
		case !dropped:
		case len(keep) == 0:
			e.choice, e.setChoice = []byte(`"auto"`), true
		default:
			v, err := sjson.SetRawBytes([]byte(tc.Raw), "allowed_tools.tools", []byte("["+strings.Join(keep, ",")+"]"))
			if err == nil {
				e.choice, e.setChoice = v, true
			}
		}
	}
}

// Apply renders the edit onto body (a chat-completions request). It
// returns body and false when the body has nothing to change.
func (e *Edit) Apply(body []byte) ([]byte, bool, error) {
	if !e.Changed() {
		return body, false, nil
	}
	out := body
	changed := false
	var err error
	del := func(key string) {
		if err != nil || !gjson.GetBytes(out, key).Exists() {
			return
		}
		out, err = sjson.DeleteBytes(out, key)
		changed = true
	}
	set := func(key string, raw []byte) {
		if err != nil {
			return
		}
		out, err = sjson.SetRawBytes(out, key, raw)
		changed = true
	}
	switch {
	case e.removeAll:
		for _, k := range []string{"tools", "tool_choice", "parallel_tool_calls", "functions", "function_call"} {
			del(k)
		}
	case e.dropTools:
		del("tools")
		del("tool_choice")
		del("parallel_tool_calls")
	case e.setTools:
		set("tools", e.tools)
	}
	if e.dropChoice {
		del("tool_choice")
	}
	if e.setChoice {
		set("tool_choice", e.choice)
	}
	if e.stripHistory && err == nil {
		var stripped bool
		out, stripped, err = stripHistory(out)
		changed = changed || stripped
	}
	if err != nil {
		return body, false, fmt.Errorf("rewrite tools: %w", err)
	}
	return out, changed, nil
}

// stripHistory removes earlier tool use from messages: tool (and legacy
// function) result messages go, and assistant messages lose their
// tool_calls / function_call; an assistant message left without content
// goes too, so that no tool result refers to a call that is gone.
func stripHistory(body []byte) ([]byte, bool, error) {
	msgs := gjson.GetBytes(body, "messages")
	if !msgs.IsArray() {
		return body, false, nil
	}
	out := make([]byte, 0, len(msgs.Raw))
	out = append(out, '[')
	changed, first := false, true
	var err error
	msgs.ForEach(func(_, m gjson.Result) bool {
		raw := m.Raw
		switch m.Get("role").String() {
		case "tool", "function":
			changed = true
			return true
		case "assistant":
			tc, fc := m.Get("tool_calls"), m.Get("function_call")
			calls := (tc.IsArray() && len(tc.Array()) > 0) || fc.IsObject()
			if !calls {
				break
			}
			changed = true
			if !hasContent(m.Get("content")) {
				return true
			}
			b := []byte(raw)
			for _, k := range []string{"tool_calls", "function_call"} {
				if b, err = sjson.DeleteBytes(b, k); err != nil {
					return false
				}
			}
			raw = string(b)
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, raw...)
		return true
	})
	if err != nil {
		return body, false, err
	}
	if !changed {
		return body, false, nil
	}
	out = append(out, ']')
	body, err = sjson.SetRawBytes(body, "messages", out)
	return body, err == nil, err
}

// hasContent reports whether a message content is a non-blank string or a
// non-empty array of parts.
func hasContent(c gjson.Result) bool {
	switch {
	case c.Type == gjson.String:
		return strings.TrimSpace(c.Str) != ""
	case c.IsArray():
		return len(c.Array()) > 0
	}
	return false
}
