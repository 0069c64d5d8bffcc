package jailbreak

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The character language model of the gibberish detector works on a small
// alphabet of symbol classes:
//
//	0       start of text (padding of the first contexts)
//	1       any run of whitespace
//	2…95    the printable ASCII characters '!'…'~', case kept
//	96      any non-ASCII letter
//	97      any other non-ASCII character (symbols, emoji, digits, marks)
//
// Control characters are dropped. Case is kept on purpose: optimised
// suffixes mix cases inside words ("similarlyNow").
const (
	symStart  = 0
	symSpace  = 1
	symASCII0 = 2 // '!'
	symLetter = 96
	symOther  = 97
	// asciiSymbols is the alphabet the model predicts: start, space and
	// printable ASCII (the non-ASCII classes are never scored).
	asciiSymbols = 96
)

// maxLMOrder bounds the n-gram order: the compiled model is a dense table
// indexed by n symbols of 7 bits each (2^21 entries at order 3).
const maxLMOrder = 3

// absDiscount is the absolute discount of the interpolated model.
const absDiscount = 0.75

// latinFold maps the precomposed Latin letters U+00C0…U+024F to the ASCII
// letter they are built on ('é' → 'e', 'Ş' → 'S'), 0 for the others
// ('ß', 'æ', 'ø' have no single base letter). Foreign words in Latin
// script then look like words, not like noise.
type latinFold [0x250 - 0xc0]uint8

func newLatinFold() *latinFold {
	var f latinFold
	for r := rune(0xc0); r < 0x250; r++ {
		d := norm.NFD.String(string(r))
		if b := d[0]; len(d) > 1 && b < utf8.RuneSelf && (b|0x20 >= 'a' && b|0x20 <= 'z') {
			f[r-0xc0] = b
		}
	}
	return &f
}

func (f *latinFold) symbolOf(r rune) (uint8, bool) {
	switch {
	case r == ' ' || (r >= '\t' && r <= '\r'):
		return symSpace, true
	case r > ' ' && r < 0x7f:
		return uint8(r-'!') + symASCII0, true
	case r < utf8.RuneSelf:
		return 0, false // ASCII control
	case r >= 0xc0 && r < 0x250 && f[r-0xc0] != 0:
		return f[r-0xc0] - '!' + symASCII0, true
	case unicode.IsSpace(r):
		return symSpace, true
	case unicode.IsLetter(r):
		return symLetter, true
	case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
		return 0, false
	}
	return symOther, true
}

// maxPunctRun bounds runs of one repeated punctuation mark ("=====",
// "|||||"): separators in ordinary text, never the content of a suffix.
const maxPunctRun = 2

// appendSymbols appends the symbols of text to dst: whitespace runs become
// one symSpace, runs of a repeated punctuation mark are cut to
// maxPunctRun, control and format characters are dropped.
func (f *latinFold) appendSymbols(dst []uint8, text string) []uint8 {
	run := 0
	for _, r := range text {
		s, ok := f.symbolOf(r)
		if !ok {
			continue
		}
		if len(dst) > 0 && dst[len(dst)-1] == s {
			run++
		} else {
			run = 1
		}
		if s == symSpace && run > 1 {
			continue
		}
		if run > maxPunctRun && isPunctSymbol(s) {
			continue
		}
		dst = append(dst, s)
	}
	return dst
}

