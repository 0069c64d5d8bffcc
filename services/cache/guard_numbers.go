package cache

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// numKind is the role of a spelled-out number word.
type numKind uint8

const (
	numNone    numKind = iota
	numUnit            // zero … nine
	numTeen            // ten … nineteen
	numTens            // twenty, thirty, … ninety
	numOrdinal         // third, fifth, twentieth, …: ends a number
	numHundred         // hundred
	numScale           // thousand, million, billion, trillion
	numDozen           // dozen
)

// numberWord returns the value and role of a spelled-out number word
// (lower case). "one" is a number here; wordNumber drops it when it
// stands alone.
func numberWord(w string) (uint64, numKind, bool) {
	if len(w) < 3 || len(w) > 11 {
		return 0, numNone, false
	}
	switch w {
	case "zero":
		return 0, numUnit, true
	case "one":
		return 1, numUnit, true
	case "two":
		return 2, numUnit, true
	case "three":
		return 3, numUnit, true
	case "four":
		return 4, numUnit, true
	case "five":
		return 5, numUnit, true
	case "six":
		return 6, numUnit, true
	case "seven":
		return 7, numUnit, true
	case "eight":
		return 8, numUnit, true
	case "nine":
		return 9, numUnit, true
	case "ten":
		return 10, numTeen, true
	case "eleven":
		return 11, numTeen, true
	case "twelve":
		return 12, numTeen, true
	case "thirteen":
		return 13, numTeen, true
	case "fourteen":
		return 14, numTeen, true
	case "fifteen":
		return 15, numTeen, true
	case "sixteen":
		return 16, numTeen, true
	case "seventeen":
		return 17, numTeen, true
	case "eighteen":
		return 18, numTeen, true
	case "nineteen":
		return 19, numTeen, true
	case "twenty":
		return 20, numTens, true
	case "thirty":
		return 30, numTens, true
	case "forty", "fourty":
		return 40, numTens, true
	case "fifty":
		return 50, numTens, true
	case "sixty":
		return 60, numTens, true
	case "seventy":
		return 70, numTens, true
	case "eighty":
		return 80, numTens, true
	case "ninety":
		return 90, numTens, true
	case "hundred":
		return 100, numHundred, true
	case "thousand":
		return 1_000, numScale, true
	case "million":
		return 1_000_000, numScale, true
	case "billion":
		return 1_000_000_000, numScale, true
	case "trillion":
		return 1_000_000_000_000, numScale, true
	case "dozen":
		return 12, numDozen, true
	// Ordinals. "first" and "second" are left out ("first time", "per
	// second"); they count only inside a compound ("twenty-first").
	case "third":
		return 3, numOrdinal, true
	case "fourth":
		return 4, numOrdinal, true
	case "fifth":
		return 5, numOrdinal, true
	case "sixth":
		return 6, numOrdinal, true
	case "seventh":
		return 7, numOrdinal, true
	case "eighth":
		return 8, numOrdinal, true
	case "ninth":
		return 9, numOrdinal, true
	case "tenth":
		return 10, numOrdinal, true
	case "eleventh":
		return 11, numOrdinal, true
	case "twelfth":
		return 12, numOrdinal, true
	case "thirteenth":
		return 13, numOrdinal, true
	case "fourteenth":
		return 14, numOrdinal, true
	case "fifteenth":
		return 15, numOrdinal, true
	case "sixteenth":
		return 16, numOrdinal, true
	case "seventeenth":
		return 17, numOrdinal, true
	case "eighteenth":
		return 18, numOrdinal, true
	case "nineteenth":
		return 19, numOrdinal, true
	case "twentieth":
		return 20, numOrdinal, true
	case "thirtieth":
		return 30, numOrdinal, true
	case "fortieth":
		return 40, numOrdinal, true
	case "fiftieth":
		return 50, numOrdinal, true
	case "sixtieth":
		return 60, numOrdinal, true
	case "seventieth":
		return 70, numOrdinal, true
	case "eightieth":
		return 80, numOrdinal, true
	case "ninetieth":
		return 90, numOrdinal, true
	case "hundredth":
		return 100, numOrdinal, true
	case "thousandth":
		return 1_000, numOrdinal, true
	case "millionth":
		return 1_000_000, numOrdinal, true
	}
	return 0, numNone, false
}

// wordNumber accumulates a spelled-out number: "two thousand three
// hundred and five", "twenty-five", "a dozen".
type wordNumber struct {
	active     bool
	total, cur uint64
	last       numKind
	lastScale  uint64
	words      int
	loneOne    bool // the number so far is the single word "one"
}

// add takes the next number word; false when it cannot continue the
// number ("two three"), which the caller then flushes and restarts.
func (n *wordNumber) add(w string, v uint64, k numKind) bool {
	if !n.active {
		*n = wordNumber{active: true, last: k, words: 1, loneOne: w == "one"}
		switch k {
		case numHundred, numScale:
			n.total, n.lastScale = v, v
			if k == numHundred {
				n.total, n.cur, n.lastScale = 0, v, 0
			}
		default:
			n.cur = v
		}
		return true
	}
	afterScale := n.last == numHundred || n.last == numScale
	switch k {
	case numUnit:
		switch {
		case n.last == numTens && n.cur%10 == 0, afterScale:
			n.cur += v
		default:
			return false
		}
	case numOrdinal:
		switch {
		case v < 10 && n.last == numTens && n.cur%10 == 0, v < 100 && afterScale:
			n.cur += v
		case v >= 100 && (n.last == numUnit || n.last == numTeen || n.last == numTens):
			n.cur *= v
		default:
			return false
		}
	case numTeen, numTens:
		if !afterScale || n.cur%100 != 0 {
			return false
		}
		n.cur += v
	case numHundred:
		if n.last == numHundred || n.last == numScale && n.cur == 0 || n.cur >= 100 {
			return false
		}
		n.cur *= 100
	case numScale:
		if n.lastScale != 0 && v >= n.lastScale {
			return false
		}
		n.total += max(n.cur, 1) * v
		n.cur, n.lastScale = 0, v
	case numDozen:
		if n.last == numDozen || n.last == numScale {
			return false
		}
		n.cur = max(n.cur, 1) * 12
	}
	n.last = k
	n.words++
	n.loneOne = false
	return true
}

