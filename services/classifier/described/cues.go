package described

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// cue is one compiled cue pattern. Go's regexp engines cost about the
// program size times the text length, which for a few dozen word
// alternations over a long prompt is hundreds of microseconds; so each cue
// carries the literals one of which any match must contain, and the
// pattern only runs when the text holds one of them.
type cue struct {
	re     *regexp.Regexp
	weight float64
	// need: at least one of these occurs in every match (nil: no filter).
	need []string
}

func compileCues(cs []Cue) ([]cue, error) {
	out := make([]cue, 0, len(cs))
	for _, c := range cs {
		re, err := regexp.Compile(c.Pattern)
		if err != nil {
			return nil, fmt.Errorf("cue %q: %w", c.Pattern, err)
		}
		tree, err := syntax.Parse(c.Pattern, syntax.Perl)
		if err != nil {
			return nil, fmt.Errorf("cue %q: %w", c.Pattern, err)
		}
		out = append(out, cue{re: re, weight: c.Weight, need: requiredLiterals(tree)})
	}
	return out, nil
}

// match reports whether the cue occurs in the lowercased text.
func (c *cue) match(text string) bool {
	if c.need != nil {
		found := false
		for _, l := range c.need {
			if strings.Contains(text, l) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return c.re.MatchString(text)
}

// requiredLiterals returns literals at least one of which every match of
// re contains, or nil when it cannot tell.
func requiredLiterals(re *syntax.Regexp) []string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		return []string{string(re.Rune)}
	case syntax.OpCapture, syntax.OpPlus:
		return requiredLiterals(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min < 1 {
			return nil
		}
		return requiredLiterals(re.Sub[0])
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			ls := requiredLiterals(s)
			if ls == nil {
				return nil
			}
			out = append(out, ls...)
		}
		return out
	case syntax.OpConcat:
		// The most selective part: the one whose shortest literal is longest.
		var best []string
		bestLen := 0
		for _, s := range re.Sub {
			ls := requiredLiterals(s)
			if ls == nil {
				continue
			}
			if n := shortest(ls); n > bestLen {
				best, bestLen = ls, n
			}
		}
		return best
	}
	return nil
}

func shortest(ls []string) int {
	n := -1
	for _, l := range ls {
		if n < 0 || len(l) < n {
			n = len(l)
		}
	}
	return n
}
