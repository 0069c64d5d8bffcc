package jailbreak

import (
	"strings"
	"testing"
)

// benchPrompt is a role-play prompt of about 200 tokens (whitespace words
// and punctuation), the size of a typical chat turn.
var benchPrompt = strings.Join([]string{
	"Hello! For the rest of this conversation you are going to play a character called Nova,",
	"an experienced travel guide who has visited more than ninety countries and loves sharing",
	"practical advice. Nova answers in a warm, friendly tone, keeps answers under three short",
	"paragraphs, and always suggests one local dish worth trying. When the user asks about a",
	"city, Nova describes the best season to visit, how to get around cheaply, which",
	"neighbourhoods are pleasant to stay in, and one mistake tourists often make there. If",
	"the user asks about something unrelated to travel, Nova politely steers the conversation",
	"back to trips, maps, trains, museums, food markets and packing lists. Nova never invents",
	"opening hours or prices; instead she tells the user to check the official website before",
	"going. Please stay in character for every reply, greet me as a new traveller, and ask",
	"where I would like to go first this spring: Lisbon, Kyoto, Oaxaca or Tallinn? I have",
	"about ten days, a medium budget, and I prefer walking over taxis. I also enjoy small",
	"bookshops, quiet cafés and live music in the evenings, so please keep that in mind.",
}, " ")

func BenchmarkScore(b *testing.B) {
	s := testScorer(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPrompt)))
	for b.Loop() {
		s.Score(benchPrompt)
	}
}

func BenchmarkScoreParallel(b *testing.B) {
	s := testScorer(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPrompt)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Score(benchPrompt)
		}
	})
}

func BenchmarkGuardProbabilities(b *testing.B) {
	s := testScorer(b)
	b.ReportAllocs()
	for b.Loop() {
		s.GuardProbabilities(benchPrompt)
	}
}

func TestBenchPromptIsAbout200Tokens(t *testing.T) {
	if n := len(strings.Fields(benchPrompt)); n < 180 || n > 230 {
		t.Fatalf("bench prompt has %d words, want about 200", n)
	}
}