// flushWords ends the spelled-out number being read, if any, and adds it.
func (g *guardSig) flushWords(st *scanState) {
	n := &st.words
	if !n.active {
		return
	}
	v := n.total + n.cur
	lone := n.loneOne
	*n = wordNumber{}
	if lone {
		// "which one", "one of", "no one": a word, not a number.
		return
	}
	var b [20]byte
	g.addNum(strconv.AppendUint(b[:0], v, 10))
}

// addNum appends one normalised number.
func (g *guardSig) addNum(b []byte) {
	if g.n == guardNums || g.bn+len(b) > guardBuf {
		g.overflow = true
		return
	}
	start := g.bn
	g.bn += copy(g.buf[g.bn:], b)
	g.nums[g.n] = [2]uint16{uint16(start), uint16(g.bn)}
	g.n++
}

// scanDigits returns the end of the digit run starting at i: digits with
// inner '.' or ',' between digits ("3.5", "1,000", "3,5").
func scanDigits(s string, i int) int {
	i++
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
	return i
}

// negativeSign reports whether the digit run at i has a minus sign: a '-'
// or '−' right before it that does not follow a letter, digit or closing
// bracket ("-4", "x = -4", but not the range "15-19" or "x-4").
func negativeSign(s string, i int) bool {
	var j int
	switch {
	case i >= 1 && s[i-1] == '-':
		j = i - 1
	case i >= 3 && s[i-3:i] == "−":
		j = i - 3
	default:
		return false
	}
	if j == 0 {
		return true
	}
	r, _ := utf8.DecodeLastRuneInString(s[:j])
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != ')' && r != ']' && r != '.'
}

// addDigits adds the digit run s[start:end], dropping thousands
// separators ("1,000,000" is "1000000"; "3,5" and "1,2,3" stay whole).
func (g *guardSig) addDigits(s string, start, end int, neg bool) {
	run := s[start:end]
	var b [64]byte
	out := b[:0]
	if neg {
		out = append(out, '-')
	}
	if len(run) > len(b)-1 {
		g.overflow = true
		return
	}
	if thousands(run) {
		for i := 0; i < len(run); i++ {
			if run[i] != ',' {
				out = append(out, run[i])
			}
		}
	} else {
		out = append(out, run...)
	}
	g.addNum(out)
}

// thousands reports whether the commas of run are thousands separators:
// a first group of 1–3 digits, then groups of exactly 3, then an optional
// decimal part without commas.
func thousands(run string) bool {
	first := -1
	group := 0
	commas := 0
	for i := 0; i < len(run); i++ {
		switch run[i] {
		case ',':
			if first < 0 {
				first = group
				if first > 3 {
					return false
				}
			} else if group != 3 {
				return false
			}
			group = 0
			commas++
		case '.':
			if commas == 0 {
				return false
			}
			if group != 3 {
				return false
			}
			for j := i + 1; j < len(run); j++ {
				if run[j] == ',' {
					return false
				}
			}
			return true
		default:
			group++
		}
	}
	return commas > 0 && group == 3
}

// scaleLast multiplies the last number (written in digits) by the scale
// word of value v: "3 thousand" is "3000", "1.5 million" is "1500000".
// False when it does not apply (a "3,5" run, a dozen, or no room).
func (g *guardSig) scaleLast(v uint64) bool {
	zeros := 0
	for v >= 10 && v%10 == 0 {
		v /= 10
		zeros++
	}
	if v != 1 || zeros == 0 || g.n == 0 || g.overflow {
		return false
	}
	a, e := int(g.nums[g.n-1][0]), int(g.nums[g.n-1][1])
	if e != g.bn {
		return false
	}
	num := g.buf[a:e]
	var b [96]byte
	out := b[:0]
	if len(num) > 0 && num[0] == '-' {
		out = append(out, '-')
		num = num[1:]
	}
	intPart, frac := num, []byte(nil)
	for i, c := range num {
		if c == ',' || c == '.' && frac != nil {
			return false // "3,5", or a version "1.2.3"
		}
		if c == '.' {
			intPart, frac = num[:i], num[i+1:]
		}
	}
	digits := len(out)
	out = append(out, intPart...)
	moved := min(zeros, len(frac))
	out = append(out, frac[:moved]...)
	for range zeros - moved {
		out = append(out, '0')
	}
	if moved < len(frac) {
		out = append(out, '.')
		out = append(out, frac[moved:]...)
	}
	// Leading zeros: "0.5 million" is "500000".
	lead := 0
	for digits+lead+1 < len(out) && out[digits+lead] == '0' && out[digits+lead+1] != '.' {
		lead++
	}
	out = append(out[:digits], out[digits+lead:]...)
	if a+len(out) > guardBuf {
		return false
	}
	g.bn = a + copy(g.buf[a:], out)
	g.nums[g.n-1][1] = uint16(g.bn)
	return true
}
