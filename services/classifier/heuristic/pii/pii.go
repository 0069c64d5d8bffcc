// Package pii finds personally identifiable information in text with
// precise, checksum- and range-validated recognisers: EMAIL_ADDRESS,
// PHONE_NUMBER, CREDIT_CARD (Luhn), US_SSN (area/group/serial rules),
// IBAN_CODE (country length + mod-97), IP_ADDRESS (v4 and v6), URL,
// DOMAIN_NAME, DATE_TIME and PERSON (only after an explicit self-introduction
// such as "my name is"). LOCATION is not recognised: no cue-free heuristic
// is precise enough without a gazetteer or a model.
package pii

import (
	"regexp"
	"slices"
	"strings"
)

// Entity types reported by the Detector (Presidio names).
const (
	Email      = "EMAIL_ADDRESS"
	Phone      = "PHONE_NUMBER"
	CreditCard = "CREDIT_CARD"
	SSN        = "US_SSN"
	IBAN       = "IBAN_CODE"
	IP         = "IP_ADDRESS"
	URL        = "URL"
	Domain     = "DOMAIN_NAME"
	DateTime   = "DATE_TIME"
	Person     = "PERSON"
)

// Types lists every entity type the Detector can report.
func Types() []string {
	return []string{Email, Phone, CreditCard, SSN, IBAN, IP, URL, Domain, DateTime, Person}
}

// Entity is one detection: its type, byte span in the text and a score in
// (0, 1] expressing how certain the recogniser is (checksummed values score
// 1; shapes that also fit non-PII score lower).
type Entity struct {
	Type       string
	Start, End int
	Score      float64
}

// Detector holds the compiled recognisers. It is immutable and safe for
// concurrent use.
type Detector struct {
	email, url, www, domain *regexp.Regexp
	ipv4                    *regexp.Regexp
	digits                  *regexp.Regexp
	ssn, ssnBare            *regexp.Regexp
	iban                    *regexp.Regexp
	dateISO, dateNum        *regexp.Regexp
	dateText                *regexp.Regexp
	person                  *regexp.Regexp
}

// New compiles the recognisers.
func New() *Detector {
	const month = `(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)`
	return &Detector{
		email:  regexp.MustCompile(`[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}`),
		url:    regexp.MustCompile(`(?i)\b(?:https?|ftp)://[^\s<>"'\x60]+`),
		www:    regexp.MustCompile(`(?i)\bwww\.[^\s<>"'\x60]+`),
		domain: regexp.MustCompile(`(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,24})\b`),
		ipv4:   regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`),
		// digit runs with single space/dash/dot separators and an optional
		// leading + or (: phone and card candidates
		digits:   regexp.MustCompile(`\+?\(?\d[\d \t().-]{5,24}\d`),
		ssn:      regexp.MustCompile(`\b(\d{3})([- ])(\d{2})([- ])(\d{4})\b`),
		ssnBare:  regexp.MustCompile(`(?i)(?:ssn|social security(?: number| no\.?)?)\D{0,20}\b(\d{9})\b`),
		iban:     regexp.MustCompile(`\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30})\b`),
		dateISO:  regexp.MustCompile(`\b(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?\b`),
		dateNum:  regexp.MustCompile(`\b(\d{1,2})[/.](\d{1,2})[/.](\d{4}|\d{2})\b`),
		dateText: regexp.MustCompile(`(?i)\b(?:` + month + `\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}|\d{1,2}(?:st|nd|rd|th)? ` + month + `\.?,? \d{4})\b`),
		person:   regexp.MustCompile(`(?:[Mm]y name is|[Mm]y name's|I am called|[Nn]ame:)\s+(\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+){0,2})`),
	}
}

