package grounding

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxEmbedSentence caps the bytes of one context sentence sent to the
// embedder.
const maxEmbedSentence = 400

// evidence is what the context offers for the specifics the claims need.
type evidence struct {
	// tokens and nums map what the claims need to whether the context has
	// it.
	tokens map[string]bool
	nums   map[string]bool
	months [13]bool
	// text is the context, lower case with spaces collapsed (only built
	// when a claim quotes something).
	text string
	// sentences are the context sentences to embed.
	sentences []string
	// quotes caches quote lookups in text.
	quotes map[string]bool
}

// quoted reports whether the context has q (case and spacing aside).
func (ev *evidence) quoted(q string) bool {
	f := fold(q)
	if ok, seen := ev.quotes[f]; seen {
		return ok
	}
	if ev.quotes == nil {
		ev.quotes = map[string]bool{}
	}
	ok := strings.Contains(ev.text, f)
	ev.quotes[f] = ok
	return ok
}

// evidence scans the sources, then the supporting passages, within
// MaxContextBytes, for what the claims need.
func (d *Detector) evidence(claims []claim, sources, supporting []string) *evidence {
	ev := &evidence{tokens: map[string]bool{}, nums: map[string]bool{}}
	quotes := false
	for i := range claims {
		c := &claims[i]
		for _, n := range c.numbers {
			for _, k := range numberKeys(n) {
				ev.nums[k] = false
			}
		}
		for _, dt := range c.dates {
			for _, n := range dt.nums {
				ev.nums[n] = false
			}
		}
		for _, e := range c.entities {
			for _, t := range e.tokens {
				ev.tokens[t] = false
			}
		}
		quotes = quotes || len(c.quotes) > 0
	}
	var text strings.Builder
	budget := d.lim.MaxContextBytes
	var toks []token
	var nums []string
	var lb [64]byte
	for pass, passages := range [2][]string{sources, supporting} {
		for _, p := range passages {
			if budget <= 0 {
				break
			}
			if len(p) > budget {
				p = p[:budget]
			}
			budget -= len(p)
			p = passageText(p)
			if quotes {
				appendFolded(&text, p)
			}
			splitSentences(p, false, d.lim.MaxSentenceBytes, func(a, b int) bool {
				s := p[a:b]
				if pass == 0 && len(ev.sentences) < d.lim.MaxEmbedSentences {
					ev.sentences = append(ev.sentences, truncate(s, maxEmbedSentence))
				}
				toks = tokens(toks[:0], s)
				for _, t := range toks {
					ev.token(t.text, lb[:0])
					if m := month(t.text); m > 0 {
						ev.months[m] = true
					} else if dt, ok := isoDate(t.text); ok {
						ev.months[dt.month] = true
						ev.mark(dt.nums...)
					}
				}
				if len(ev.nums) > 0 {
					nums = appendAllNumbers(nums[:0], s, 4)
					ev.mark(nums...)
				}
				return true
			})
		}
	}
	ev.text = text.String()
	return ev
}

// token marks a context word (and its parts: "COVID-19", "Curie's") when
// a claim needs it.
func (ev *evidence) token(w string, buf []byte) {
	if len(ev.tokens) == 0 {
		return
	}
	b := lowerInto(buf, w)
	ev.have(b)
	if strings.IndexAny(w, "'’-") < 0 {
		return
	}
	l := string(b)
	if i := strings.IndexAny(l, "'’"); i > 0 {
		ev.have(b[:i])
	}
	if strings.IndexByte(l, '-') > 0 {
		for _, part := range strings.Split(l, "-") {
			ev.have([]byte(part))
		}
	}
}

func (ev *evidence) have(w []byte) {
	if v, ok := ev.tokens[string(w)]; ok && !v {
		ev.tokens[string(w)] = true
	}
}

// mark records context numbers a claim needs.
func (ev *evidence) mark(nums ...string) {
	for _, n := range nums {
		n = normNumber(n)
		if _, ok := ev.nums[n]; ok {
			ev.nums[n] = true
		}
	}
}

// numberKeys are the context numbers that support n: n itself, and n
// with a scale moved in or out ("12" with "12 million" in the context,
// "12000000" with "12M"), so that unit suffixes the number scan does not
// read still match.
func numberKeys(n string) []string {
	keys := []string{n}
	v, err := strconv.ParseFloat(n, 64)
	if err != nil || v == 0 {
		return keys
	}
	for _, f := range [...]float64{1e3, 1e6, 1e9, 1e-3, 1e-6, 1e-9} {
		w := v * f
		if w != float64(int64(w)) && f > 1 {
			continue
		}
		k := strconv.FormatFloat(w, 'f', -1, 64)
		if len(k) <= 24 {
			keys = append(keys, k)
		}
	}
	return keys
}

// lowerInto lower-cases w into buf (allocating only when w is longer than
// buf or not ASCII).
func lowerInto(buf []byte, w string) []byte {
	for i := 0; i < len(w); i++ {
		if w[i] >= utf8.RuneSelf || len(w) > cap(buf) {
			return []byte(strings.ToLower(w))
		}
	}
	b := buf[:len(w)]
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return b
}

// appendFolded appends s lower case, with runs of spaces as one space.
func appendFolded(b *strings.Builder, s string) {
	space := true
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(unicode.ToLower(r))
	}
}

func fold(s string) string {
	var b strings.Builder
	appendFolded(&b, s)
	return strings.TrimSpace(b.String())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// judge records what of c the context lacks.
func (ev *evidence) judge(c *claim) {
	found, total := 0, 0
	miss := func(reason, what string) {
		c.missing = append(c.missing, what)
		if c.reason == "" || rank(reason) < rank(c.reason) {
			c.reason = reason
		}
	}
	for _, dt := range c.dates {
		total++
		ok := ev.months[dt.month]
		for _, n := range dt.nums {
			ok = ok && ev.nums[n]
		}
		if ok {
			found++
		} else {
			miss(ReasonDate, dt.text)
		}
	}
	for _, n := range c.numbers {
		total++
		ok := false
		for _, k := range numberKeys(n) {
			ok = ok || ev.nums[k]
		}
		if ok {
			found++
		} else {
			miss(ReasonNumber, n)
		}
	}
	for _, q := range c.quotes {
		total++
		if ev.quoted(q) {
			found++
		} else {
			miss(ReasonQuote, q)
		}
	}
	for _, e := range c.entities {
		total++
		have := 0
		for _, t := range e.tokens {
			if ev.tokens[t] {
				have++
			}
		}
		if have == len(e.tokens) {
			found++
		} else {
			miss(ReasonEntity, e.text)
		}
	}
	if c.reason != "" {
		c.score = float64(found) / float64(total)
	}
}

func rank(reason string) int {
	switch reason {
	case ReasonDate:
		return 0
	case ReasonNumber:
		return 1
	case ReasonQuote:
		return 2
	case ReasonEntity:
		return 3
	}
	return 4
}
