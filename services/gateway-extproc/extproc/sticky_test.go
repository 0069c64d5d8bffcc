package extproc

import (
	"context"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// flipClassifier is a FAKE classifier: it selects large, then small, then
// large, … under decision both.
type flipClassifier struct {
	mu sync.Mutex
	n  int
}

func (f *flipClassifier) Classify(context.Context, *gateway.RouteRequest) (*gateway.Decision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	m := "large"
	if f.n%2 == 0 {
		m = "small"
	}
	return &gateway.Decision{Name: "both", Confidence: 1, Model: m}, nil
}

// TestStickyConversationOverExtProc: with model switch protection on, the
// turns of one conversation (keyed by x-conversation-id, then by the hash
// of its opening) keep turn 1's model in ext_proc mode: the upstream
// request's x-selected-model and the response's x-vsr-sticky say so.
func TestStickyConversationOverExtProc(t *testing.T) {
	sp := spec()
	sp.Decisions = append(sp.Decisions, routes.Decision{Name: "both", ModelRefs: []routes.ModelRef{{Model: "large"}, {Model: "small"}}})
	sp.Sticky = routes.Sticky{Enabled: true, Scope: routes.StickyScopeConversation, ConversationHeader: "x-conversation-id",
		SessionHeader: "x-session-id", IdleTimeout: routes.DefaultStickyIdleTimeout, StabilityWeight: 1,
		Store: routes.StickyStore{Backend: routes.StickyBackendMemory, TTL: routes.DefaultStickyStoreTTL}}
	h := startHarness(t, sp, gateway.Stages{Classifier: &flipClassifier{}}, nil, nil)
	turn := func(body string, hdr ...string) (selected, sticky string) {
		t.Helper()
		e := h.open(t)
		e.send(chatHeaders(hdr...))
		cr := e.send(reqBody(body, true)).GetRequestBody().Response
		selected = setHeaders(cr.HeaderMutation)["x-selected-model"]
		rh := e.send(respHeaders(200, "application/json"))
		return selected, setHeaders(rh.GetResponseHeaders().Response.HeaderMutation)[gateway.HeaderSticky]
	}
	const t1 = `{"model":"auto","messages":[{"role":"system","content":"s"},{"role":"user","content":"first"}]}`
	const t2 = `{"model":"auto","messages":[{"role":"system","content":"s"},{"role":"user","content":"first"},{"role":"assistant","content":"a"},{"role":"user","content":"second"}]}`
	for _, tc := range []struct {
		name      string
		body      string
		hdr       []string
		wantModel string
		want      string
	}{
		{"header chat turn 1", t1, []string{"x-conversation-id", "c-1"}, "large", "new"},
		{"header chat turn 2", t2, []string{"x-conversation-id", "c-1"}, "large", "pinned"},
		// the classifier now picks large, small: the hash-keyed chat pins large
		{"hash chat turn 1", t1, nil, "large", "new"},
		{"hash chat turn 2", t2, nil, "large", "pinned"},
		{"explicit model", `{"model":"small","messages":[{"role":"user","content":"first"}]}`, []string{"x-conversation-id", "c-1"}, "small", ""},
	} {
		sel, st := turn(tc.body, tc.hdr...)
		if sel != tc.wantModel || st != tc.want {
			t.Errorf("%s: x-selected-model %q x-vsr-sticky %q, want %q %q", tc.name, sel, st, tc.wantModel, tc.want)
		}
	}
}

// TestStickyResponsesOverExtProc: behind Envoy, a Responses API
// conversation continued by previous_response_id keeps turn 1's model
// whatever its instructions (keyed by the conversation, not by the
// opening), and a new conversation with the same opening gets its own
// pin; the FAKE classifier alternates large and small, the upstream
// answers are FAKE chat completions.
func TestStickyResponsesOverExtProc(t *testing.T) {
	sp := spec()
	sp.Decisions = append(sp.Decisions, routes.Decision{Name: "both", ModelRefs: []routes.ModelRef{{Model: "large"}, {Model: "small"}}})
	sp.Sticky = routes.Sticky{Enabled: true, Scope: routes.StickyScopeConversation, ConversationHeader: "x-conversation-id",
		SessionHeader: "x-session-id", IdleTimeout: routes.DefaultStickyIdleTimeout, StabilityWeight: 1,
		Store: routes.StickyStore{Backend: routes.StickyBackendMemory, TTL: routes.DefaultStickyStoreTTL}}
	h := startHarness(t, sp, gateway.Stages{Classifier: &flipClassifier{}}, nil, nil)
	create := func(name, body, want string) (id string) {
		t.Helper()
		e := h.open(t)
		e.send(reqHeaders(false, responsesHeaders("POST", "/v1/responses")...))
		cr := e.send(reqBody(body, true)).GetRequestBody().GetResponse()
		if got := setHeaders(cr.GetHeaderMutation())["x-selected-model"]; got != want {
			t.Errorf("%s: x-selected-model %q, want %q", name, got, want)
		}
		out := e.answerJSON(t, 200, chatAnswer)
		if id = gjson.GetBytes(out, "id").Str; id == "" {
			t.Fatalf("%s: no response id in %s", name, out)
		}
		return id
	}
	// the classifier picks large, small, large, small
	r1 := create("turn 1", `{"model":"auto","instructions":"s","input":"first"}`, "large")
	r2 := create("turn 2 without instructions", `{"model":"auto","input":"second","previous_response_id":"`+r1+`"}`, "large")
	create("turn 3 with other instructions", `{"model":"auto","instructions":"t","input":"third","previous_response_id":"`+r2+`"}`, "large")
	create("new conversation, same opening", `{"model":"auto","instructions":"s","input":"first"}`, "small")
}
