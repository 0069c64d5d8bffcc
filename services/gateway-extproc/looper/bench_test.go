package looper

import (
	"math"
	"testing"
)

// benchAnswer is a 200-token answer with two top_logprobs per token.
func benchAnswer() []byte {
	lps := make([]float64, 200)
	for i := range lps {
		lps[i] = -0.05 * float64(i%7)
	}
	return completion("m", fakeModel{logprobs: lps, top2: -2.5})
}

// BenchmarkScore is the confidence computation of parsed tokens.
func BenchmarkScore(b *testing.B) {
	toks, _ := AppendTokens(nil, benchAnswer())
	for _, method := range []string{MethodLogprob, MethodMargin, MethodHybrid} {
		b.Run(method, func(b *testing.B) {
			b.ReportAllocs()
			s := 0.0
			for b.Loop() {
				s += Score(method, Weights{Logprob: 0.65, Margin: 0.35}, toks)
			}
			if math.IsNaN(s) {
				b.Fatal("NaN score")
			}
		})
	}
}

// BenchmarkParseAndScore is the per-answer work of a cascade step:
// extracting the token logprobs from the completion and scoring them.
func BenchmarkParseAndScore(b *testing.B) {
	body := benchAnswer()
	buf := make([]Token, 0, 256)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		toks, ok := AppendTokens(buf[:0], body)
		if !ok || Score(MethodHybrid, Weights{}, toks) <= 0 {
			b.Fatal("no score")
		}
	}
}