func isPunctSymbol(s uint8) bool {
	if s < symASCII0 || s >= symLetter {
		return false
	}
	c := s - symASCII0 + '!'
	return !(c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z')
}

// escapeKey is the JSON key of a counted n-gram: the start symbol is '^',
// whitespace ' ', the printable ASCII characters themselves, with a real
// caret written "\^" and a real backslash "\\". Counted n-grams never
// hold a non-ASCII symbol.
func escapeKey(syms []uint8) string {
	var b strings.Builder
	for _, s := range syms {
		switch c := s - symASCII0 + '!'; {
		case s == symStart:
			b.WriteByte('^')
		case s == symSpace:
			b.WriteByte(' ')
		case c == '^' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescapeKey inverts escapeKey.
func unescapeKey(key string) ([]uint8, error) {
	var out []uint8
	esc := false
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c < ' ' || c > '~':
			return nil, fmt.Errorf("n-gram %q: byte %#x is not printable ASCII", key, c)
		case esc:
			if c != '^' && c != '\\' {
				return nil, fmt.Errorf("n-gram %q: bad escape \\%c", key, c)
			}
			out = append(out, c-'!'+symASCII0)
			esc = false
		case c == '\\':
			esc = true
		case c == '^':
			out = append(out, symStart)
		case c == ' ':
			out = append(out, symSpace)
		default:
			out = append(out, c-'!'+symASCII0)
		}
	}
	if esc {
		return nil, fmt.Errorf("n-gram %q: trailing backslash", key)
	}
	return out, nil
}

// packKey packs symbols into a uint64, 7 bits each.
func packKey(syms []uint8) uint64 {
	var k uint64
	for _, s := range syms {
		k = k<<7 | uint64(s)
	}
	return k
}

// ngramCounts counts the order-n n-grams of texts (each text padded with
// n−1 start symbols, so every symbol ends one full n-gram). N-grams with a
// non-ASCII symbol are neither counted nor scored: the model judges ASCII
// text only, so text in other scripts can never look like noise.
func (f *latinFold) ngramCounts(texts []string, order int) map[uint64]uint32 {
	counts := map[uint64]uint32{}
	var syms []uint8
	for _, t := range texts {
		syms = syms[:0]
		for range order - 1 {
			syms = append(syms, symStart)
		}
		syms = f.appendSymbols(syms, t)
		for i := order - 1; i < len(syms); i++ {
			if asciiOnly(syms[i-order+1 : i+1]) {
				counts[packKey(syms[i-order+1:i+1])]++
			}
		}
	}
	return counts
}

// charLM is an interpolated absolute-discounting character n-gram model
// (Ney, Essen & Kneser 1994, without the continuation counts):
//
//	P_k(c | h) = max(C(hc) − D, 0)/C(h) + D·T(h)/C(h) · P_{k−1}(c | h')
//
// with D = absDiscount, T(h) the number of distinct symbols seen after h,
// h' the context without its oldest symbol, P_{−1} uniform over the ASCII
// alphabet and P_k = P_{k−1} for an unseen context. It is compiled into a
// dense table of log P(c | h), indexed by the packed n-gram.
type charLM struct {
	fold  *latinFold
	order int
	logp  []float32 // 1 << (7·order) entries
}

// newCharLM compiles the model from the highest-order counts; lower orders
// are their marginals (exact, because every symbol ends a padded n-gram).
// The tables are filled level by level, each from the one below.
func newCharLM(fold *latinFold, top map[uint64]uint32, order int) *charLM {
	counts := make([]map[uint64]uint32, order) // counts[k]: (k+1)-grams
	counts[order-1] = top
	for k := order - 2; k >= 0; k-- {
		counts[k] = map[uint64]uint32{}
		mask := uint64(1)<<(7*uint(k+1)) - 1
		for key, c := range counts[k+1] {
			counts[k][key&mask] += c // drop the oldest symbol
		}
	}
	var lower []float64 // P_{k−1}, indexed by the packed k-gram
	for k := range order {
		ctx := map[uint64][2]float64{} // context → C(h), T(h)
		for key, c := range counts[k] {
			v := ctx[key>>7]
			v[0] += float64(c)
			v[1]++
			ctx[key>>7] = v
		}
		cur := make([]float64, 1<<(7*uint(k+1)))
		lowMask := uint64(1)<<(7*uint(k)) - 1
		for key := range cur {
			if !validKey(uint64(key), k+1) {
				continue
			}
			low := 1.0 / asciiSymbols
			if k > 0 {
				low = lower[uint64(key)&lowMask]
			}
			tot, seen := ctx[uint64(key)>>7]
			if !seen {
				cur[key] = low
				continue
			}
			c := float64(counts[k][uint64(key)])
			cur[key] = max(c-absDiscount, 0)/tot[0] + absDiscount*tot[1]/tot[0]*low
		}
		lower = cur
	}
	out := &charLM{fold: fold, order: order, logp: make([]float32, len(lower))}
	for key, p := range lower {
		if p > 0 {
			out.logp[key] = float32(math.Log(p))
		}
	}
	return out
}

// validKey reports whether all n symbols packed in key are scored ones.
func validKey(key uint64, n int) bool {
	for range n {
		if key&0x7f >= asciiSymbols {
			return false
		}
		key >>= 7
	}
	return true
}

// windowScore returns the highest and the lowest mean negative
// log-probability (nats per symbol) over any window of `window` consecutive
// scored symbols of text, or over the whole text when it is shorter; both 0
// for texts of fewer than minSymbols scored symbols. syms and nll are
// scratch buffers, returned for reuse.
func (lm *charLM) windowScore(text string, window, minSymbols int, syms []uint8, nll []float32) (hi, lo float64, _ []uint8, _ []float32) {
	syms = syms[:0]
	for range lm.order - 1 {
		syms = append(syms, symStart)
	}
	syms = lm.fold.appendSymbols(syms, text)
	nll = nll[:0]
	var key uint64
	keyMask := uint64(1)<<(7*uint(lm.order)) - 1
	lastForeign := -1 // index of the last non-ASCII symbol
	for i, s := range syms {
		key = (key<<7 | uint64(s)) & keyMask
		if s >= symLetter {
			lastForeign = i
		}
		if i >= lm.order-1 && i-lastForeign >= lm.order {
			nll = append(nll, -lm.logp[key])
		}
	}
	n := len(nll)
	if n < minSymbols || n == 0 {
		return 0, 0, syms, nll
	}
	w := min(window, n)
	var sum float64
	for i := range w {
		sum += float64(nll[i])
	}
	best, worst := sum, sum
	for i := w; i < n; i++ {
		sum += float64(nll[i]) - float64(nll[i-w])
		best = max(best, sum)
		worst = min(worst, sum)
	}
	return best / float64(w), worst / float64(w), syms, nll
}

// countsJSON renders order-n counts with readable keys.
func countsJSON(counts map[uint64]uint32, order int) map[string]uint32 {
	out := make(map[string]uint32, len(counts))
	syms := make([]uint8, order)
	for key, c := range counts {
		for i := order - 1; i >= 0; i-- {
			syms[i] = uint8(key & 0x7f)
			key >>= 7
		}
		out[escapeKey(syms)] = c
	}
	return out
}

// countsFromJSON parses countsJSON's output, reporting every bad key.
func countsFromJSON(m map[string]uint32, order int) (map[uint64]uint32, error) {
	out := make(map[uint64]uint32, len(m))
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(m)) {
		syms, err := unescapeKey(k)
		if err == nil && len(syms) != order {
			err = fmt.Errorf("n-gram %q: want %d symbols, got %d", k, order, len(syms))
		}
		if err != nil {
			errs = append(errs, err)
			if len(errs) == 10 {
				errs = append(errs, errors.New("…"))
				break
			}
			continue
		}
		out[packKey(syms)] = m[k]
	}
	return out, errors.Join(errs...)
}

func asciiOnly(syms []uint8) bool {
	for _, s := range syms {
		if s >= symLetter {
			return false
		}
	}
	return true
}
