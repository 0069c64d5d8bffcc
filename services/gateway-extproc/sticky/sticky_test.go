package sticky

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestDecide(t *testing.T) {
	pol := Policy{IdleTimeout: 5 * time.Minute, MinTurns: 2, SwitchMargin: 0.05, StabilityWeight: 1}
	pin := func(dec, model string, turns int, ago time.Duration) Pin {
		return Pin{Decision: dec, Model: model, Turns: turns, LastUsed: t0.Add(-ago).UnixMilli()}
	}
	cands := []string{"a", "b", "c"}
	cases := []struct {
		name      string
		pol       Policy
		prev      Pin
		found     bool
		turn      Turn
		wantModel string
		want      Outcome
		wantTurns int
	}{
		{name: "first turn pins the choice", turn: Turn{Decision: "d", Choice: "b", Candidates: cands},
			wantModel: "b", want: New, wantTurns: 1},
		{name: "pinned model kept over another choice", prev: pin("d", "a", 3, time.Minute), found: true,
			turn: Turn{Decision: "d", Choice: "b", Candidates: cands}, wantModel: "a", want: Pinned, wantTurns: 4},
		{name: "same choice stays pinned", prev: pin("d", "a", 1, time.Minute), found: true,
			turn: Turn{Decision: "d", Choice: "a", Candidates: cands}, wantModel: "a", want: Pinned, wantTurns: 2},
		{name: "decision change re-pins", prev: pin("d", "a", 9, time.Minute), found: true,
			turn: Turn{Decision: "other", Choice: "b", Candidates: cands}, wantModel: "b", want: New, wantTurns: 1},
		{name: "idle pin expires", prev: pin("d", "a", 9, 5*time.Minute+time.Millisecond), found: true,
			turn: Turn{Decision: "d", Choice: "b", Candidates: cands}, wantModel: "b", want: New, wantTurns: 1},
		{name: "pin used exactly at the idle timeout holds", prev: pin("d", "a", 9, 5*time.Minute), found: true,
			turn: Turn{Decision: "d", Choice: "b", Candidates: cands}, wantModel: "a", want: Pinned, wantTurns: 10},
		{name: "no idle timeout never expires", pol: Policy{StabilityWeight: 1}, prev: pin("d", "a", 1, 1000*time.Hour), found: true,
			turn: Turn{Decision: "d", Choice: "b", Candidates: cands}, wantModel: "a", want: Pinned, wantTurns: 2},
		{name: "pinned model no longer a candidate", prev: pin("d", "a", 9, time.Minute), found: true,
			turn: Turn{Decision: "d", Choice: "b", Candidates: []string{"b", "c"}}, wantModel: "b", want: Switched, wantTurns: 1},
		{name: "better score within min turns holds", prev: pin("d", "a", 1, time.Minute), found: true,
			turn:      Turn{Decision: "d", Choice: "b", Candidates: cands, Scores: map[string]float64{"a": 0.1, "b": 0.9}},
			wantModel: "a", want: Pinned, wantTurns: 2},
		{name: "better score by more than the margin switches", prev: pin("d", "a", 2, time.Minute), found: true,
			turn:      Turn{Decision: "d", Choice: "b", Candidates: cands, Scores: map[string]float64{"a": 0.5, "b": 0.56}},
			wantModel: "b", want: Switched, wantTurns: 1},
		{name: "better score within the margin holds", prev: pin("d", "a", 2, time.Minute), found: true,
			turn:      Turn{Decision: "d", Choice: "b", Candidates: cands, Scores: map[string]float64{"a": 0.5, "b": 0.54}},
			wantModel: "a", want: Pinned, wantTurns: 3},
		{name: "stability weight scales the margin", pol: Policy{MinTurns: 0, SwitchMargin: 0.05, StabilityWeight: 3},
			prev: pin("d", "a", 1, time.Minute), found: true,
			turn:      Turn{Decision: "d", Choice: "b", Candidates: cands, Scores: map[string]float64{"a": 0.5, "b": 0.6}},
			wantModel: "a", want: Pinned, wantTurns: 2},
		{name: "zero weight switches on any gain", pol: Policy{SwitchMargin: 0.05, StabilityWeight: 0},
			prev: pin("d", "a", 1, time.Minute), found: true,
			turn:      Turn{Decision: "d", Choice: "b", Candidates: cands, Scores: map[string]float64{"a": 0.5, "b": 0.5001}},
			wantModel: "b", want: Switched, wantTurns: 1},
		{name: "no score for the pinned model holds", prev: pin("d", "a", 5, time.Minute), found: true,
			turn:      Turn{Decision: "d", Choice: "b", Candidates: cands, Scores: map[string]float64{"b": 0.9}},
			wantModel: "a", want: Pinned, wantTurns: 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := pol
			if tc.pol != (Policy{}) {
				p = tc.pol
			}
			model, got, next := p.Decide(tc.prev, tc.found, t0, &tc.turn)
			if model != tc.wantModel || got != tc.want {
				t.Fatalf("Decide = %s, %s; want %s, %s", model, got, tc.wantModel, tc.want)
			}
			if next.Model != model || next.Decision != tc.turn.Decision || next.Turns != tc.wantTurns || next.LastUsed != t0.UnixMilli() {
				t.Errorf("next pin = %+v, want model %s decision %s turns %d used %d", next, model, tc.turn.Decision, tc.wantTurns, t0.UnixMilli())
			}
		})
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{New: "new", Pinned: "pinned", Switched: "switched", 0: ""} {
		if o.String() != want {
			t.Errorf("%d.String() = %q, want %q", o, o.String(), want)
		}
	}
}

