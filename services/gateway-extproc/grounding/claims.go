package grounding

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/semrouter/semrouter/services/cache"
)

// claim is one sentence of the answer with the specifics it asserts.
type claim struct {
	start, end int
	text       string
	words      int
	numbers    []string
	dates      []date
	quotes     []string
	entities   []entity
	specifics  int
	// verdict
	reason  string
	missing []string
	score   float64
	cosine  float64
}

// date is a date the answer names: its month (1–12) and numbers (day,
// year), normalised.
type date struct {
	text  string
	month int
	nums  []string
}

// entity is a run of capitalised words; tokens are lower case.
type entity struct {
	text   string
	tokens []string
}

// token is one word of a sentence: letters and digits with inner
// apostrophes, hyphens and ampersands.
type token struct {
	start, end int
	text       string
	letters    bool // has a letter
	upper      bool // starts with an upper-case letter
}

// tokens appends the tokens of s to dst.
func tokens(dst []token, s string) []token {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			i += size
			continue
		}
		start := i
		t := token{start: start, upper: unicode.IsUpper(r)}
		for i < len(s) {
			r, size = utf8.DecodeRuneInString(s[i:])
			if unicode.IsLetter(r) {
				t.letters = true
			} else if !unicode.IsDigit(r) {
				// inner joiners: "O'Neil", "COVID-19", "AT&T"
				if r == '\'' || r == '’' || r == '-' || r == '&' {
					if n, _ := utf8.DecodeRuneInString(s[i+size:]); i+size < len(s) && (unicode.IsLetter(n) || unicode.IsDigit(n)) {
						i += size
						continue
					}
				}
				break
			}
			i += size
		}
		t.end = i
		t.text = s[start:i]
		dst = append(dst, t)
	}
	return dst
}

// claims splits the answer into claims with their specifics. more
// reports that sentences beyond MaxClaims were dropped.
func (d *Detector) claims(answer string) (out []claim, more bool) {
	var toks []token
	var scratch []byte
	splitSentences(answer, true, d.lim.MaxSentenceBytes, func(a, b int) bool {
		if len(out) == d.lim.MaxClaims {
			more = true
			return false
		}
		c := claim{start: a, end: b, text: answer[a:b]}
		scratch = cleanForNumbers(scratch[:0], c.text)
		toks = tokens(toks[:0], c.text)
		for _, t := range toks {
			if t.letters {
				c.words++
			}
		}
		c.numbers = sentenceNumbers(nil, string(scratch), c.text)
		c.dates = findDates(c.text, toks)
		c.quotes = findQuotes(c.text)
		if c.words >= 3 {
			c.entities = findEntities(c.text, toks)
		}
		c.specifics = len(c.numbers) + len(c.dates) + len(c.quotes) + len(c.entities)
		out = append(out, c)
		return true
	})
	return out, more
}

// cleanForNumbers copies s with list markers ("1. ", "2) ") at its start
// and bracketed citations ("[1]") blanked out: they are not claims.
func cleanForNumbers(dst []byte, s string) []byte {
	dst = append(dst, s...)
	i := 0
	for i < len(dst) && (dst[i] == ' ' || dst[i] == '-' || dst[i] == '*' || dst[i] == '>') {
		i++
	}
	j := i
	for j < len(dst) && dst[j] >= '0' && dst[j] <= '9' {
		j++
	}
	if j > i && j-i <= 3 && j+1 < len(dst) && (dst[j] == '.' || dst[j] == ')') && dst[j+1] == ' ' {
		for k := i; k <= j; k++ {
			dst[k] = ' '
		}
	}
	for k := 0; k < len(dst); k++ {
		if dst[k] != '[' {
			continue
		}
		e := k + 1
		for e < len(dst) && (dst[e] >= '0' && dst[e] <= '9' || dst[e] == ',' || dst[e] == ' ') {
			e++
		}
		if e < len(dst) && dst[e] == ']' && e > k+1 {
			for m := k; m <= e; m++ {
				dst[m] = ' '
			}
			k = e
		}
	}
	return dst
}

// sentenceNumbers appends the normalised numbers of s (cleaned) to dst. A
// single-digit number counts only when written in digits in orig ("3
// days", not "two options"). A piece naming too many numbers for one scan
// is halved at a space.
func sentenceNumbers(dst []string, s, orig string) []string {
	start := len(dst)
	dst = appendAllNumbers(dst, s, 4)
	out := dst[:start]
	for _, n := range dst[start:] {
		if len(n) == 1 && !digitToken(orig, n[0]) {
			continue
		}
		out = append(out, normNumber(n))
	}
	return out
}

