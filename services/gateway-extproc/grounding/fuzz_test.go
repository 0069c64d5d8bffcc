package grounding

import (
	"context"
	"testing"
	"unicode/utf8"
)

// FuzzCheck: any answer and context are checked without panics, and every
// span lies inside the answer on rune boundaries.
func FuzzCheck(f *testing.F) {
	f.Add(`{"a":[1,2,{"b":"Paris"}]}`, "It is 18°C in Paris. “Quote” 2021-03-04 March 3, 2021. J. K. Rowling said \"hi there\".")
	f.Add("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18", "Values 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 99")
	f.Add("x", "```\ncode 42\n```\n# Head 7\n- 1. item [3]\n")
	f.Add("Ünïcödé Çity 3", "Ünïcödé Çity has 4 Ŵords. \xff\xfe bad bytes 5")
	d := New(Options{Limits: Limits{MaxSentenceBytes: 40}})
	f.Fuzz(func(t *testing.T, ctxText, answer string) {
		v := d.Check(context.Background(), nil, Input{Sources: []string{ctxText}, Supporting: []string{ctxText}, Answer: answer})
		for _, s := range v.Spans {
			if s.Start < 0 || s.End > len(answer) || s.Start >= s.End || answer[s.Start:s.End] != s.Text {
				t.Fatalf("span %+v outside the answer %q", s, answer)
			}
			if utf8.ValidString(answer) && !utf8.ValidString(s.Text) {
				t.Fatalf("span %q cuts a rune", s.Text)
			}
		}
	})
}
