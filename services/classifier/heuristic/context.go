package heuristic

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/semrouter/semrouter/services/classifier/signal"
)

// ContextRule mirrors routing.signals.context[]: it matches when the
// estimated prompt size lies within [MinTokens, MaxTokens]. MaxTokens 0
// means no upper bound.
type ContextRule struct {
	Name      string
	MinTokens int
	MaxTokens int
}

// perMessageTokens approximates the chat-template overhead of one message
// (role markers, separators).
const perMessageTokens = 4

// EstimateTokens estimates how many tokens a tokenizer of a current
// multilingual LLM produces for text, without running one:
//   - every CJK rune (Han, Hiragana, Katakana, Hangul) counts as one token;
//   - all other text counts one token per four UTF-8 bytes, rounded up
//     (the usual English average of ~4 characters per token; spaces and
//     punctuation included because tokenizers spend tokens on them too).
//
// It over-counts slightly for plain English prose and under-counts for
// code dense in symbols; the error is ~±20%, which suits coarse bands such
// as 32K–256K.
func EstimateTokens(text string) int {
	cjk := 0
	other := 0
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			other++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if isCJK(r) {
			cjk++
		} else {
			other += size
		}
		i += size
	}
	return cjk + (other+3)/4
}

func estimateMessageTokens(text string) int { return perMessageTokens + EstimateTokens(text) }

// ParseTokenCount parses a token count written as an integer or with a
// K (×1,000) or M (×1,000,000) suffix, case-insensitive, decimals allowed:
// "4096", "32K", "1.5M", "256k".
func ParseTokenCount(s string) (int, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("token count %q: empty", s)
	}
	mult := 1.0
	switch t[len(t)-1] {
	case 'k', 'K':
		mult, t = 1e3, t[:len(t)-1]
	case 'm', 'M':
		mult, t = 1e6, t[:len(t)-1]
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("token count %q: want a number with optional K or M suffix", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("token count %q: negative", s)
	}
	n := v * mult
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("token count %q: too large", s)
	}
	return int(math.Round(n)), nil
}

type contextFamily struct{ rules []ContextRule }

func compileContext(rules []ContextRule, errs *errorList) *contextFamily {
	for i, r := range rules {
		p := fmt.Sprintf("context[%d]", i)
		if r.MinTokens < 0 || r.MaxTokens < 0 {
			errs.add(p, r.Name, fmt.Errorf("min_tokens and max_tokens must not be negative"))
		}
		if r.MaxTokens > 0 && r.MinTokens > r.MaxTokens {
			errs.add(p, r.Name, fmt.Errorf("min_tokens %d exceeds max_tokens %d", r.MinTokens, r.MaxTokens))
		}
	}
	return &contextFamily{rules: rules}
}

func (f *contextFamily) evaluate(st *evalState) signal.Outcome {
	out := signal.Outcome{Family: signal.Context}
	tokens := st.req.tokens
	for _, r := range f.rules {
		if tokens >= r.MinTokens && (r.MaxTokens == 0 || tokens <= r.MaxTokens) {
			out.Matches = append(out.Matches, signal.Match{Family: signal.Context, Name: r.Name, Confidence: 1, Value: float64(tokens)})
		} else {
			setScore(&out, r.Name, float64(tokens))
		}
	}
	return out
}
