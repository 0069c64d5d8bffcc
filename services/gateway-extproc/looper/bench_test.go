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

// ratingsAnswers are three 200-token answers with logprobs, as a ratings
// decision over three models gathers them.
func ratingsAnswers() []Answer {
	body := benchAnswer()
	return []Answer{{Model: "small", Body: body}, {Model: "medium", Body: body}, {Model: "large", Body: body}}
}

// BenchmarkRatingsCombine is the assembly of a ratings answer from three
// model answers (into a reused buffer, as a caller that pools it would).
func BenchmarkRatingsCombine(b *testing.B) {
	answers := ratingsAnswers()
	n := 0
	for _, a := range answers {
		n += len(a.Body)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = Combine(buf[:0], answers); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRatingsStream renders a combined three-choice answer as SSE.
func BenchmarkRatingsStream(b *testing.B) {
	body, err := Combine(nil, ratingsAnswers())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		if buf, err = AppendStream(buf[:0], body, true); err != nil {
			b.Fatal(err)
		}
	}
}
