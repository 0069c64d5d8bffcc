package responses

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

// TestPrepareConversationChain: a new response starts a conversation
// named by its own id; a continuation by previous_response_id inherits
// the conversation of the response it continues, through any number of
// links, and a record stored before conversation ids existed names the
// conversation by its own id.
func TestPrepareConversationChain(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ep := Endpoints{Store: NewMemoryStore(0, time.Hour, func() time.Time { return now }), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	n := 0
	ids := func(prefix string) string { n++; return fmt.Sprintf("%s_%d", prefix, n) }
	create := func(name, body string) *Call {
		t.Helper()
		c, aerr := ep.Prepare(ctx, []byte(body), "alice", ids, now)
		if aerr != nil {
			t.Fatalf("%s: %v", name, aerr)
		}
		final := *c.Resp
		final.Status = StatusCompleted
		ep.Save(ctx, c.Record(&final))
		return c
	}
	first := create("first", `{"model":"auto","instructions":"be brief","input":"hi"}`)
	if first.Conversation == "" || first.Conversation != first.Resp.ID {
		t.Fatalf("first response: conversation %q, id %q", first.Conversation, first.Resp.ID)
	}
	second := create("second", fmt.Sprintf(`{"model":"auto","previous_response_id":%q,"input":"more"}`, first.Resp.ID))
	third := create("third", fmt.Sprintf(`{"model":"auto","previous_response_id":%q,"instructions":"other","input":"again"}`, second.Resp.ID))
	for name, c := range map[string]*Call{"second": second, "third": third} {
		if c.Conversation != first.Resp.ID {
			t.Errorf("%s: conversation %q, want %q", name, c.Conversation, first.Resp.ID)
		}
	}
	other := create("other", `{"model":"auto","instructions":"be brief","input":"hi"}`)
	if other.Conversation == first.Conversation {
		t.Errorf("a new conversation inherited %q", other.Conversation)
	}
	legacy := record("alice", "resp_old", "x")
	if got := legacy.ChainID(); got != "resp_old" {
		t.Errorf("record without conversation id: chain %q", got)
	}
}