// Detect appends the entities found in text to dst and returns it. Spans
// that lie inside a stronger detection (a domain inside a URL or e-mail
// address, a phone-shaped run inside a card number) are dropped.
//
// Cheap byte scans find candidate windows ('@', "://", digit runs, month
// names, …); the regexes run only on those windows, so the cost grows with
// the number of candidates rather than with regexes × text length.
func (d *Detector) Detect(text string, dst []Entity) []Entity {
	base := len(dst)
	lastEnd := 0
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '@':
			// One window covers every '@' of a run, so the scan resumes
			// after it (linear even for "a@a@a@…").
			s, e := expand(text, i, isEmailLocal, isHostByte)
			for e < len(text) && (isEmailLocal(text[e]) || text[e] == '@') {
				e++
			}
			s = max(s, lastEnd)
			dst = d.find(text, s, e, d.email, Email, 1, dst)
			lastEnd, i = e, e-1
		case c == ':' && strings.HasPrefix(text[i:], "://"):
			s := max(0, i-6, lastEnd)
			_, e := expand(text, i, nil, isURLByte)
			dst = d.findURL(text, s, e, d.url, 0.95, dst)
			lastEnd, i = e, e-1
		case (c == 'w' || c == 'W') && (i == 0 || !isAlnum(text[i-1])) && len(text)-i > 4 && strings.EqualFold(text[i:i+4], "www."):
			_, e := expand(text, i, nil, isURLByte)
			dst = d.findURL(text, i, e, d.www, 0.85, dst)
			lastEnd, i = e, e-1
		}
	}
	dst = d.scanDomains(text, dst)
	dst = d.scanDigitRuns(text, dst)
	dst = d.scanIBANs(text, dst)
	dst = d.scanIPv6(text, dst)
	dst = d.scanWords(text, dst)
	dst = d.scanCues(text, dst)
	return resolveOverlaps(dst, base)
}

// expand grows [i, i+1) left while left(byte) and right while right(byte).
func expand(text string, i int, left, right func(byte) bool) (int, int) {
	s, e := i, i+1
	for left != nil && s > 0 && left(text[s-1]) {
		s--
	}
	for right != nil && e < len(text) && right(text[e]) {
		e++
	}
	return s, e
}

func isEmailLocal(c byte) bool { return isAlnum(c) || strings.IndexByte("._%+-", c) >= 0 }
func isHostByte(c byte) bool   { return isAlnum(c) || c == '.' || c == '-' }
func isURLByte(c byte) bool {
	return c > ' ' && c != '<' && c != '>' && c != '"' && c != '\'' && c != '`' && c < 0x7f
}
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// find runs re over text[s:e] and records every match as typ.
func (d *Detector) find(text string, s, e int, re *regexp.Regexp, typ string, score float64, dst []Entity) []Entity {
	for _, m := range re.FindAllStringIndex(text[s:e], -1) {
		dst = append(dst, Entity{typ, s + m[0], s + m[1], score})
	}
	return dst
}

func (d *Detector) findURL(text string, s, e int, re *regexp.Regexp, score float64, dst []Entity) []Entity {
	for _, m := range re.FindAllStringIndex(text[s:e], -1) {
		start := s + m[0]
		if start > 0 && isAlnum(text[start-1]) {
			continue
		}
		dst = append(dst, Entity{URL, start, trimURL(text, start, s+m[1]), score})
	}
	return dst
}

// scanDomains checks every dotted host-name-shaped run.
func (d *Detector) scanDomains(text string, dst []Entity) []Entity {
	for i := 1; i+1 < len(text); i++ {
		if text[i] != '.' || !isAlnum(text[i-1]) || !isAlnum(text[i+1]) {
			continue
		}
		s, e := expand(text, i, isHostByte, isHostByte)
		if s > 0 && (text[s-1] == '@' || text[s-1] == '/' || text[s-1] == '_') {
			i = e
			continue
		}
		for _, m := range d.domain.FindAllStringSubmatchIndex(text[s:e], -1) {
			if knownTLD(strings.ToLower(text[s+m[2] : s+m[3]])) {
				dst = append(dst, Entity{Domain, s + m[0], s + m[1], 0.85})
			}
		}
		i = e
	}
	return dst
}

// scanDigitRuns finds runs of digits and the separators numbers are
// written with, then applies the numeric recognisers to each run.
func (d *Detector) scanDigitRuns(text string, dst []Entity) []Entity {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !isDigit(c) && !((c == '+' || c == '(') && i+1 < len(text) && isDigit(text[i+1])) {
			continue
		}
		if i > 0 && (isAlnum(text[i-1]) || text[i-1] == '_') {
			for i < len(text) && isAlnum(text[i]) { // inside a word: skip it
				i++
			}
			continue
		}
		e := i + 1
		for e < len(text) && (isDigit(text[e]) || strings.IndexByte(" \t().-/:+", text[e]) >= 0) {
			e++
		}
		end := e
		for end > i && !isDigit(text[end-1]) && text[end-1] != ')' {
			end--
		}
		if e < len(text) && isAlnum(text[e]) && end == e {
			i = e
			continue
		}
		dst = d.detectNumeric(text, i, end, dst)
		i = e
	}
	return dst
}

