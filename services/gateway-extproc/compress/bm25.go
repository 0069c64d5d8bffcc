package compress

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Okapi BM25 parameters: k1 saturates repeated terms, b normalises by
// segment length.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// BM25 scores segments of one document against a query with Okapi BM25,
// the segments themselves being the corpus the term statistics come from.
type BM25 struct {
	docs  [][]string
	df    map[string]int
	avgdl float64
}

// NewBM25 indexes segs (each tokenized with Terms).
func NewBM25(segs []string) *BM25 {
	m := &BM25{docs: make([][]string, len(segs)), df: make(map[string]int)}
	total := 0
	seen := make(map[string]bool)
	for i, s := range segs {
		terms := Terms(s)
		m.docs[i] = terms
		total += len(terms)
		clear(seen)
		for _, t := range terms {
			if !seen[t] {
				seen[t] = true
				m.df[t]++
			}
		}
	}
	if len(segs) > 0 {
		m.avgdl = float64(total) / float64(len(segs))
	}
	return m
}

// Scores returns the BM25 score of every segment for query; the query's
// repeated terms count once. Every score is 0 when no query term occurs.
func (m *BM25) Scores(query string) []float64 {
	out := make([]float64, len(m.docs))
	q := uniqueTerms(Terms(query))
	if len(q) == 0 || m.avgdl == 0 {
		return out
	}
	n := float64(len(m.docs))
	idf := make(map[string]float64, len(q))
	for _, t := range q {
		df := float64(m.df[t])
		if df == 0 {
			continue
		}
		idf[t] = math.Log(1 + (n-df+0.5)/(df+0.5))
	}
	if len(idf) == 0 {
		return out
	}
	tf := make(map[string]int, len(idf))
	for i, doc := range m.docs {
		clear(tf)
		for _, t := range doc {
			if _, ok := idf[t]; ok {
				tf[t]++
			}
		}
		norm := bm25K1 * (1 - bm25B + bm25B*float64(len(doc))/m.avgdl)
		s := 0.0
		for t, f := range tf {
			ff := float64(f)
			s += idf[t] * ff * (bm25K1 + 1) / (ff + norm)
		}
		out[i] = s
	}
	return out
}

func uniqueTerms(ts []string) []string {
	out := ts[:0:0]
	seen := make(map[string]bool, len(ts))
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// Terms tokenizes s for BM25: lower-cased runs of letters and digits
// (identifiers split at '_', '.', '-' and the like), each CJK rune a term
// of its own, English stop words and one-letter words dropped.
func Terms(s string) []string {
	var out []string
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		w := strings.ToLower(s[start:end])
		start = -1
		if utf8.RuneCountInString(w) < 2 && !isDigits(w) {
			return
		}
		if isStopword(w) {
			return
		}
		out = append(out, w)
	}
	for i, r := range s {
		switch {
		case isCJK(r):
			flush(i)
			out = append(out, string(r))
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if start < 0 {
				start = i
			}
		default:
			flush(i)
		}
	}
	flush(len(s))
	return out
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isCJK(r rune) bool {
	switch {
	case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3400 && r <= 0x4DBF, r >= 0x20000 && r <= 0x2A6DF,
		r >= 0x3040 && r <= 0x30FF, r >= 0xAC00 && r <= 0xD7AF, r >= 0x1100 && r <= 0x11FF:
		return true
	}
	return false
}

// isStopword reports common English function words, which carry no
// relevance signal in a query.
func isStopword(w string) bool {
	switch w {
	case "a", "an", "and", "are", "as", "at", "be", "but", "by", "do", "does", "for", "from", "how",
		"in", "is", "it", "its", "of", "on", "or", "so", "that", "the", "this", "to", "was", "were",
		"what", "when", "where", "which", "who", "why", "will", "with", "can", "you", "your", "me",
		"my", "we", "our", "please", "there", "these", "those", "have", "has", "had", "into", "about":
		return true
	}
	return false
}
