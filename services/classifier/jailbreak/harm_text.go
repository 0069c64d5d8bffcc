package jailbreak

import "unicode/utf8"

// Text normalisation of the harmful-request detector: words, sentences,
// stems.

// harmScratch is the per-call scratch of a harm match.
type harmScratch struct {
	buf  []byte
	toks []span
	sent []int32  // sentence number of each token
	past []uint8  // the token lost an -ed (inflPast) or an -s (inflS)
	hash []uint64 // harmHash of each token
	// quoted: the token is inside a closed quotation ("…", “…”, «…»)
	quoted []bool
	// positions (and lists) of harm words, framing, benign context
	hits, frames, defs []int32
	// asks: request verbs and sentence-opening imperatives (a subset of
	// frames); fics, anas: task words (kindFiction, kindAnalysis)
	asks, fics, anas []int32
	hitMasks         []setMask
}

// harmIgnorable are characters inserted into words to break filters
// (zero-width space, joiners, word joiner, soft hyphen): they do not end
// a word.
func harmIgnorable(r rune) bool {
	return r == 0x200b || r == 0x200c || r == 0x200d || r == 0x2060 || r == 0xad || r == 0xfeff
}

// tokenize writes the words of text to s.buf: maximal runs of ASCII
// letters and digits, lowercased, Latin letters with diacritics folded to
// their base letter, digits in words of at least two letters read as the
// letters they imitate (b0mb → bomb), each word stemmed (harmStem). Every
// other character separates words; . ! ? ; and line breaks also end a
// sentence. s.sent gets each word's sentence number, s.past whether
// it lost an -ed or an -s (a past tense or a third person is a narrative,
// not a request) and s.quoted whether it lies inside a quotation that is
// closed again ("…" toggles; “…” and «…» open and close).
func (s *harmScratch) tokenize(text string, fold *latinFold) {
	// The words are never longer than the text: size buf once and write
	// by index.
	if cap(s.buf) < len(text) {
		s.buf = make([]byte, len(text))
	}
	buf := s.buf[:cap(s.buf)]
	toks, sent, past, hash, quoted := s.toks[:0], s.sent[:0], s.past[:0], s.hash[:0], s.quoted[:0]
	n := 0
	var sentence int32
	inQuote, quoteFrom := false, 0 // quoteFrom: the first token of the open quotation
	openQuote := func(open bool) {
		if open && !inQuote {
			quoteFrom = len(toks)
		}
		inQuote = open
	}
	for i := 0; i < len(text); {
		// Between words.
		c := text[i]
		if c < utf8.RuneSelf {
			k := harmASCII(c)
			if k == 0 {
				switch c {
				case '.', '!', '?', ';', '\n':
					sentence++
				case '"':
					openQuote(!inQuote)
				}
				i++
				continue
			}
		} else {
			r, size := utf8.DecodeRuneInString(text[i:])
			if !(r >= 0xc0 && r < 0x250 && fold[r-0xc0] != 0) {
				switch r {
				case 0x201c, 0xab: // “ «
					openQuote(true)
				case 0x201d, 0xbb: // ” »
					openQuote(false)
				}
				i += size
				continue
			}
		}
		// One word.
		start, digits := n, 0
		for i < len(text) {
			c := text[i]
			if c < utf8.RuneSelf {
				k := harmASCII(c)
				if k == 0 {
					break
				}
				if k <= '9' {
					digits++
				}
				buf[n] = k
				n++
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(text[i:])
			if harmIgnorable(r) {
				i += size
				continue
			}
			if !(r >= 0xc0 && r < 0x250 && fold[r-0xc0] != 0) {
				break
			}
			buf[n] = fold[r-0xc0] | 0x20
			n++
			i += size
		}
		w := buf[start:n]
		if digits > 0 && len(w)-digits >= 2 {
			unLeet(w)
		}
		w, p := harmStem(w)
		n = start + len(w)
		toks = append(toks, span{int32(start), int32(n)})
		sent = append(sent, sentence)
		past = append(past, p)
		hash = append(hash, harmHash(w))
		quoted = append(quoted, inQuote)
	}
	if inQuote { // never closed: not a quotation
		clear(quoted[quoteFrom:])
	}
	s.buf, s.toks, s.sent, s.past, s.hash, s.quoted = buf[:n], toks, sent, past, hash, quoted
}

// harmASCII maps an ASCII word character to its lowercase form (digits to
// themselves) and every other byte to 0.
func harmASCII(c byte) byte {
	switch {
	case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		return c
	case c >= 'A' && c <= 'Z':
		return c + 'a' - 'A'
	}
	return 0
}

// unLeet reads digits in a word as the letters they imitate.
func unLeet(w []byte) {
	for i, c := range w {
		switch c {
		case '0':
			w[i] = 'o'
		case '1':
			w[i] = 'i'
		case '3':
			w[i] = 'e'
		case '4':
			w[i] = 'a'
		case '5':
			w[i] = 's'
		case '7':
			w[i] = 't'
		}
	}
}

// harmStem strips inflection in place: plural -s/-es/-ies, -ing, -ed,
// -ied, -ly, then a doubled final consonant (stopping → stop, kill →
// kil). It is applied to the lexicon and the prompt alike, so it only has
// to be consistent, not linguistically right.
func harmStem(w []byte) (stem []byte, infl uint8) {
	n := len(w)
	switch {
	case n > 4 && hasSuffixB(w, "ies"):
		w[n-3] = 'y'
		w = w[:n-2]
		infl = inflS
	case n > 4 && (hasSuffixB(w, "sses") || hasSuffixB(w, "uses") || hasSuffixB(w, "xes") || hasSuffixB(w, "zes") ||
		hasSuffixB(w, "ches") || hasSuffixB(w, "shes")):
		w = w[:n-2]
		infl = inflS
	case n > 3 && w[n-1] == 's' && !hasSuffixB(w, "ss") && !hasSuffixB(w, "us") && !hasSuffixB(w, "is"):
		w = w[:n-1]
		infl = inflS
	}
	n = len(w)
	switch {
	case n > 5 && hasSuffixB(w, "ing"):
		w = w[:n-3]
	case n > 4 && hasSuffixB(w, "ied"):
		w[n-3] = 'y'
		w = w[:n-2]
		infl = inflPast
	case n > 4 && hasSuffixB(w, "ed") && !hasSuffixB(w, "eed"):
		w = w[:n-2]
		infl = inflPast
	case n > 4 && hasSuffixB(w, "ly"):
		w = w[:n-2]
	}
	n = len(w)
	if n >= 3 && w[n-1] == w[n-2] && isConsonant(w[n-1]) {
		w = w[:n-1]
	}
	return w, infl
}

// Inflections harmStem removes that matter for framing.
const (
	inflS    = 1 // -s, -es, -ies: a plural or a third person
	inflPast = 2 // -ed, -ied
)

func hasSuffixB(w []byte, s string) bool {
	return len(w) >= len(s) && string(w[len(w)-len(s):]) == s
}

func isConsonant(c byte) bool {
	return c >= 'b' && c <= 'z' && c != 'e' && c != 'i' && c != 'o' && c != 'u'
}

func (s *harmScratch) word(i int) []byte { return s.buf[s.toks[i].start:s.toks[i].end] }
