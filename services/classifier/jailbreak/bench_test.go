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

// benchPrompt2KB is a prompt of about 2 KB: the role-play prompt followed
// by a question with a code block.
var benchPrompt2KB = benchPrompt + "\n\nAlso, unrelated: why does this Go code print 0?\n```go\n" +
	"func count(xs []string) int {\n\tn := 0\n\tfor _, x := range xs {\n\t\tif strings.HasPrefix(x, \"a\") {\n\t\t\tn++\n\t\t}\n\t}\n\treturn n\n}\n" +
	"func main() {\n\twords := strings.Fields(\"Apple avocado banana Apricot cherry almond\")\n\tfmt.Println(count(words[:0]))\n}\n```\n" +
	"I expected it to count the words that start with a lower-case a, so 2, but it prints 0 every time. " +
	"Is the slice expression wrong, or does strings.Fields split differently from what I think? " +
	"Please explain the fix step by step and suggest a test case that would have caught it, " +
	"ideally a table test with named cases for empty input, mixed case and Unicode words such as ámbar. " +
	"If it matters, this runs with Go 1.26 on Linux, and the input comes from a file read with os.ReadFile " +
	"and converted with string(data) before it reaches count; the file is plain ASCII, one line, no BOM."

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

// BenchmarkScore2KB scores one prompt of about 2 KB: guard, head and
// gibberish detector.
func BenchmarkScore2KB(b *testing.B) {
	s := testScorer(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPrompt2KB)))
	for b.Loop() {
		s.Score(benchPrompt2KB)
	}
}

// BenchmarkGibberish2KB is the gibberish detector's share of
// BenchmarkScore2KB.
func BenchmarkGibberish2KB(b *testing.B) {
	s := testScorer(b)
	sc := &gibberishScratch{}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPrompt2KB)))
	for b.Loop() {
		s.gibberish.raw(sc, benchPrompt2KB)
	}
}

func BenchmarkGuardProbabilities(b *testing.B) {
	s := testScorer(b)
	b.ReportAllocs()
	for b.Loop() {
		s.GuardProbabilities(benchPrompt)
	}
}

func TestBenchPromptSizes(t *testing.T) {
	if n := len(strings.Fields(benchPrompt)); n < 180 || n > 230 {
		t.Fatalf("bench prompt has %d words, want about 200", n)
	}
	if n := len(benchPrompt2KB); n < 1900 || n > 2200 {
		t.Fatalf("2 KB bench prompt has %d bytes", n)
	}
}
