package looper

import (
	"math"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Confidence methods (confidence.confidence_method).
const (
	MethodLogprob = "logprob"
	MethodMargin  = "margin"
	MethodHybrid  = "hybrid"
)

// Token is one answer token's log probability and the two best
// alternatives' (top_logprobs; -Inf when the answer did not carry them).
type Token struct {
	Logprob    float64
	Top1, Top2 float64
}

// Weights weighs the logprob and margin scores of the hybrid method.
type Weights struct{ Logprob, Margin float64 }

// AppendTokens appends to dst the tokens of choices[0].logprobs.content
// of a chat.completion body; ok is false when the answer has no logprobs.
func AppendTokens(dst []Token, completion []byte) ([]Token, bool) {
	if len(completion) == 0 {
		return dst, false
	}
	// Read in place: only numbers are kept, no string outlives the call.
	lp := gjson.Get(unsafe.String(&completion[0], len(completion)), "choices.0.logprobs.content")
	if !lp.IsArray() {
		return dst, false
	}
	n := len(dst)
	lp.ForEach(func(_, t gjson.Result) bool {
		tok := Token{Logprob: t.Get("logprob").Float(), Top1: math.Inf(-1), Top2: math.Inf(-1)}
		t.Get("top_logprobs").ForEach(func(_, alt gjson.Result) bool {
			v := alt.Get("logprob").Float()
			switch {
			case v > tok.Top1:
				tok.Top1, tok.Top2 = v, tok.Top1
			case v > tok.Top2:
				tok.Top2 = v
			}
			return true
		})
		dst = append(dst, tok)
		return true
	})
	return dst, len(dst) > n
}

// LogprobScore is exp(mean token logprob): the geometric mean of the
// token probabilities, in [0,1]. It is 0 for no tokens.
func LogprobScore(toks []Token) float64 {
	if len(toks) == 0 {
		return 0
	}
	sum := 0.0
	for i := range toks {
		sum += toks[i].Logprob
	}
	return math.Exp(sum / float64(len(toks)))
}

// MarginScore is the mean gap between the probabilities of the best and
// the second-best candidate token, in [0,1]. A token without
// alternatives counts its own probability as the best and 0 as the
// second; one alternative only counts 0 as the second.
func MarginScore(toks []Token) float64 {
	if len(toks) == 0 {
		return 0
	}
	sum := 0.0
	for i := range toks {
		t := &toks[i]
		top1 := t.Top1
		if math.IsInf(top1, -1) || t.Logprob > top1 {
			top1 = t.Logprob
		}
		sum += math.Exp(top1) - math.Exp(t.Top2) // exp(-Inf) = 0
	}
	return sum / float64(len(toks))
}

// Score is the confidence of an answer by method: logprob (default),
// margin, or hybrid (the weighted mean of both; equal weights when both
// are zero).
func Score(method string, w Weights, toks []Token) float64 {
	switch method {
	case MethodMargin:
		return MarginScore(toks)
	case MethodHybrid:
		lw, mw := math.Max(w.Logprob, 0), math.Max(w.Margin, 0)
		if lw+mw == 0 {
			lw, mw = 1, 1
		}
		return (lw*LogprobScore(toks) + mw*MarginScore(toks)) / (lw + mw)
	default:
		return LogprobScore(toks)
	}
}

// needsTop reports whether method needs top_logprobs.
func needsTop(method string) bool { return method == MethodMargin || method == MethodHybrid }
