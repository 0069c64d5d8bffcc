// Package toolselect runs the tools and tool_selection decision plugins: it
// decides which tool definitions a chat-completions request keeps (mode,
// allow/block lists, similarity to the user query), which ones a tools
// database adds, how tool_choice follows, and whether earlier tool calls
// are stripped from the conversation. Plan computes an Edit once per
// request (embedding the tools through the gateway's embedder, with a
// per-revision cache); Edit.Apply renders it onto a request body.
package toolselect

import (
	"hash/maphash"
	"strings"

	"github.com/tidwall/gjson"
)

// Tool is one tool definition of a request or of a tools database.
type Tool struct {
	// Name is function.name (or custom.name for a custom tool).
	Name string
	// Description is the text the tool is described by.
	Description string
	// Tags and Category come from a tools database entry.
	Tags     []string
	Category string
	// Raw is the JSON object forwarded upstream (an OpenAI tool definition
	// without database-only fields).
	Raw []byte

	// terms and nameTerms are the words of name+description and of the
	// name, precomputed for database tools (nil: computed when scored).
	terms, nameTerms []string
}

// text is what is embedded for the tool: its name with separators as
// spaces, then its description.
func (t *Tool) text() string {
	name := strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == '.' {
			return ' '
		}
		return r
	}, t.Name)
	if t.Description == "" {
		return name
	}
	return name + ": " + t.Description
}

// key identifies the tool's embedding text in the cache.
func (t *Tool) key(seed maphash.Seed) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(t.Name)
	h.WriteByte(0)
	h.WriteString(t.Description)
	return h.Sum64()
}

// toolFromJSON reads an OpenAI tool definition ({"type":"function",
// "function":{"name","description",...}} or {"type":"custom","custom":{...}})
// in one pass over its members.
func toolFromJSON(v gjson.Result) Tool {
	kind := "function"
	var fn, custom gjson.Result
	v.ForEach(func(k, val gjson.Result) bool {
		switch k.Str {
		case "type":
			kind = val.Str
		case "function":
			fn = val
		case "custom":
			custom = val
		}
		return true
	})
	def := fn
	if kind == "custom" {
		def = custom
	}
	t := Tool{Raw: []byte(v.Raw)}
	def.ForEach(func(k, val gjson.Result) bool {
		switch k.Str {
		case "name":
			t.Name = val.Str
		case "description":
			t.Description = val.Str
		}
		return true
	})
	return t
}

// requestTools reads the tools array of a request body.
func requestTools(body []byte) []Tool {
	arr := gjson.GetBytes(body, "tools")
	if !arr.IsArray() {
		return nil
	}
	var out []Tool
	arr.ForEach(func(_, v gjson.Result) bool {
		if v.IsObject() {
			out = append(out, toolFromJSON(v))
		}
		return true
	})
	return out
}

// nameSet is a set of tool names.
type nameSet map[string]struct{}

func newNameSet(names []string) nameSet {
	if len(names) == 0 {
		return nil
	}
	s := make(nameSet, len(names))
	for _, n := range names {
		s[n] = struct{}{}
	}
	return s
}

func (s nameSet) has(n string) bool { return s.Has(n) }

// Has reports whether n is in the set.
func (s nameSet) Has(n string) bool {
	_, ok := s[n]
	return ok
}
