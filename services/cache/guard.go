package cache

import (
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// SameQuestion is the lexical guard of the semantic tier. Sentence
// embeddings place "What happened in 2015?" and "What happened in 2016?",
// "Why do people like X?" and "Why do people not like X?", or "Convert
// Celsius to Fahrenheit" and "Convert Fahrenheit to Celsius" almost on top
// of each other, yet an answer to one is wrong for the other. A semantic
// candidate is therefore only served when both texts
//
//   - name the same numbers, the same number of times, in the same order
//     ("2 to the power of 10" is not "10 to the power of 2"). Numbers are
//     compared normalised: "1,000" is "1000", "twenty-five" is "25",
//     "3 thousand" is "3000", "5th" and "fifth" are "5", "-4" keeps its
//     sign, and "3.5" or "3,5" stay whole. A lone "one" ("which one", "one
//     of") is a word, not a number;
//   - carry the same number of negations (not, no, never, n't, without, …);
//   - do not take opposite sides of a direction ("ascending" /
//     "descending", "encrypt" / "decrypt", "maximum" / "minimum", …; see
//     opposite): a text that uses only one side of a pair refuses a text
//     that uses only the other side, and a text using both sides constrains
//     nothing on that pair;
//   - do not convert in different directions: when both texts name a
//     conversion between two known units, formats or languages ("Celsius
//     to Fahrenheit", "yaml from json", "C++ → Rust"), the ordered pairs
//     must be the same;
//   - name the same programming languages, natural languages and file
//     formats when both name some ("reverse a list in Python" is not
//     "reverse a list in Java", "C" is not "C++" or "C#", "hello in French"
//     is not "hello in Spanish", "parse JSON" is not "parse YAML"); a text
//     naming none of a group constrains nothing on it ("improve my
//     English" / "improve my speaking"). See subjectBit.
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
	return qa.equal(&sa)
}

const (
	// guardNums is how many numbers a signature keeps; a text with more
	// numbers compares by the overflow flag and the first guardNums.
	guardNums = 16
	// guardBuf is the bytes of normalised number text a signature keeps.
	guardBuf = 256
	// guardPairs is how many conversion pairs a signature keeps.
	guardPairs = 4
)

// guardSig is what the guard compares.
type guardSig struct {
	buf      [guardBuf]byte // normalised numbers, back to back
	bn       int
	nums     [guardNums][2]uint16 // ranges of buf, in text order
	n        int
	overflow bool
	neg      int
	// sideA and sideB have bit i set when the text uses that side of
	// opposite pair i.
	sideA, sideB uint64
	pairs        [guardPairs][2]uint8 // conversions (from, to) by term id
	np           int
	// subj has bit subjectBit(id) set for each language or format named.
	subj uint64
}

// equal reports whether g and o describe the same question.
func (g *guardSig) equal(o *guardSig) bool {
	if g.neg != o.neg || g.overflow != o.overflow || g.n != o.n || !subjectsAgree(g.subj, o.subj) {
		return false
	}
	for i := 0; i < g.n; i++ {
		if string(g.buf[g.nums[i][0]:g.nums[i][1]]) != string(o.buf[o.nums[i][0]:o.nums[i][1]]) {
			return false
		}
	}
	gOnlyA, gOnlyB := g.sideA&^g.sideB, g.sideB&^g.sideA
	oOnlyA, oOnlyB := o.sideA&^o.sideB, o.sideB&^o.sideA
	if gOnlyA&oOnlyB != 0 || gOnlyB&oOnlyA != 0 {
		return false
	}
	if g.np > 0 && o.np > 0 {
		return g.pairsIn(o) && o.pairsIn(g)
	}
	return true
}

// pairsIn reports whether every conversion pair of g occurs in o.
func (g *guardSig) pairsIn(o *guardSig) bool {
	for i := 0; i < g.np; i++ {
		found := false
		for j := 0; j < o.np && !found; j++ {
			found = g.pairs[i] == o.pairs[j]
		}
		if !found {
			return false
		}
	}
	return true
}

// addPair records a conversion from term a to term b.
func (g *guardSig) addPair(a, b uint8) {
	if g.np < guardPairs {
		g.pairs[g.np] = [2]uint8{a, b}
		g.np++
	}
}

// scanState is what scan carries from one token to the next.
type scanState struct {
	words wordNumber // spelled-out number being read
	// lastDigit is the index (in nums) of the last number when it was
	// written in digits and only spaces followed it, else -1: a scale
	// word ("3 thousand") multiplies it.
	lastDigit int
	// conversion: the last term seen, tokens since it, and the connector
	// ("to", "from") seen after it.
	term      int
	termAge   int
	connector lexKind
	// glued is true while only spaces and hyphens separate this token
	// from the previous word (number words compound across them).
	glued bool
}

