package heuristic

import (
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// levenshtein returns the edit distance between a and b, or max+1 as soon as
// it is certain to exceed max. row is scratch space (len(b)+1 needed).
func levenshtein(a, b []rune, max int, row []int) (int, []int) {
	if d := len(a) - len(b); d > max || -d > max {
		return max + 1, row
	}
	if len(a) == 0 || len(b) == 0 {
		return len(a) + len(b), row
	}
	if cap(row) < len(b)+1 {
		row = make([]int, len(b)+1)
	}
	row = row[:len(b)+1]
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		prevDiag := row[0]
		row[0] = i
		best := row[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(row[j]+1, row[j-1]+1, prevDiag+cost)
			prevDiag = row[j]
			row[j] = v
			best = min(best, v)
		}
		if best > max {
			return max + 1, row
		}
	}
	return row[len(b)], row
}

// appendWindowRunes appends the runes of words[i:i+k] of text, separated by
// single spaces.
func appendWindowRunes(dst []rune, text string, words []span, i, k int) []rune {
	for w := i; w < i+k; w++ {
		if w > i {
			dst = append(dst, ' ')
		}
		for _, r := range text[words[w].start:words[w].end] {
			dst = append(dst, r)
		}
	}
	return dst
}

// normalizePhrase splits a keyword into words the same way request text is
// split and rejoins them with single spaces; it returns the phrase and its
// word count.
func normalizePhrase(s string) (string, int) {
	ws := appendWords(nil, s)
	if len(ws) == 0 {
		return "", 0
	}
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[w.start:w.end])
	}
	return b.String(), len(ws)
}

// --- character n-grams ---------------------------------------------------

const fnvOffset, fnvPrime = 14695981039346656037, 1099511628211

// appendGrams appends the hashes of the character n-grams of runes padded
// with arity-1 spaces on each side, then sorts the appended part so that
// two multisets can be intersected by merging.
func appendGrams(dst []uint64, runes []rune, arity int) []uint64 {
	pad := arity - 1
	n := len(runes) + 2*pad
	at := func(i int) rune {
		if i < pad || i >= pad+len(runes) {
			return ' '
		}
		return runes[i-pad]
	}
	base := len(dst)
	for i := 0; i+arity <= n; i++ {
		h := uint64(fnvOffset)
		for j := i; j < i+arity; j++ {
			h ^= uint64(at(j))
			h *= fnvPrime
		}
		dst = append(dst, h)
	}
	slices.Sort(dst[base:])
	return dst
}

// gramSimilarity compares two sorted gram multisets: with same shared grams
// out of all distinct-by-multiplicity grams, the similarity is
// (all² − (all−same)²) / all², i.e. warp 2, which rewards partial overlap
// more than a plain ratio (same/all) does.
func gramSimilarity(a, b []uint64) float64 {
	same := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			same++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	all := len(a) + len(b) - same
	if all == 0 {
		return 0
	}
	diff := all - same
	fa, fd := float64(all), float64(diff)
	return (fa*fa - fd*fd) / (fa * fa)
}

// --- BM25 ----------------------------------------------------------------

const bm25K1, bm25B = 1.2, 0.75

var stopwords = map[string]bool{
	"a": true, "an": true, "and": true, "are": true, "as": true, "at": true, "be": true,
	"by": true, "for": true, "from": true, "has": true, "have": true, "he": true, "in": true,
	"is": true, "it": true, "its": true, "of": true, "on": true, "or": true, "that": true,
	"the": true, "this": true, "to": true, "was": true, "were": true, "will": true, "with": true,
	"i": true, "you": true, "me": true, "my": true, "we": true, "our": true, "your": true,
	"do": true, "does": true, "can": true, "how": true, "what": true, "please": true,
}

