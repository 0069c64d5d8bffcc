package compress

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Estimator estimates the tokens of a text; the gateway passes the same
// estimator its context-window filter uses, so that budgets agree.
type Estimator func(string) int

// maxLineBytes is the length above which a line is split into sentences
// before scoring (log lines stay whole, prose paragraphs do not).
const maxLineBytes = 320

// segment is one scored piece of a text: a line, or a sentence of a long
// line, as the byte range [start, end) of the text.
type segment struct {
	start, end int
	cost       int
	score      float64
}

// splitSegments cuts text into lines, and lines longer than maxLineBytes
// into sentences (after '.', '!' or '?' followed by a space); a piece
// still longer than twice maxLineBytes (minified JSON, base64) is cut
// into chunks of about maxLineBytes, after a space or comma where there
// is one. Blank lines are not segments.
func splitSegments(text string) []segment {
	var segs []segment
	add := func(s, e int) {
		for e-s > 2*maxLineBytes {
			cut := s + maxLineBytes
			if i := strings.LastIndexAny(text[s+maxLineBytes/2:cut], " ,"); i >= 0 {
				cut = s + maxLineBytes/2 + i + 1
			}
			for cut > s && !utf8.RuneStart(text[cut]) {
				cut--
			}
			if strings.TrimSpace(text[s:cut]) != "" {
				segs = append(segs, segment{start: s, end: cut})
			}
			s = cut
		}
		if strings.TrimSpace(text[s:e]) != "" {
			segs = append(segs, segment{start: s, end: e})
		}
	}
	for ls := 0; ls < len(text); {
		le := strings.IndexByte(text[ls:], '\n')
		if le < 0 {
			le = len(text)
		} else {
			le += ls
		}
		if le-ls <= maxLineBytes {
			add(ls, le)
		} else {
			s := ls
			for i := ls; i < le-1; i++ {
				if c := text[i]; (c == '.' || c == '!' || c == '?') && text[i+1] == ' ' {
					add(s, i+1)
					s = i + 2
				}
			}
			add(s, le)
		}
		ls = le + 1
	}
	return segs
}

// omittedMarker is the line that stands for n omitted segments.
func omittedMarker(n int) string {
	return "[context_compression: " + strconv.Itoa(n) + " segments omitted]"
}

// Extract shortens text to about target tokens: it keeps the segments
// (lines; sentences of long lines) that score best under BM25 against
// query, in their original order, and puts a marker line where segments
// were left out. Equal scores keep the earlier segment. ok is false when
// text already fits (out is then text).
func Extract(text, query string, target int, est Estimator) (out string, ok bool) {
	if est(text) <= target {
		return text, false
	}
	segs := splitSegments(text)
	strs := make([]string, len(segs))
	for i := range segs {
		strs[i] = text[segs[i].start:segs[i].end]
		segs[i].cost = est(strs[i]) + 1
	}
	scores := NewBM25(strs).Scores(query)
	order := make([]int, len(segs))
	for i := range segs {
		segs[i].score = scores[i]
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(segs[b].score, segs[a].score) })
	keep := make([]bool, len(segs))
	// Every run of left-out segments costs one marker line: adding
	// segment i splits the run it is in (one more marker), shortens it
	// (as many) or closes it (one fewer).
	markerCost := est(omittedMarker(len(segs))) + 1
	used := markerCost
	var kept []int
	for _, i := range order {
		d := -1
		if i > 0 && !keep[i-1] {
			d++
		}
		if i+1 < len(segs) && !keep[i+1] {
			d++
		}
		c := segs[i].cost + d*markerCost
		if used+c > target {
			continue
		}
		used += c
		keep[i] = true
		kept = append(kept, i)
	}
	out = render(text, segs, keep)
	for len(kept) > 0 && est(out) > target {
		last := kept[len(kept)-1]
		kept = kept[:len(kept)-1]
		keep[last] = false
		out = render(text, segs, keep)
	}
	return out, true
}

// render writes the kept segments in order: a run of adjacent kept
// segments is copied as it stands in text (blank lines between them
// included); each run of left-out segments becomes one marker line.
func render(text string, segs []segment, keep []bool) string {
	var b strings.Builder
	b.Grow(len(text) / 2)
	for i := 0; i < len(segs); {
		j := i
		for j < len(segs) && keep[j] == keep[i] {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		if keep[i] {
			b.WriteString(text[segs[i].start:segs[j-1].end])
		} else {
			b.WriteString(omittedMarker(j - i))
		}
		i = j
	}
	return b.String()
}
