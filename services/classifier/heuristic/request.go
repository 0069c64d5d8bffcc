package heuristic

import "strings"

// Role is the author of a chat message.
type Role string

// The roles of the OpenAI chat format.
const (
	RoleSystem    Role = "system"
	RoleDeveloper Role = "developer"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// PartKind is the kind of a non-text content part of a message.
type PartKind uint8

// Content part kinds.
const (
	PartImage PartKind = iota + 1
	PartAudio
	PartFile
	PartOther
)

// Message is one chat message as the classifier sees it: the text of all its
// text parts joined, and the kinds of its other parts.
type Message struct {
	Role  Role
	Text  string
	Parts []PartKind
	// ToolCalls is the number of tool calls an assistant message makes.
	ToolCalls int
}

// Request is the view of one chat request that every heuristic family reads.
// Fill the exported fields, then call Prepare once; afterwards the Request
// is read-only and may be shared by concurrent evaluations. Evaluate
// prepares a private copy when given an unprepared Request.
type Request struct {
	Messages []Message
	// ToolDefinitions is the number of tools the request declares.
	ToolDefinitions int
	// ToolChoice is the request's tool_choice mode ("auto", "none",
	// "required", or a named function mapped to "required").
	ToolChoice string
	// User and Groups are the caller identity, read from the identity
	// headers (authz.identity.user_id_header / user_groups_header).
	User   string
	Groups []string
	// Metadata is the request metadata (string values only).
	Metadata map[string]string

	prepared bool
	current  int    // index of the last user message, -1 when none
	curLower string // lowercased current user turn
	curUnits int    // TextUnits of the current user turn
	words    []span // word spans in curLower
	facts    conversationFacts
	tokens   int // estimated prompt tokens of the whole conversation
}

// conversationFacts are the request-shape counts conversation rules read.
type conversationFacts struct {
	byRole              [5]int // system, developer, user, assistant, tool
	assistantToolCalls  int
	images              int
	lastRole            Role
	lastAssistantCalls  bool
	lastUserAfterResult bool
}

func roleIndex(r Role) int {
	switch r {
	case RoleSystem:
		return 0
	case RoleDeveloper:
		return 1
	case RoleUser:
		return 2
	case RoleAssistant:
		return 3
	case RoleTool:
		return 4
	}
	return -1
}

// ParseGroups splits a comma-separated groups header value, trimming spaces
// and dropping empty names.
func ParseGroups(header string) []string {
	if strings.TrimSpace(header) == "" {
		return nil
	}
	var out []string
	for _, g := range strings.Split(header, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

// Prepare computes the derived per-request values (current user turn,
// lowercase text, word spans, text units, conversation counts, token
// estimate). It is idempotent.
func (r *Request) Prepare() *Request {
	if r.prepared {
		return r
	}
	r.current = -1
	var f conversationFacts
	sawToolResult := false
	for i := range r.Messages {
		m := &r.Messages[i]
		if k := roleIndex(m.Role); k >= 0 {
			f.byRole[k]++
		}
		for _, p := range m.Parts {
			if p == PartImage {
				f.images++
			}
		}
		switch m.Role {
		case RoleUser:
			r.current = i
			f.lastUserAfterResult = sawToolResult
			sawToolResult = false
		case RoleTool:
			sawToolResult = true
		case RoleAssistant:
			f.assistantToolCalls += m.ToolCalls
		}
		r.tokens += estimateMessageTokens(m.Text)
	}
	if n := len(r.Messages); n > 0 {
		last := r.Messages[n-1]
		f.lastRole = last.Role
		f.lastAssistantCalls = last.Role == RoleAssistant && last.ToolCalls > 0
		if last.Role != RoleUser {
			f.lastUserAfterResult = false
		}
	}
	r.facts = f
	cur := r.CurrentText()
	r.curLower = strings.ToLower(cur)
	r.curUnits = TextUnits(cur)
	r.words = appendWords(make([]span, 0, 64), r.curLower)
	r.prepared = true
	return r
}

// CurrentText is the text of the last user message ("" when none).
func (r *Request) CurrentText() string {
	if !r.prepared {
		for i := len(r.Messages) - 1; i >= 0; i-- {
			if r.Messages[i].Role == RoleUser {
				return r.Messages[i].Text
			}
		}
		return ""
	}
	if r.current < 0 {
		return ""
	}
	return r.Messages[r.current].Text
}

// EstimatedTokens is the prompt-size estimate context rules compare (see
// EstimateTokens).
func (r *Request) EstimatedTokens() int { r.Prepare(); return r.tokens }

// history calls fn for every user message before the current one, newest
// first.
func (r *Request) history(fn func(text string) bool) {
	for i := r.current - 1; i >= 0; i-- {
		if r.Messages[i].Role == RoleUser {
			if !fn(r.Messages[i].Text) {
				return
			}
		}
	}
}
