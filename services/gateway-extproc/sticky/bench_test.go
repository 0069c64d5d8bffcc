package sticky

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// benchTurn runs one turn's lookup as the gateway does: derive the key,
// read the pin, decide, write the pin back.
func benchTurn(b *testing.B, in *KeyInput) {
	s := &routes.Sticky{Scope: routes.StickyScopeConversation, ConversationHeader: "x-conversation-id", SessionHeader: "x-session-id"}
	st := NewMemoryStore(0, time.Hour, nil)
	pol := Policy{IdleTimeout: time.Hour, MinTurns: 1, SwitchMargin: 0.05, StabilityWeight: 1}
	ctx := context.Background()
	turn := &Turn{Decision: "d", Choice: "b", Candidates: []string{"a", "b"}}
	now := time.Now()
	// a populated store
	for i := range 10000 {
		_ = st.Put(ctx, "c:4:auto0:"+strconv.Itoa(i), Pin{Decision: "d", Model: "a", Turns: 1, LastUsed: now.UnixMilli()})
	}
	b.ReportAllocs()
	b.ResetTimer()
	var keys Keyer
	for b.Loop() {
		key, _, ok := keys.KeyFor(s, in)
		if !ok {
			b.Fatal("no key")
		}
		prev, found, err := st.Get(ctx, key)
		if err != nil {
			b.Fatal(err)
		}
		_, _, next := pol.Decide(prev, found, now, turn)
		_ = st.Put(ctx, key, next)
	}
}

// BenchmarkLookupHeader: a conversation keyed by its header.
func BenchmarkLookupHeader(b *testing.B) {
	h := func(n string) string {
		if n == "x-conversation-id" {
			return "conv-0123456789abcdef"
		}
		return ""
	}
	benchTurn(b, &KeyInput{Header: h, Model: "auto", User: "alice"})
}

// BenchmarkLookupHash: a conversation keyed by the hash of its opening
// (a 1 KiB system prompt and a first message, on turn 5).
func BenchmarkLookupHash(b *testing.B) {
	sys := make([]byte, 1024)
	for i := range sys {
		sys[i] = 'a' + byte(i%26)
	}
	msgs := []chatreq.Message{{Role: "system", Text: string(sys)}, {Role: "user", Text: "how do I reverse a list in Go?"}}
	for i := range 4 {
		msgs = append(msgs, chatreq.Message{Role: "assistant", Text: "answer"}, chatreq.Message{Role: "user", Text: "follow-up " + strconv.Itoa(i)})
	}
	benchTurn(b, &KeyInput{Model: "auto", Messages: msgs})
}
