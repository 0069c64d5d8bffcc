package cli

import (
	"strings"
	"unicode"

	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/classifier/quality"
)

// labelCeiling measures how far the dataset's labels let any cache go: of
// the pairs whose two questions are the same words in the same order
// (case and punctuation folded), the share labelled duplicate. A cache
// serving only such exact rewordings cannot be more precise than this on
// the dataset, whatever its embedding model.
type labelCeiling struct {
	// Scope is "file" (every pair of the file) or "sample".
	Scope string `json:"scope"`
	// Pairs is how many pairs are the same words; Duplicates how many of
	// them are labelled duplicate; Precision their ratio.
	Pairs      int     `json:"pairs"`
	Duplicates int     `json:"duplicates"`
	Precision  float64 `json:"precision"`
	// Guarded is the same after the semantic tier's guard (which refuses,
	// for example, "C" against "C++" when the words are otherwise equal).
	GuardedPairs      int     `json:"guarded_pairs"`
	GuardedDuplicates int     `json:"guarded_duplicates"`
	GuardedPrecision  float64 `json:"guarded_precision"`
}

// measureLabelCeiling computes labelCeiling over pairs.
func measureLabelCeiling(scope string, pairs []quality.Pair) labelCeiling {
	c := labelCeiling{Scope: scope}
	for _, p := range pairs {
		if !sameWords(p.Q1, p.Q2) {
			continue
		}
		c.Pairs++
		guarded := cache.SameQuestion(p.Q1, p.Q2)
		if guarded {
			c.GuardedPairs++
		}
		if p.Duplicate {
			c.Duplicates++
			if guarded {
				c.GuardedDuplicates++
			}
		}
	}
	if c.Pairs > 0 {
		c.Precision = float64(c.Duplicates) / float64(c.Pairs)
	}
	if c.GuardedPairs > 0 {
		c.GuardedPrecision = float64(c.GuardedDuplicates) / float64(c.GuardedPairs)
	}
	return c
}

// sameWords reports whether a and b are the same sequence of words (runs
// of letters and digits), ignoring case and everything else.
func sameWords(a, b string) bool {
	wa, wb := words(a), words(b)
	if len(wa) != len(wb) {
		return false
	}
	for i := range wa {
		if !strings.EqualFold(wa[i], wb[i]) {
			return false
		}
	}
	return true
}

func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}
