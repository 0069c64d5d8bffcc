package cache_test

import (
	"testing"

	"github.com/semrouter/semrouter/services/cache"
)

func TestSameQuestion(t *testing.T) {
	tests := []struct {
		name     string
		a, b     string
		wantSame bool
	}{
		{"identical", "How do I learn Go?", "How do I learn Go?", true},
		{"paraphrase", "How can I earn money fast online?", "How can I earn money online fast?", true},
		{"different year", "What electronic music genres became big in 2015?", "What electronic music genres became big in 2016?", false},
		{"same numbers reordered", "Convert 3 miles to km in 2024", "In 2024, convert 3 miles to km", true},
		{"repeated number", "Is 7 times 7 prime?", "Is 7 x 7 a prime?", true},
		{"decimal kept whole", "Resize to 3.5cm", "Resize to 3cm", false},
		{"thousands kept whole", "Is 1,000 big?", "Is 1 big?", false},
		{"extra number", "Best phone", "Best phone 2", false},
		{"negation added", "Why do people like religion?", "Why do some people not like religion?", false},
		{"contraction negation", "Why doesn't my code compile?", "Why does my code compile?", false},
		{"curly contraction", "Why doesn’t it work?", "Why does it not work?", true},
		{"both negated", "Why can't I sleep?", "Why cannot I sleep?", true},
		{"upper-case negation", "NOT a question", "not a question", true},
		{"apostrophe s is not negation", "What is John's age?", "What is the age of John?", true},
		{"n't inside word ignored", "Don'to is a word", "Don to is a word", true},
		{"empty query passes", "", "anything 42", true},
		{"empty stored passes", "anything 42", "", true},
		{"unicode letters", "Qu'est-ce que c'est 2020?", "Qu'est-ce que c'est 2021?", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cache.SameQuestion(tt.a, tt.b); got != tt.wantSame {
				t.Fatalf("SameQuestion(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.wantSame)
			}
			if got := cache.SameQuestion(tt.b, tt.a); got != tt.wantSame {
				t.Fatalf("SameQuestion is not symmetric for %q, %q", tt.a, tt.b)
			}
		})
	}
}

func TestSameQuestionManyNumbers(t *testing.T) {
	a := "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18"
	if !cache.SameQuestion(a, a) {
		t.Fatal("a text with more numbers than the inline bound must equal itself")
	}
	if cache.SameQuestion(a, "1 2 3") {
		t.Fatal("a text with many numbers matched one with three")
	}
}

func FuzzSameQuestion(f *testing.F) {
	f.Add("Why don't 3.5 cats", "why do 3,5 cats")
	f.Add("", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		if cache.SameQuestion(a, b) != cache.SameQuestion(b, a) {
			t.Fatalf("not symmetric: %q %q", a, b)
		}
		if !cache.SameQuestion(a, a) {
			t.Fatalf("not reflexive: %q", a)
		}
	})
}

func BenchmarkSameQuestion(b *testing.B) {
	q := "I need to resize a photo to 3.5cm X 3.5cm with 15-19 KB file size. How don't I do it?"
	s := "I need to resize a photo to 3.5cm X 3.5cm with 45-50 KB file size. How don't I do it?"
	b.ReportAllocs()
	for b.Loop() {
		cache.SameQuestion(q, s)
	}
}