// scanIBANs checks every "CCdd" (country code, check digits) start.
func (d *Detector) scanIBANs(text string, dst []Entity) []Entity {
	for i := 0; i+4 <= len(text); i++ {
		if !isUpper(text[i]) || !isUpper(text[i+1]) || !isDigit(text[i+2]) || !isDigit(text[i+3]) || (i > 0 && isAlnum(text[i-1])) {
			continue
		}
		e := i + 4
		for e < len(text) && e-i < 42 && (isUpper(text[e]) || isDigit(text[e]) || text[e] == ' ') {
			e++
		}
		for _, m := range d.iban.FindAllStringSubmatchIndex(text[i:e], -1) {
			// The pattern is greedy; when trailing upper-case words were
			// swallowed, retry without the last space-separated group.
			for start, end := i+m[2], i+m[3]; end-start >= 15; {
				if score, ok := validIBAN(text[start:end]); ok {
					dst = append(dst, Entity{IBAN, start, end, score})
					break
				}
				sp := strings.LastIndexByte(text[start:end], ' ')
				if sp < 0 {
					break
				}
				end = start + sp
			}
		}
		i = e
	}
	return dst
}

// scanIPv6 validates every run of hex digits, colons and dots that holds
// at least two colons.
func (d *Detector) scanIPv6(text string, dst []Entity) []Entity {
	isV6 := func(c byte) bool {
		return isDigit(c) || c == ':' || c == '.' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
	}
	for i := 0; i < len(text); i++ {
		if !isV6(text[i]) || (i > 0 && (isAlnum(text[i-1]) || text[i-1] == '_')) {
			continue
		}
		e := i
		colons := 0
		for e < len(text) && isV6(text[e]) {
			if text[e] == ':' {
				colons++
			}
			e++
		}
		end := e
		for end > i && text[end-1] == '.' {
			end--
		}
		if colons >= 2 && (e == len(text) || !isAlnum(text[e])) && validIPv6(text[i:end]) {
			dst = append(dst, Entity{IP, i, end, 0.95})
		}
		i = e
	}
	return dst
}

// scanWords looks for month names and checks the text around them for a
// written-out date.
func (d *Detector) scanWords(text string, dst []Entity) []Entity {
	for i := 0; i < len(text); {
		if !isLetter(text[i]) {
			i++
			continue
		}
		e := i
		for e < len(text) && isLetter(text[e]) {
			e++
		}
		if e-i >= 3 && e-i <= 9 && isMonth(text[i:e]) {
			s := max(0, i-8)
			for s > 0 && s < i && !isDigit(text[s]) && text[s] != ' ' {
				s++
			}
			dst = d.find(text, s, min(len(text), e+16), d.dateText, DateTime, 0.9, dst)
		}
		i = e
	}
	return dst
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isMonth(w string) bool {
	for _, m := range [...]string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"} {
		if len(w) == len(m) && strings.EqualFold(w, m) || len(w) >= 3 && len(w) <= 4 && len(w) <= len(m) && strings.EqualFold(w, m[:len(w)]) {
			return true
		}
	}
	return false
}

// scanCues looks for the phrases that introduce a bare SSN or a name.
func (d *Detector) scanCues(text string, dst []Entity) []Entity {
	for _, cue := range [...]string{"ssn", "social security"} {
		for from := 0; ; {
			j := indexFold(text[from:], cue)
			if j < 0 {
				break
			}
			s := from + j
			for _, m := range d.ssnBare.FindAllStringSubmatchIndex(text[s:min(len(text), s+60)], -1) {
				v := text[s+m[2] : s+m[3]]
				if validSSN(v[:3], v[3:5], v[5:]) {
					dst = append(dst, Entity{SSN, s + m[2], s + m[3], 0.9})
				}
			}
			from = s + len(cue)
		}
	}
	for _, cue := range [...]string{"my name is", "my name's", "I am called", "name:"} {
		for from := 0; ; {
			j := indexFold(text[from:], cue)
			if j < 0 {
				break
			}
			s := from + j
			for _, m := range d.person.FindAllStringSubmatchIndex(text[s:min(len(text), s+len(cue)+80)], -1) {
				dst = append(dst, Entity{Person, s + m[2], s + m[3], 0.85})
			}
			from = s + len(cue)
		}
	}
	return dst
}