func headers(h map[string]string) func(string) string {
	return func(n string) string { return h[n] }
}

func TestKeyFor(t *testing.T) {
	conv := routes.Sticky{Scope: routes.StickyScopeConversation, ConversationHeader: "x-conversation-id", SessionHeader: "x-session-id"}
	sess, user := conv, conv
	sess.Scope, user.Scope = routes.StickyScopeSession, routes.StickyScopeUser
	turn1 := []chatreq.Message{{Role: "system", Text: "be brief"}, {Role: "user", Text: "hello"}}
	turn2 := append(append([]chatreq.Message(nil), turn1...), chatreq.Message{Role: "assistant", Text: "hi"}, chatreq.Message{Role: "user", Text: "more"})
	otherSys := []chatreq.Message{{Role: "system", Text: "be long"}, {Role: "user", Text: "hello"}}
	otherFirst := []chatreq.Message{{Role: "system", Text: "be brief"}, {Role: "user", Text: "hello!"}}
	// "ab" + "c" must not collide with "a" + "bc"
	splitA := []chatreq.Message{{Role: "system", Text: "ab"}, {Role: "user", Text: "c"}}
	splitB := []chatreq.Message{{Role: "system", Text: "a"}, {Role: "user", Text: "bc"}}

	key := func(s routes.Sticky, in KeyInput) (string, string) {
		k, src, ok := new(Keyer).KeyFor(&s, &in)
		if !ok {
			return "", ""
		}
		return k, src
	}
	t.Run("header wins over the hash, conversation over session", func(t *testing.T) {
		k1, src := key(conv, KeyInput{Header: headers(map[string]string{"x-conversation-id": "c1", "x-session-id": "s1"}), Model: "auto", Messages: turn1})
		if src != SourceConversation {
			t.Fatalf("source %q", src)
		}
		k2, _ := key(conv, KeyInput{Header: headers(map[string]string{"x-conversation-id": "c1"}), Model: "auto", Messages: otherSys})
		if k1 != k2 {
			t.Errorf("same conversation header, different keys %q %q", k1, k2)
		}
		_, src = key(conv, KeyInput{Header: headers(map[string]string{"x-session-id": "s1"}), Model: "auto", Messages: turn1})
		if src != SourceSession {
			t.Errorf("source %q, want session", src)
		}
	})
	t.Run("hash follows the opening of the conversation", func(t *testing.T) {
		k1, src := key(conv, KeyInput{Model: "auto", Messages: turn1})
		k2, _ := key(conv, KeyInput{Model: "auto", Messages: turn2})
		if src != SourceHash || k1 == "" || k1 != k2 {
			t.Fatalf("turn 1 %q (%s) and turn 2 %q must share a hash key", k1, src, k2)
		}
		for name, other := range map[string]KeyInput{
			"other system prompt":  {Model: "auto", Messages: otherSys},
			"other first message":  {Model: "auto", Messages: otherFirst},
			"other user":           {Model: "auto", User: "alice", Messages: turn1},
			"other requested name": {Model: "MoM", Messages: turn1},
		} {
			if k, _ := key(conv, other); k == k1 {
				t.Errorf("%s: same key %q", name, k)
			}
		}
		a, _ := key(conv, KeyInput{Model: "auto", Messages: splitA})
		b, _ := key(conv, KeyInput{Model: "auto", Messages: splitB})
		if a == b {
			t.Errorf("length prefixes missing: %q", a)
		}
	})
	t.Run("header keys are scoped by user and model", func(t *testing.T) {
		h := headers(map[string]string{"x-conversation-id": "c1"})
		a, _ := key(conv, KeyInput{Header: h, Model: "auto", User: "alice"})
		b, _ := key(conv, KeyInput{Header: h, Model: "auto", User: "bob"})
		c, _ := key(conv, KeyInput{Header: h, Model: "auto2", User: "alice"})
		if a == b || a == c {
			t.Errorf("keys %q %q %q must differ", a, b, c)
		}
	})
	t.Run("a Responses API conversation keys its chain", func(t *testing.T) {
		h := headers(map[string]string{"x-conversation-id": "c1"})
		k1, src := key(conv, KeyInput{Header: h, Model: "auto", Conversation: "resp_1", Messages: turn1})
		k2, _ := key(conv, KeyInput{Model: "auto", Conversation: "resp_1", Messages: otherSys})
		if src != SourceConversation || k1 != k2 {
			t.Fatalf("same conversation, keys %q (%s) and %q", k1, src, k2)
		}
		if k, _ := key(conv, KeyInput{Model: "auto", Conversation: "resp_2", Messages: turn1}); k == k1 {
			t.Errorf("another conversation shares key %q", k)
		}
		if k, _ := key(conv, KeyInput{Header: headers(map[string]string{"x-conversation-id": "resp_1"}), Model: "auto"}); k == k1 {
			t.Errorf("a conversation header reaches the Responses conversation's key %q", k)
		}
		if _, src := key(sess, KeyInput{Model: "auto", Conversation: "resp_1"}); src != "" {
			t.Errorf("session scope keyed by the Responses conversation (%s)", src)
		}
	})
	t.Run("long header values are hashed", func(t *testing.T) {
		k, _ := key(conv, KeyInput{Header: headers(map[string]string{"x-conversation-id": strings.Repeat("z", 10000)}), Model: "auto"})
		if len(k) > 64 {
			t.Errorf("key of %d bytes", len(k))
		}
	})
	for _, tc := range []struct {
		name string
		s    routes.Sticky
		in   KeyInput
		want string // source; "": no key
	}{
		{"no user message has no hash", conv, KeyInput{Model: "auto", Messages: []chatreq.Message{{Role: "system", Text: "x"}}}, ""},
		{"session scope needs the session header", sess, KeyInput{Model: "auto", Messages: turn1,
			Header: headers(map[string]string{"x-conversation-id": "c1"})}, ""},
		{"session scope", sess, KeyInput{Model: "auto", Header: headers(map[string]string{"x-session-id": "s"})}, SourceSession},
		{"user scope", user, KeyInput{Model: "auto", User: "alice"}, SourceUser},
		{"user scope without user", user, KeyInput{Model: "auto", Messages: turn1}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, src := key(tc.s, tc.in); src != tc.want {
				t.Errorf("source %q, want %q", src, tc.want)
			}
		})
	}
}

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	now := t0
	clock := func() time.Time { return now }
	t.Run("ttl", func(t *testing.T) {
		s := NewMemoryStore(10, time.Minute, clock)
		_ = s.Put(ctx, "k", Pin{Model: "a"})
		now = now.Add(59 * time.Second)
		if p, ok, _ := s.Get(ctx, "k"); !ok || p.Model != "a" {
			t.Fatalf("Get before the ttl = %+v, %v", p, ok)
		}
		now = now.Add(time.Second)
		if _, ok, _ := s.Get(ctx, "k"); ok || s.Len() != 0 {
			t.Fatalf("pin kept after its ttl (len %d)", s.Len())
		}
	})
	t.Run("lru bound", func(t *testing.T) {
		s := NewMemoryStore(2, 0, clock)
		_ = s.Put(ctx, "a", Pin{Model: "1"})
		_ = s.Put(ctx, "b", Pin{Model: "2"})
		_ = s.Put(ctx, "a", Pin{Model: "1b"}) // a is now the most recent
		_ = s.Put(ctx, "c", Pin{Model: "3"})  // evicts b
		if _, ok, _ := s.Get(ctx, "b"); ok {
			t.Error("b should have been evicted")
		}
		for k, want := range map[string]string{"a": "1b", "c": "3"} {
			if p, ok, _ := s.Get(ctx, k); !ok || p.Model != want {
				t.Errorf("%s = %+v %v, want %s", k, p, ok, want)
			}
		}
		if s.Len() != 2 {
			t.Errorf("len %d", s.Len())
		}
	})
}
