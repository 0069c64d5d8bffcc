package toolselect

import (
	"math"
	"sort"
	"strings"
	"unicode"
)

// cosine is the cosine similarity of a and b (0 for mismatched or zero
// vectors).
func cosine(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// ranked is a tool index with its score.
type ranked struct {
	i     int
	sim   float64 // embedding similarity
	score float64 // combined score (sim without advanced filtering)
}

// byScore sorts best first; ties keep the earlier tool first.
func byScore(rs []ranked) {
	sort.SliceStable(rs, func(a, b int) bool { return rs[a].score > rs[b].score })
}

// keepTop keeps the n tools most similar to the query, in their order.
func keepTop(tools []Tool, vecs [][]float32, query []float32, n int) ([]Tool, [][]float32) {
	rs := make([]ranked, len(tools))
	for i := range tools {
		s := cosine(query, vecs[i])
		rs[i] = ranked{i: i, sim: s, score: s}
	}
	byScore(rs)
	keep := make([]bool, len(tools))
	for _, r := range rs[:min(n, len(rs))] {
		keep[r.i] = true
	}
	outT, outV := make([]Tool, 0, n), make([][]float32, 0, n)
	for i, k := range keep {
		if k {
			outT, outV = append(outT, tools[i]), append(outV, vecs[i])
		}
	}
	return outT, outV
}

// rank scores tools against the query: embedding similarity, or with
// advanced filtering the combined score over the candidate pool (the
// CandidatePool most similar tools). ok reports whether a tool passes the
// advanced filters (lists, lexical overlap, combined score).
func (s *SelectionRule) rank(tools []Tool, vecs [][]float32, m *matchInput) (rs []ranked, ok []bool) {
	rs = make([]ranked, len(tools))
	ok = make([]bool, len(tools))
	for i := range tools {
		sim := cosine(m.query, vecs[i])
		rs[i] = ranked{i: i, sim: sim, score: sim}
		ok[i] = true
	}
	a := s.Advanced
	if a == nil {
		return rs, ok
	}
	if a.CandidatePool > 0 && a.CandidatePool < len(rs) {
		bySim := append([]ranked(nil), rs...)
		sort.SliceStable(bySim, func(x, y int) bool { return bySim[x].sim > bySim[y].sim })
		for _, r := range bySim[a.CandidatePool:] {
			ok[r.i] = false
		}
	}
	words := wordSet(m.text)
	for i := range tools {
		t := &tools[i]
		overlap, lex := lexical(words, t)
		rs[i].score = a.Weights.combine(rs[i].sim, lex, tagScore(words, t), nameScore(words, t), categoryScore(words, t))
		if overlap < a.MinLexicalOverlap || rs[i].score < a.MinCombined ||
			(a.Allow != nil && !a.Allow.has(t.Name)) || a.Block.has(t.Name) {
			ok[i] = false
		}
	}
	return rs, ok
}

// filter keeps the tools scoring at least RelevanceThreshold, and at
// least the PreserveCount best; when none is kept, FallbackToEmpty decides
// between no tools and the tools as they were.
func (s *SelectionRule) filter(tools []Tool, m *matchInput) []Tool {
	rs, ok := s.rank(tools, m.vecs, m)
	keep := make([]bool, len(tools))
	n := 0
	for _, r := range rs {
		if ok[r.i] && r.sim >= s.RelevanceThreshold {
			keep[r.i] = true
			n++
		}
	}
	if n < s.PreserveCount {
		byScore(rs)
		for _, r := range rs {
			if n >= s.PreserveCount {
				break
			}
			if !keep[r.i] {
				keep[r.i] = true
				n++
			}
		}
	}
	if n == 0 {
		if s.FallbackToEmpty {
			return nil
		}
		return tools
	}
	out := make([]Tool, 0, n)
	for i, k := range keep {
		if k {
			out = append(out, tools[i])
		}
	}
	return out
}

// add appends up to TopK database tools scoring at least
// SimilarityThreshold that the request does not have (by name) and that
// the tools plugin's lists allow; when none qualifies, FallbackToEmpty
// decides between no tools and the request's tools.
func (s *SelectionRule) add(tools []Tool, m *matchInput, lists *ToolsRule) []Tool {
	have := make(nameSet, len(tools))
	for _, t := range tools {
		have[t.Name] = struct{}{}
	}
	db := s.DB.Tools
	rs, ok := s.rank(db, m.dbVecs, m)
	byScore(rs)
	var added []Tool
	for _, r := range rs {
		if len(added) >= s.TopK {
			break
		}
		t := db[r.i]
		if !ok[r.i] || r.sim < s.SimilarityThreshold || have.has(t.Name) {
			continue
		}
		if lists != nil && lists.Mode == ModeFiltered && ((lists.Allow != nil && !lists.Allow.has(t.Name)) || lists.Block.has(t.Name)) {
			continue
		}
		added = append(added, t)
	}
	if len(added) == 0 {
		if s.FallbackToEmpty {
			return nil
		}
		return tools
	}
	return append(append(make([]Tool, 0, len(tools)+len(added)), tools...), added...)
}

func (w Weights) combine(sim, lex, tag, name, cat float64) float64 {
	sum := w.Embed + w.Lexical + w.Tag + w.Name + w.Category
	if sum <= 0 {
		return sim
	}
	return (w.Embed*sim + w.Lexical*lex + w.Tag*tag + w.Name*name + w.Category*cat) / sum
}

// stopWords are ignored by the lexical scores.
func isStopWord(w string) bool {
	switch w {
	case "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "is", "are", "be",
		"me", "my", "i", "you", "it", "this", "that", "what", "how", "can", "please", "do", "get":
		return true
	}
	return false
}

// words splits text into lower-case words (letters and digits), dropping
// stop words and one-letter words.
func words(text string) []string {
	f := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	out := f[:0]
	for _, w := range f {
		if len(w) > 1 && !isStopWord(w) {
			out = append(out, w)
		}
	}
	return out
}

func wordSet(text string) nameSet { return newNameSet(words(text)) }

// lexical is how many query words the tool's name and description share,
// and that count over the number of query words.
func lexical(query nameSet, t *Tool) (int, float64) {
	if len(query) == 0 {
		return 0, 0
	}
	terms := t.terms
	if terms == nil {
		terms = words(t.Name + " " + t.Description)
	}
	seen := nameSet{}
	for _, w := range terms {
		if query.has(w) {
			seen[w] = struct{}{}
		}
	}
	return len(seen), float64(len(seen)) / float64(len(query))
}

// tagScore is the share of the tool's tags that appear in the query.
func tagScore(query nameSet, t *Tool) float64 {
	if len(t.Tags) == 0 {
		return 0
	}
	n := 0
	for _, tag := range t.Tags {
		if query.has(strings.ToLower(tag)) {
			n++
		}
	}
	return float64(n) / float64(len(t.Tags))
}

// nameScore is the share of the tool name's words that appear in the query.
func nameScore(query nameSet, t *Tool) float64 {
	ws := t.nameTerms
	if ws == nil {
		ws = words(t.Name)
	}
	if len(ws) == 0 {
		return 0
	}
	n := 0
	for _, w := range ws {
		if query.has(w) {
			n++
		}
	}
	return float64(n) / float64(len(ws))
}

// categoryScore is 1 when the tool's category appears in the query.
func categoryScore(query nameSet, t *Tool) float64 {
	if t.Category != "" && query.has(strings.ToLower(t.Category)) {
		return 1
	}
	return 0
}