// stem strips common English inflections and returns a prefix of w (so no
// allocation): plural -s/-es/-ies, -ing, -ed, -ly, final -y, and the doubled
// consonant left by -ing/-ed ("debugging" → "debug"). Stems shorter than
// three runes are not produced.
func stem(w string) string {
	if len(w) < 4 || !isASCII(w) {
		return w
	}
	cut := func(suffix string) (string, bool) {
		if strings.HasSuffix(w, suffix) && len(w)-len(suffix) >= 3 {
			return w[:len(w)-len(suffix)], true
		}
		return w, false
	}
	undouble := func(s string) string {
		n := len(s)
		if n >= 4 && s[n-1] == s[n-2] && strings.IndexByte("bdfgmnprt", s[n-1]) >= 0 {
			return s[:n-1]
		}
		return s
	}
	if s, ok := cut("ies"); ok {
		return s
	}
	if s, ok := cut("ing"); ok {
		return undouble(s)
	}
	if s, ok := cut("ed"); ok {
		return undouble(s)
	}
	if s, ok := cut("ly"); ok {
		return s
	}
	if strings.HasSuffix(w, "es") && len(w) >= 5 {
		if p := w[:len(w)-2]; strings.HasSuffix(p, "s") || strings.HasSuffix(p, "x") || strings.HasSuffix(p, "z") || strings.HasSuffix(p, "ch") || strings.HasSuffix(p, "sh") {
			return p
		}
	}
	if strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && !strings.HasSuffix(w, "us") && !strings.HasSuffix(w, "is") {
		return w[:len(w)-1]
	}
	if s, ok := cut("y"); ok {
		return s
	}
	return w
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// bm25Index scores a text (the query) against every keyword of a rule (the
// documents), with the standard Okapi BM25 weighting (k1 1.2, b 0.75, idf
// ln(1 + (N − df + 0.5)/(df + 0.5))). Terms are words, stemmed, stopwords
// dropped; each distinct query term counts once.
type bm25Index struct {
	terms []string  // vocabulary
	idf   []float64 // per term
	docs  []bm25Doc // per keyword
	avgdl float64
}

type bm25Doc struct {
	term []int // indices into terms
	tf   []int
	len  int
}

func newBM25Index(keywords []string) *bm25Index {
	ix := &bm25Index{docs: make([]bm25Doc, len(keywords))}
	total := 0
	for d, kw := range keywords {
		doc := &ix.docs[d]
		for _, w := range appendWords(nil, kw) {
			t := stem(kw[w.start:w.end])
			if stopwords[t] {
				continue
			}
			doc.len++
			ti := slices.Index(ix.terms, t)
			if ti < 0 {
				ti = len(ix.terms)
				ix.terms = append(ix.terms, t)
			}
			if k := slices.Index(doc.term, ti); k >= 0 {
				doc.tf[k]++
			} else {
				doc.term = append(doc.term, ti)
				doc.tf = append(doc.tf, 1)
			}
		}
		total += doc.len
	}
	if len(keywords) > 0 {
		ix.avgdl = float64(total) / float64(len(keywords))
	}
	n := float64(len(keywords))
	ix.idf = make([]float64, len(ix.terms))
	for ti := range ix.terms {
		df := 0
		for _, doc := range ix.docs {
			if slices.Contains(doc.term, ti) {
				df++
			}
		}
		ix.idf[ti] = math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
	}
	return ix
}

// present marks which vocabulary terms occur in the text words; it reuses
// mark (len(terms) needed).
func (ix *bm25Index) present(text string, words []span, mark []int) []int {
	mark = slices.Grow(mark[:0], len(ix.terms))[:len(ix.terms)]
	clear(mark)
	for _, w := range words {
		t := stem(text[w.start:w.end])
		for ti, v := range ix.terms {
			if v == t {
				mark[ti] = 1
			}
		}
	}
	return mark
}

// score is the BM25 score of keyword d for a query whose terms are marked.
func (ix *bm25Index) score(d int, mark []int) float64 {
	doc := ix.docs[d]
	s := 0.0
	norm := 1 - bm25B
	if ix.avgdl > 0 {
		norm += bm25B * float64(doc.len) / ix.avgdl
	}
	for k, ti := range doc.term {
		if mark[ti] == 0 {
			continue
		}
		tf := float64(doc.tf[k])
		s += ix.idf[ti] * tf * (bm25K1 + 1) / (tf + bm25K1*norm)
	}
	return s
}
