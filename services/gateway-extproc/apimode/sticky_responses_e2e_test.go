package apimode

import (
	"context"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
)

// TestStickyResponsesConversation drives a Responses API conversation
// with the OpenAI Go SDK Responses client against FAKE LLM backends a and
// b while the FAKE classifier alternates its choice: a continuation by
// previous_response_id keeps turn 1's model even when it omits or
// changes the instructions (the system prompt the opening hash would
// key by), and a new conversation with the same opening gets its own pin.
func TestStickyResponsesConversation(t *testing.T) {
	env := newStickyEnv(t, "      state_store: {backend: memory, ttl_seconds: 3600}", nil, nil)
	send := func(name string, p responses.ResponseNewParams, want wantTurn) *responses.Response {
		t.Helper()
		var resp *http.Response
		p.Model = "auto"
		r, err := env.e2e.Client.Responses.New(context.Background(), p, option.WithResponseInto(&resp))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		served := resp.Header.Get(gateway.HeaderSelectedModel)
		if got := r.OutputText(); got != "answer from "+served {
			t.Errorf("%s: output %q, served by %q", name, got, served)
		}
		expectTurn(t, name, served, resp.Header.Get(gateway.HeaderSticky), want)
		return r
	}
	input := func(s string) responses.ResponseNewParamsInputUnion {
		return responses.ResponseNewParamsInputUnion{OfString: openai.String(s)}
	}
	// the classifier answers a, b, a, b: every turn would switch unpinned
	r1 := send("turn 1", responses.ResponseNewParams{Instructions: openai.String("be brief"), Input: input("hello there")}, wantTurn{"a", "new"})
	r2 := send("turn 2 without instructions", responses.ResponseNewParams{PreviousResponseID: openai.String(r1.ID),
		Input: input("and then?")}, wantTurn{"a", "pinned"})
	send("turn 3 with other instructions", responses.ResponseNewParams{PreviousResponseID: openai.String(r2.ID),
		Instructions: openai.String("be verbose"), Input: input("go on")}, wantTurn{"a", "pinned"})
	// same opening as turn 1, but another conversation: its own pin (b,
	// the classifier's fourth answer), not turn 1's
	n1 := send("new conversation turn 1", responses.ResponseNewParams{Instructions: openai.String("be brief"), Input: input("hello there")}, wantTurn{"b", "new"})
	send("new conversation turn 2", responses.ResponseNewParams{PreviousResponseID: openai.String(n1.ID), Input: input("more")}, wantTurn{"b", "pinned"})
	// the first conversation still finds its pin from a later response
	send("turn 4 of the first conversation", responses.ResponseNewParams{PreviousResponseID: openai.String(r2.ID), Input: input("again")}, wantTurn{"a", "pinned"})
	if n := len(env.fakes["a"].requests()); n != 4 {
		t.Errorf("a got %d requests, want 4", n)
	}
}