// scan fills g from s.
func (g *guardSig) scan(s string) {
	st := scanState{lastDigit: -1, term: -1}
	i := 0
	for i < len(s) {
		r, size := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		switch {
		case r >= '0' && r <= '9':
			g.flushWords(&st)
			end := scanDigits(s, i)
			g.addDigits(s, i, end, negativeSign(s, i))
			st.lastDigit = g.n - 1
			if g.overflow {
				st.lastDigit = -1
			}
			st.glued = false
			st.tick()
			i = end
		case r < utf8.RuneSelf && isASCIILetter(byte(r)) || r >= utf8.RuneSelf && unicode.IsLetter(r):
			start := i
			i += size
			for i < len(s) {
				if c := s[i]; c < utf8.RuneSelf {
					if !isASCIILetter(c) {
						break
					}
					i++
					continue
				}
				r2, sz := utf8.DecodeRuneInString(s[i:])
				if !unicode.IsLetter(r2) {
					break
				}
				i += sz
			}
			i = g.word(&st, s, start, i)
		default:
			switch {
			case r == ' ' || r == '\t' || r == '-':
				if r == '-' && i+1 < len(s) && s[i+1] == '>' {
					st.connect(lexTo)
					st.glued = false
					i += 2
					continue
				}
			case r == '=' && i+1 < len(s) && s[i+1] == '>':
				st.connect(lexTo)
				i++
				st.glued, st.lastDigit = false, -1
			case r == '→':
				st.connect(lexTo)
				st.glued, st.lastDigit = false, -1
			default:
				st.glued, st.lastDigit = false, -1
				g.flushWords(&st)
			}
			i += size
		}
	}
	g.flushWords(&st)
}

// word handles the letter run s[start:end] and returns where scanning
// goes on.
func (g *guardSig) word(st *scanState, s string, start, end int) int {
	w := s[start:end]
	var lb [24]byte
	lw, ok := lower(&lb, w)
	// A contraction: "don't", "isn’t", "can't", "won't".
	contraction := false
	if end < len(s) && (w[len(w)-1] == 'n' || w[len(w)-1] == 'N') {
		if rest, ok := apostropheT(s[end:]); ok {
			g.neg++
			end += rest
			contraction = true
		}
	}
	if !ok || contraction {
		g.flushWords(st)
		st.glued, st.lastDigit = false, -1
		st.tick()
		return end
	}
	glued := st.glued
	st.glued = true
	if v, kind, isNum := numberWord(lw); isNum || (lw == "and" && st.words.active) ||
		((lw == "first" || lw == "second") && st.words.last == numTens) {
		if lw == "first" || lw == "second" {
			v, kind = 1, numOrdinal
			if lw == "second" {
				v = 2
			}
		}
		if kind >= numHundred && st.lastDigit >= 0 && !st.words.active {
			if g.scaleLast(v) {
				st.tick()
				return end
			}
		}
		st.lastDigit = -1
		if lw == "and" {
			if !glued || (st.words.last != numHundred && st.words.last != numScale) {
				g.flushWords(st)
			}
			st.tick()
			return end
		}
		if !glued {
			g.flushWords(st)
		}
		if !st.words.add(lw, v, kind) {
			g.flushWords(st)
			st.words.add(lw, v, kind)
		}
		if kind == numOrdinal {
			g.flushWords(st)
		}
		st.tick()
		return end
	}
	g.flushWords(st)
	st.lastDigit = -1
	// "c++" and "c#" are one term.
	if lw == "c" && end < len(s) {
		switch {
		case len(s)-end >= 2 && s[end:end+2] == "++":
			lw, end = "c++", end+2
		case s[end] == '#':
			lw, end = "c#", end+1
		}
	}
	if start >= 2 && s[start-2:start] == "°" { // "°C", "°F"
		switch lw {
		case "c":
			lw = "celsius"
		case "f":
			lw = "fahrenheit"
		}
	}
	lx := lookup(lw)
	switch lx.kind {
	case lexNegation:
		g.neg++
	case lexTo, lexFrom:
		st.connect(lx.kind)
		return end
	case lexTerm:
		if bit, ok := subjectBit(lx.id); ok && (lw != "c" || languageC(s, start, end)) {
			g.subj |= bit
		}
		if st.term >= 0 && st.connector != lexNone && st.termAge <= 4 {
			if st.connector == lexFrom {
				g.addPair(lx.id, uint8(st.term))
			} else {
				g.addPair(uint8(st.term), lx.id)
			}
		}
		st.term, st.termAge, st.connector = int(lx.id), 0, lexNone
		return end
	case lexNone:
		if lx2 := lookupStem(lw); lx2.kind == lexSide {
			lx = lx2
		}
	}
	if lx.kind == lexSide {
		if lx.side == 0 {
			g.sideA |= 1 << lx.id
		} else {
			g.sideB |= 1 << lx.id
		}
	}
	st.tick()
	return end
}

// tick counts a token towards the distance between two conversion terms.
func (st *scanState) tick() {
	if st.term >= 0 {
		st.termAge++
		if st.termAge > 4 {
			st.term, st.connector = -1, lexNone
		}
	}
}

// connect notes a connector after a term.
func (st *scanState) connect(k lexKind) {
	if st.term >= 0 {
		st.connector = k
	}
	st.tick()
}

// lower returns the ASCII lower case of w, written into b when w has
// upper-case letters; false when w is too long or not ASCII (no lexicon
// word is).
func lower(b *[24]byte, w string) (string, bool) {
	if len(w) > len(b) {
		return "", false
	}
	upper := false
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 0x80 {
			return "", false
		}
		upper = upper || c >= 'A' && c <= 'Z'
	}
	if !upper {
		return w, true
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	// b is the caller's stack buffer and is not written again while the
	// word is looked up; the copy a conversion makes is measurable here.
	return unsafe.String(&b[0], len(w)), true
}

// isASCIILetter reports whether c is an ASCII letter.
func isASCIILetter(c byte) bool {
	return c|0x20 >= 'a' && c|0x20 <= 'z'
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
