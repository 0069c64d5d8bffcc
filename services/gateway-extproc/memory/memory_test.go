package memory

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/redistest"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func vec(xs ...float32) []float32 { return xs }

func entry(id, text string, emb []float32, at time.Time) Entry {
	return Entry{ID: id, Text: text, Embedding: emb, CreatedAt: at, Source: SourceUserTurn}
}

func mustPlugin(t *testing.T, s Settings) *Plugin {
	t.Helper()
	p, err := NewPlugin(nil, s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func texts(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Text
	}
	return out
}

func TestSelect(t *testing.T) {
	q := vec(1, 0, 0)
	tests := []struct {
		name    string
		s       Settings
		entries []Entry
		want    []string
	}{
		{
			name: "threshold and limit, most similar first",
			s:    Settings{RetrievalLimit: 2, SimilarityThreshold: 0.5, DedupThreshold: 0.999},
			entries: []Entry{
				entry("1", "far", vec(0, 1, 0), t0),
				entry("2", "close", vec(0.9, 0.1, 0), t0),
				entry("3", "exact", vec(1, 0, 0), t0),
				entry("4", "medium", vec(0.6, 0.5, 0), t0),
			},
			want: []string{"exact", "close"},
		},
		{
			name: "recency decay ranks a newer, slightly less similar memory first",
			s:    Settings{RetrievalLimit: 1, SimilarityThreshold: 0.5, RecencySemantic: true, RecencyDecayDays: 7},
			entries: []Entry{
				entry("1", "old exact", vec(1, 0, 0), t0.Add(-28*24*time.Hour)),
				entry("2", "new close", vec(0.9, 0.2, 0), t0.Add(-time.Hour)),
			},
			want: []string{"new close"},
		},
		{
			name: "without recency the old exact memory wins",
			s:    Settings{RetrievalLimit: 1, SimilarityThreshold: 0.5},
			entries: []Entry{
				entry("1", "old exact", vec(1, 0, 0), t0.Add(-28*24*time.Hour)),
				entry("2", "new close", vec(0.9, 0.2, 0), t0.Add(-time.Hour)),
			},
			want: []string{"old exact"},
		},
		{
			name: "near duplicates are dropped",
			s:    Settings{RetrievalLimit: 5, SimilarityThreshold: 0.5, DedupThreshold: 0.95},
			entries: []Entry{
				entry("1", "a", vec(1, 0, 0), t0),
				entry("2", "a again", vec(0.999, 0.01, 0), t0),
				entry("3", "b", vec(0.8, 0.6, 0), t0),
			},
			want: []string{"a", "b"},
		},
		{
			name: "block patterns are never injected",
			s:    Settings{SimilarityThreshold: 0.5, BlockPatterns: []string{"api key", `pass(word)?`}},
			entries: []Entry{
				entry("1", "My API key is sk-123", vec(1, 0, 0), t0),
				entry("2", "my Password is hunter2", vec(1, 0, 0), t0),
				entry("3", "I prefer Go", vec(0.7, 0.7, 0), t0),
			},
			want: []string{"I prefer Go"},
		},
		{
			name: "max_inject_tokens caps the injected text",
			s:    Settings{SimilarityThreshold: 0.5, MaxInjectTokens: 5},
			entries: []Entry{
				entry("1", strings.Repeat("x", 15), vec(1, 0, 0), t0),
				entry("2", strings.Repeat("y", 10), vec(0.9, 0.3, 0), t0),
				entry("3", "zzzz", vec(0.8, 0.5, 0), t0),
			},
			want: []string{strings.Repeat("x", 15), "zzzz"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := texts(mustPlugin(t, tc.s).Select(tc.entries, q, t0))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExtractFacts(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"name and work", "Hi there. My name is Ada and I work on compilers. What is Go?", "My name is Ada and I work on compilers."},
		{"preference", "I prefer answers in French!", "I prefer answers in French!"},
		{"questions are not facts", "Am I right? What is my name?", ""},
		{"no fact", "Explain the CAP theorem.", ""},
		{"possessive", "My favourite editor is vim", "My favourite editor is vim"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExtractFacts(tc.in); got != tc.want {
				t.Fatalf("ExtractFacts(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCandidate(t *testing.T) {
	p := mustPlugin(t, Settings{DedupThreshold: 0.9, BlockPatterns: []string{"password"}})
	existing := []Entry{entry("1", "My name is Ada.", vec(1, 0, 0), t0)}
	if e := p.Candidate(existing, "My name is Ada!", vec(0.99, 0.05, 0), t0); e != nil {
		t.Fatalf("near-duplicate stored: %+v", e)
	}
	if e := p.Candidate(nil, "My password is hunter2.", vec(1, 0, 0), t0); e != nil {
		t.Fatalf("blocked text stored: %+v", e)
	}
	if e := p.Candidate(nil, "What time is it?", vec(1, 0, 0), t0); e != nil {
		t.Fatalf("a question stored: %+v", e)
	}
	e := p.Candidate(existing, "I live in Lyon. Tell me a joke.", vec(0, 1, 0), t0)
	if e == nil || e.Text != "I live in Lyon." || e.Source != SourceUserTurn {
		t.Fatalf("candidate = %+v", e)
	}
}

// storeContract runs the Store behaviour every backend shares.
func storeContract(t *testing.T, s Store) {
	ctx := context.Background()
	p := mustPlugin(t, Settings{})
	for i := range 5 {
		e := entry(p.NewID(t0.Add(time.Duration(i)*time.Second)), fmt.Sprintf("fact %d", i), vec(float32(i), 1, 0.5), t0.Add(time.Duration(i)*time.Second))
		if err := s.Add(ctx, "alice", e, 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add(ctx, "bob", entry(p.NewID(t0), "bob fact", vec(1, 2, 3), t0), 3); err != nil {
		t.Fatal(err)
	}
	got, err := s.List(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]Entry{}
	for _, e := range got {
		seen[e.Text] = e
	}
	if len(got) != 3 || seen["fact 2"].Text == "" || seen["fact 4"].Text == "" || seen["fact 0"].Text != "" {
		t.Fatalf("cap 3 should keep the newest facts 2..4, got %q", texts(got))
	}
	e := seen["fact 4"]
	if fmt.Sprint(e.Embedding) != fmt.Sprint(vec(4, 1, 0.5)) || !e.CreatedAt.Equal(t0.Add(4*time.Second)) || e.Source != SourceUserTurn {
		t.Fatalf("entry did not round-trip: %+v", e)
	}
	n, err := s.Forget(ctx, "alice")
	if err != nil || n != 3 {
		t.Fatalf("Forget = %d, %v", n, err)
	}
	if got, _ := s.List(ctx, "alice"); len(got) != 0 {
		t.Fatalf("alice still has %q", texts(got))
	}
	if got, _ := s.List(ctx, "bob"); len(got) != 1 {
		t.Fatalf("forgetting alice touched bob: %q", texts(got))
	}
	if _, err := s.List(ctx, ""); err != ErrNoUser {
		t.Fatalf("empty user: %v", err)
	}
}

func TestLocalStore(t *testing.T) { storeContract(t, NewLocal()) }

func TestValkeyStore(t *testing.T) {
	srv := redistest.Start(t)
	v, err := NewValkey(ValkeyConfig{Addr: srv.Addr, KeyPrefix: "mem:"})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	storeContract(t, v)
	// The documented layout: one hash per user at <prefix><user>.
	if n, err := v.client.HLen(context.Background(), "mem:bob").Result(); err != nil || n != 1 {
		t.Fatalf("HLEN mem:bob = %d, %v", n, err)
	}
	// A field that is not a memory record is ignored, not an error.
	if err := v.client.HSet(context.Background(), "mem:bob", "junk", "{}").Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := v.List(context.Background(), "bob"); err != nil || len(got) != 1 {
		t.Fatalf("List with a foreign field = %q, %v", texts(got), err)
	}
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := v.List(ctx, "bob"); err == nil {
		t.Fatal("List succeeded with the server stopped")
	}
}

func TestValkeyConfigErrors(t *testing.T) {
	if _, err := NewValkey(ValkeyConfig{}); err == nil {
		t.Fatal("empty address accepted")
	}
	if _, err := NewValkey(ValkeyConfig{Addr: "x:1", DB: -1}); err == nil {
		t.Fatal("negative db accepted")
	}
}

func TestNewPluginRejectsBadPattern(t *testing.T) {
	if _, err := NewPlugin(nil, Settings{BlockPatterns: []string{"("}}); err == nil || !strings.Contains(err.Error(), "block_patterns[0]") {
		t.Fatalf("err = %v", err)
	}
}
