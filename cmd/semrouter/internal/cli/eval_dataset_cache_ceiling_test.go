package cli

import (
	"testing"

	"github.com/semrouter/semrouter/services/classifier/quality"
)

func TestMeasureLabelCeiling(t *testing.T) {
	pairs := []quality.Pair{
		{ID: 1, Q1: "How do I learn Go?", Q2: "how do i learn go", Duplicate: true},
		{ID: 2, Q1: "What is C++?", Q2: "What is C?", Duplicate: false},                    // same words once folded; the guard refuses it
		{ID: 3, Q1: "Why is the sky blue ?", Q2: "Why is the sky blue?", Duplicate: false}, // a noisy label
		{ID: 4, Q1: "How do I learn Go?", Q2: "How can I learn Go?", Duplicate: true},      // other words: not counted
	}
	c := measureLabelCeiling("file", pairs)
	if c.Pairs != 3 || c.Duplicates != 1 || c.GuardedPairs != 2 || c.GuardedDuplicates != 1 {
		t.Fatalf("got %+v", c)
	}
	if c.Precision != 1.0/3 || c.GuardedPrecision != 0.5 {
		t.Fatalf("precision %v guarded %v", c.Precision, c.GuardedPrecision)
	}
	if got := measureLabelCeiling("sample", nil); got.Pairs != 0 || got.Precision != 0 {
		t.Fatalf("empty: %+v", got)
	}
}

func TestSameWords(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"case and punctuation", "What's new?", "whats new", false},
		{"spacing", "I'm scared.What now?", "I'm scared. What now?", true},
		{"unicode letters", "Qué es esto?", "qué es esto", true},
		{"other word", "What is Go?", "What is Rust?", false},
		{"other order", "A or B", "B or A", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameWords(tt.a, tt.b); got != tt.want {
				t.Fatalf("sameWords(%q, %q) = %v", tt.a, tt.b, got)
			}
		})
	}
}