// appendAllNumbers is cache.AppendNumbers over pieces of s small enough
// to be scanned whole (depth halvings at most).
func appendAllNumbers(dst []string, s string, depth int) []string {
	n := len(dst)
	out, complete := cache.AppendNumbers(dst, s)
	if complete || depth == 0 {
		return out
	}
	mid := len(s) / 2
	cut := strings.LastIndexByte(s[:mid], ' ')
	if cut <= 0 {
		cut = strings.IndexByte(s[mid:], ' ')
		if cut < 0 {
			return out
		}
		cut += mid
	}
	out = appendAllNumbers(out[:n], s[:cut], depth-1)
	return appendAllNumbers(out, s[cut:], depth-1)
}

// normNumber drops the leading zeros of a number's integer part ("03"
// is "3"; "0.5" stays) and the trailing zeros of its decimals.
func normNumber(n string) string {
	neg := strings.HasPrefix(n, "-")
	d := strings.TrimPrefix(n, "-")
	i := 0
	for i+1 < len(d) && d[i] == '0' && isDigit(d[i+1]) {
		i++
	}
	d = d[i:]
	if strings.IndexByte(d, '.') >= 0 && strings.IndexByte(d, ',') < 0 {
		d = strings.TrimRight(strings.TrimRight(d, "0"), ".") // "45.50" is "45.5", "3.0" is "3"
	}
	if neg {
		return "-" + d
	}
	return d
}

// digitToken reports whether s has the digit d standing alone (not part
// of a longer digit run).
func digitToken(s string, d byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != d {
			continue
		}
		if (i == 0 || !isDigit(s[i-1])) && (i+1 == len(s) || !isDigit(s[i+1])) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// month returns the month number of a month name or abbreviation (0:
// none). w is as written; only capitalised names count.
func month(w string) int {
	if w == "" || w[0] < 'A' || w[0] > 'Z' {
		return 0
	}
	var b [10]byte
	if len(w) > len(b) {
		return 0
	}
	l := b[:len(w)]
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		l[i] = c
	}
	switch string(l) {
	case "january", "jan":
		return 1
	case "february", "feb":
		return 2
	case "march", "mar":
		return 3
	case "april", "apr":
		return 4
	case "may":
		return 5
	case "june", "jun":
		return 6
	case "july", "jul":
		return 7
	case "august", "aug":
		return 8
	case "september", "sep", "sept":
		return 9
	case "october", "oct":
		return 10
	case "november", "nov":
		return 11
	case "december", "dec":
		return 12
	}
	return 0
}

// dayOrYear returns the normalised value of a day ("3", "3rd", "03") or a
// year ("2021") token (ok false: neither).
func dayOrYear(t string) (string, bool) {
	i := 0
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	if i == 0 || i > 4 {
		return "", false
	}
	if rest := strings.ToLower(t[i:]); rest != "" && rest != "st" && rest != "nd" && rest != "rd" && rest != "th" {
		return "", false
	}
	v, err := strconv.Atoi(t[:i])
	if err != nil || v == 0 || v > 31 && (v < 1000 || v > 2999) {
		return "", false
	}
	return strconv.Itoa(v), true
}

// isoDate parses yyyy-mm-dd.
func isoDate(t string) (date, bool) {
	if len(t) != 10 || t[4] != '-' || t[7] != '-' {
		return date{}, false
	}
	y, e1 := strconv.Atoi(t[:4])
	m, e2 := strconv.Atoi(t[5:7])
	dd, e3 := strconv.Atoi(t[8:])
	if e1 != nil || e2 != nil || e3 != nil || m < 1 || m > 12 || dd < 1 || dd > 31 {
		return date{}, false
	}
	return date{text: t, month: m, nums: []string{strconv.Itoa(y), strconv.Itoa(dd)}}, true
}

// findDates returns the dates among toks: a month name with a day before
// it or a day and/or year after it, or an ISO date.
func findDates(s string, toks []token) []date {
	var out []date
	for i, t := range toks {
		if dt, ok := isoDate(t.text); ok {
			out = append(out, dt)
			continue
		}
		m := month(t.text)
		if m == 0 {
			continue
		}
		dt := date{month: m}
		first, last := i, i
		if i > 0 {
			if v, ok := dayOrYear(toks[i-1].text); ok && len(v) <= 2 {
				dt.nums, first = append(dt.nums, v), i-1
			}
		}
		for j := i + 1; j < len(toks) && j <= i+2; j++ {
			v, ok := dayOrYear(toks[j].text)
			if !ok {
				break
			}
			dt.nums, last = append(dt.nums, v), j
		}
		if len(dt.nums) == 0 {
			continue // "May" the verb, a month alone
		}
		dt.text = s[toks[first].start:toks[last].end]
		out = append(out, dt)
	}
	return out
}

