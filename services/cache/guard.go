package cache

import (
	"unicode"
	"unicode/utf8"
)

// SameQuestion is the lexical guard of the semantic tier. Sentence
// embeddings place "What happened in 2015?" and "What happened in 2016?",
// or "Why do people like X?" and "Why do people not like X?", almost on top
// of each other, yet an answer to one is wrong for the other. A semantic
// candidate is therefore only served when both texts name the same numbers
// (as a set of digit runs, "3.5" and "3,5" kept whole) and carry the same
// number of negations (not, no, never, n't, without, …).
//
// Texts that are empty on either side pass: entries stored without their
// query text, or lookups that do not send one, keep the embedding-only
// behaviour.
//
// The check allocates nothing for texts with at most 16 numbers.
func SameQuestion(query, stored string) bool {
	if query == "" || stored == "" {
		return true
	}
	var qa, sa guardSig
	qa.scan(query)
	sa.scan(stored)
	return qa.equal(&sa, query, stored)
}

// guardNums is how many numbers a signature keeps inline; a text with
// more numbers compares by the overflow flag and the first guardNums.
const guardNums = 16

// guardSig is what the guard compares: the digit runs (as byte ranges of
// the text) and the negation count.
type guardSig struct {
	nums     [guardNums][2]int32
	n        int
	overflow bool
	neg      int
}

func (g *guardSig) addNum(start, end int) {
	if g.n == guardNums {
		g.overflow = true
		return
	}
	g.nums[g.n] = [2]int32{int32(start), int32(end)}
	g.n++
}

// scan fills g from s: digit runs (with inner '.' or ',' between digits)
// and negation words, compared case-insensitively.
func (g *guardSig) scan(s string) {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r >= '0' && r <= '9':
			start := i
			i += size
			for i < len(s) {
				c := s[i]
				if c >= '0' && c <= '9' {
					i++
					continue
				}
				if (c == '.' || c == ',') && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
					i++
					continue
				}
				break
			}
			g.addNum(start, i)
		case unicode.IsLetter(r):
			start := i
			i += size
			for i < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[i:])
				if !unicode.IsLetter(r2) {
					break
				}
				i += sz
			}
			word := s[start:i]
			if isNegation(word) {
				g.neg++
			}
			// A contraction: "don't", "isn’t", "can't".
			if i < len(s) && (endsWithN(word)) {
				if rest, ok := apostropheT(s[i:]); ok {
					g.neg++
					i += rest
				}
			}
		default:
			i += size
		}
	}
}

// equal reports whether g (of text a) and o (of text b) hold the same set
// of numbers and the same negation count.
func (g *guardSig) equal(o *guardSig, a, b string) bool {
	if g.neg != o.neg || g.overflow != o.overflow {
		return false
	}
	// Every number of one text must occur in the other (set equality;
	// repeats do not count).
	return g.covers(o, a, b) && o.covers(g, b, a)
}

func (g *guardSig) covers(o *guardSig, a, b string) bool {
	for i := 0; i < g.n; i++ {
		x := a[g.nums[i][0]:g.nums[i][1]]
		found := false
		for j := 0; j < o.n && !found; j++ {
			found = b[o.nums[j][0]:o.nums[j][1]] == x
		}
		if !found {
			return false
		}
	}
	return true
}

// negationWords are the words that flip a question's meaning, lower-case.
func isNegation(w string) bool {
	if len(w) < 2 || len(w) > 7 {
		return false
	}
	var buf [7]byte
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(w)]) {
	case "not", "no", "never", "without", "nor", "cannot", "none", "nothing", "nobody", "neither", "nowhere":
		return true
	}
	return false
}

// endsWithN reports whether w ends in n or N (the "n" of "n't").
func endsWithN(w string) bool {
	c := w[len(w)-1]
	return c == 'n' || c == 'N'
}

// apostropheT reports whether s starts with an apostrophe (' or ’) then a
// t or T that ends the word, and the bytes it spans.
func apostropheT(s string) (int, bool) {
	n := 0
	switch {
	case len(s) >= 1 && s[0] == '\'':
		n = 1
	case len(s) >= 3 && s[:3] == "’":
		n = 3
	default:
		return 0, false
	}
	if len(s) <= n || (s[n] != 't' && s[n] != 'T') {
		return 0, false
	}
	n++
	if n < len(s) {
		if r, _ := utf8.DecodeRuneInString(s[n:]); unicode.IsLetter(r) {
			return 0, false
		}
	}
	return n, true
}
