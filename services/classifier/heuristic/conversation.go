package heuristic

import (
	"fmt"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// ConversationRule mirrors routing.signals.conversation[]: a count (or
// exists) feature over the request's shape, compared with a predicate.
//
// Sources: "message" with Role user, assistant, system, developer, tool,
// non_user (all but user) or "" (all messages); "tool_definition" (declared
// tools); "tool_choice_required" / "tool_choice_none" (1 when tool_choice
// is that mode); "assistant_tool_call" (tool calls made by assistant
// messages); "assistant_tool_cycle" (tool result messages);
// "active_tool_loop" (1 when the conversation is inside an agent tool loop:
// the last message is a tool result or an assistant tool call, or the last
// user turn follows a tool result); "image_content" (image parts).
//
// An exists feature matches when the count is > 0; a count feature
// without a predicate always matches. Matches have confidence 1; Value is
// the count (or 0/1 for exists).
type ConversationRule struct {
	Name        string
	FeatureType string
	SourceType  string
	Role        string
	Predicate   *Predicate
}

type convSource uint8

const (
	convMessage convSource = iota
	convToolDefs
	convChoiceRequired
	convChoiceNone
	convAssistantCalls
	convToolResults
	convActiveLoop
	convImages
)

type conversationRule struct {
	name   string
	exists bool
	src    convSource
	role   int // roleIndex, or -1 for all, -2 for non_user
	pred   *Predicate
}

type conversationFamily struct{ rules []conversationRule }

func compileConversation(rules []ConversationRule, errs *errorList) *conversationFamily {
	f := &conversationFamily{}
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
		p := fmt.Sprintf("conversation[%d]", i)
		cr := conversationRule{name: r.Name, pred: r.Predicate}
		switch strings.ToLower(strings.TrimSpace(r.FeatureType)) {
		case "exists":
			cr.exists = true
		case "count", "":
		default:
			errs.add(p+".feature.type", r.Name, fmt.Errorf("unknown feature type %q (want count or exists)", r.FeatureType))
		}
		switch strings.ToLower(strings.TrimSpace(r.SourceType)) {
		case "message":
			cr.src = convMessage
			switch role := strings.ToLower(strings.TrimSpace(r.Role)); role {
			case "":
				cr.role = -1
			case "non_user":
				cr.role = -2
			default:
				cr.role = roleIndex(Role(role))
				if cr.role < 0 {
					errs.add(p+".feature.source.role", r.Name, fmt.Errorf("unknown role %q (want user, assistant, system, developer, tool or non_user)", r.Role))
				}
			}
		case "tool_definition":
			cr.src = convToolDefs
		case "tool_choice_required":
			cr.src = convChoiceRequired
		case "tool_choice_none":
			cr.src = convChoiceNone
		case "assistant_tool_call":
			cr.src = convAssistantCalls
		case "assistant_tool_cycle":
			cr.src = convToolResults
		case "active_tool_loop":
			cr.src = convActiveLoop
		case "image_content":
			cr.src = convImages
		default:
			errs.add(p+".feature.source.type", r.Name, fmt.Errorf("unknown source type %q", r.SourceType))
		}
		if err := r.Predicate.validate(); err != nil {
			errs.add(p+".predicate", r.Name, err)
		}
		f.rules = append(f.rules, cr)
	}
	checkNames(errs, "conversation", names)
	return f
}

func (cr *conversationRule) count(req *Request) int {
	f := &req.facts
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	switch cr.src {
	case convMessage:
		switch cr.role {
		case -1:
			return len(req.Messages)
		case -2:
			return f.byRole[0] + f.byRole[1] + f.byRole[3] + f.byRole[4]
		default:
			return f.byRole[cr.role]
		}
	case convToolDefs:
		return req.ToolDefinitions
	case convChoiceRequired:
		return b(strings.EqualFold(req.ToolChoice, "required"))
	case convChoiceNone:
		return b(strings.EqualFold(req.ToolChoice, "none"))
	case convAssistantCalls:
		return f.assistantToolCalls
	case convToolResults:
		return f.byRole[4]
	case convActiveLoop:
		return b(f.lastRole == RoleTool || f.lastAssistantCalls || f.lastUserAfterResult)
	case convImages:
		return f.images
	}
	return 0
}

func (f *conversationFamily) evaluate(st *evalState) signal.Outcome {
	out := signal.Outcome{Family: signal.Conversation}
	for i := range f.rules {
		cr := &f.rules[i]
		v := float64(cr.count(st.req))
		var ok bool
		switch {
		case cr.exists:
			if v > 0 {
				v = 1
			}
			ok = v > 0
		case cr.pred.empty():
			ok = true
		default:
			ok = cr.pred.holds(v)
		}
		if !ok {
			setScore(&out, cr.name, v)
			continue
		}
		out.Matches = append(out.Matches, signal.Match{Family: signal.Conversation, Name: cr.name, Confidence: 1, Value: v})
	}
	return out
}