// findQuotes returns the quoted strings of s ("…" and “…”) of 3 to 200
// bytes.
func findQuotes(s string) []string {
	var out []string
	for _, q := range [...][2]string{{`"`, `"`}, {"“", "”"}} {
		rest := s
		for {
			i := strings.Index(rest, q[0])
			if i < 0 {
				break
			}
			rest = rest[i+len(q[0]):]
			j := strings.Index(rest, q[1])
			if j < 0 {
				break
			}
			if inner := strings.TrimSpace(rest[:j]); len(inner) >= 3 && len(inner) <= 200 && hasWords(inner) {
				out = append(out, inner)
			}
			rest = rest[j+len(q[1]):]
		}
	}
	return out
}

// stopword reports capitalised function words that start sentences or
// clauses and are no names.
func stopword(w string) bool {
	switch w {
	case "The", "A", "An", "This", "That", "These", "Those", "It", "Its", "I", "I'm", "I've", "I'll", "We", "You",
		"He", "She", "They", "My", "Our", "Your", "His", "Her", "Their", "In", "On", "At", "For", "From", "By", "With",
		"And", "But", "Or", "If", "So", "As", "To", "Of", "Note", "However", "Yes", "No", "Also", "Here", "There",
		"Based", "According", "Please", "Sure", "Overall", "Therefore", "Thus", "Hello", "Hi", "Thanks", "Today",
		"Tomorrow", "Yesterday", "What", "When", "Where", "Which", "Who", "Why", "How", "Some", "All", "Each",
		"Both", "Most", "Many", "After", "Before", "During", "While", "Since", "Although", "Because", "Unfortunately",
		"OK", "Ok", "Okay", "Let", "Let's", "Summary", "Answer", "Source", "Sources", "Total":
		return true
	}
	return false
}

// weekday reports day names (no entities: "on Monday").
func weekday(w string) bool {
	switch w {
	case "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday":
		return true
	}
	return false
}

// unitWord reports capitalised units, currencies and time zones (no
// entities: "18 degrees Celsius", "10 AM UTC").
func unitWord(w string) bool {
	switch w {
	case "Celsius", "Fahrenheit", "Kelvin", "AM", "PM", "UTC", "GMT", "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD",
		"KB", "MB", "GB", "TB", "Mbps", "Gbps", "GHz", "MHz", "kWh", "MW", "GW":
		return true
	}
	return false
}

// connector reports lower-case words inside names ("Bank of England").
func connector(w string) bool {
	switch w {
	case "of", "de", "da", "del", "der", "van", "von", "la", "le", "du", "bin", "al":
		return true
	}
	return false
}

// findEntities returns the runs of capitalised words of s. The first word
// of the sentence (or of a clause after ':'; list markers aside) is
// dropped from its run: capitalisation says nothing there ("Order A-1042"
// checks "A-1042", "Marie Curie" checks "Curie").
func findEntities(s string, toks []token) []entity {
	var out []entity
	runStart, runEnd := -1, -1
	var words []string
	clauseStart := 0 // index of the first word of the clause
	for clauseStart < len(toks) && !toks[clauseStart].letters {
		clauseStart++
	}
	flush := func() {
		if runStart >= 0 && runStart == clauseStart && len(words) > 0 {
			runStart++
			words = words[1:]
		}
		if len(words) > 0 {
			out = append(out, entity{text: s[toks[runStart].start:toks[runEnd].end], tokens: words})
		}
		runStart, runEnd, words = -1, -1, nil
	}
	for i, t := range toks {
		if i > 0 && strings.Contains(s[toks[i-1].end:t.start], ":") {
			flush()
			clauseStart = i
			for clauseStart < len(toks) && !toks[clauseStart].letters {
				clauseStart++
			}
		}
		name := t.letters && t.upper && t.end-t.start > 1 && month(t.text) == 0 && !weekday(t.text) && !unitWord(t.text)
		switch {
		case name && !stopword(t.text):
			if runStart < 0 {
				runStart = i
			}
			runEnd = i
			w := strings.ToLower(t.text)
			for _, pos := range [...]string{"'s", "’s"} {
				w = strings.TrimSuffix(w, pos)
			}
			words = append(words, w)
		case runStart >= 0 && connector(t.text) && i+1 < len(toks) && toks[i+1].upper:
			// keep the run open across "of", "van", …
		default:
			flush()
		}
	}
	flush()
	return out
}