// indexFold is strings.Index under ASCII case folding (needle lowercase).
func indexFold(s, needle string) int {
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		if (s[i]|0x20) == needle[0] && strings.EqualFold(s[i:i+n], needle) {
			return i
		}
	}
	return -1
}

func (d *Detector) detectNumeric(text string, s, e int, dst []Entity) []Entity {
	w := text[s:e]
	for _, m := range d.ipv4.FindAllStringIndex(w, -1) {
		if validIPv4(w[m[0]:m[1]]) {
			dst = append(dst, Entity{IP, s + m[0], s + m[1], 0.95})
		}
	}
	for _, m := range d.ssn.FindAllStringSubmatchIndex(w, -1) {
		if w[m[4]:m[5]] != w[m[8]:m[9]] { // mixed separators: not an SSN
			continue
		}
		if validSSN(w[m[2]:m[3]], w[m[6]:m[7]], w[m[10]:m[11]]) {
			score := 0.95
			if w[m[4]:m[5]] == " " {
				score = 0.85
			}
			dst = append(dst, Entity{SSN, s + m[0], s + m[1], score})
		}
	}
	for _, m := range d.digits.FindAllStringIndex(w, -1) {
		dst = numericRun(text, s+m[0], s+m[1], dst)
	}
	for _, m := range d.dateISO.FindAllStringSubmatchIndex(w, -1) {
		if validISODate(w, m) {
			dst = append(dst, Entity{DateTime, s + m[0], s + m[1], 0.9})
		}
	}
	for _, m := range d.dateNum.FindAllStringSubmatchIndex(w, -1) {
		if validNumericDate(w[m[2]:m[3]], w[m[4]:m[5]]) {
			dst = append(dst, Entity{DateTime, s + m[0], s + m[1], 0.85})
		}
	}
	return dst
}

// numericRun classifies one run of digits and separators as a card number
// or a phone number.
func numericRun(text string, start, end int, dst []Entity) []Entity {
	// Do not start or end inside a longer alphanumeric token.
	if start > 0 && isAlnum(text[start-1]) || end < len(text) && isAlnum(text[end]) {
		return dst
	}
	run := text[start:end]
	var digits [32]byte
	n := 0
	for i := 0; i < len(run); i++ {
		if c := run[i]; c >= '0' && c <= '9' {
			if n == len(digits) {
				return dst
			}
			digits[n] = c
			n++
		}
	}
	ds := digits[:n]
	if n >= 13 && n <= 19 && cardSeparatorsOK(run) && luhn(ds) {
		score := 0.6
		if knownIIN(ds) {
			score = 1
		}
		return append(dst, Entity{CreditCard, start, end, score})
	}
	if score, ok := phoneScore(run, ds); ok {
		dst = append(dst, Entity{Phone, start, end, score})
	}
	return dst
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// resolveOverlaps drops entities (from index base on) contained in another
// entity that is longer, or as long with a higher score; it keeps the order
// of detection.
func resolveOverlaps(es []Entity, base int) []Entity {
	cand := es[base:]
	keep := cand[:0:0]
	for i, e := range cand {
		dominated := false
		for j, o := range cand {
			if i == j || o.Start > e.Start || o.End < e.End {
				continue
			}
			longer := o.End-o.Start > e.End-e.Start
			if longer || o.Score > e.Score || (o.Score == e.Score && o.Type == e.Type && j < i) {
				dominated = true
				break
			}
		}
		if !dominated {
			keep = append(keep, e)
		}
	}
	n := copy(cand, keep)
	es = es[:base+n]
	slices.SortStableFunc(es[base:], func(a, b Entity) int { return a.Start - b.Start })
	return es
}

// trimURL drops trailing sentence punctuation from a URL match.
func trimURL(text string, start, end int) int {
	for end > start && strings.IndexByte(".,;:!?)]}'\"", text[end-1]) >= 0 {
		end--
	}
	return end
}
