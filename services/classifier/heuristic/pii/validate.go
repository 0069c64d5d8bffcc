package pii

import (
	"net/netip"
	"strconv"
	"strings"
)

// luhn reports whether the digit string passes the Luhn checksum.
func luhn(ds []byte) bool {
	sum := 0
	double := false
	for i := len(ds) - 1; i >= 0; i-- {
		d := int(ds[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// knownIIN reports whether a card number starts with the issuer prefix and
// has a length of a major network (Visa, Mastercard, Amex, Discover, JCB,
// Diners, UnionPay).
func knownIIN(ds []byte) bool {
	n := len(ds)
	p2, _ := strconv.Atoi(string(ds[:2]))
	p4, _ := strconv.Atoi(string(ds[:4]))
	switch {
	case ds[0] == '4':
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return n == 16
	case p2 == 34 || p2 == 37:
		return n == 15
	case p4 == 6011 || p2 == 65, p4 >= 6440 && p4 <= 6499:
		return n >= 16 && n <= 19
	case p4 >= 3528 && p4 <= 3589:
		return n >= 16 && n <= 19
	case p2 == 36 || p2 == 38 || p4 >= 3000 && p4 <= 3059:
		return n >= 14 && n <= 19
	case p2 == 62:
		return n >= 16 && n <= 19
	}
	return false
}

// cardSeparatorsOK accepts card numbers written as one run of digits or in
// groups separated by single spaces or single dashes (not mixed).
func cardSeparatorsOK(run string) bool {
	var sep byte
	for i := 0; i < len(run); i++ {
		c := run[i]
		if c >= '0' && c <= '9' {
			continue
		}
		if c != ' ' && c != '-' {
			return false
		}
		if sep != 0 && c != sep {
			return false
		}
		if i+1 < len(run) && (run[i+1] == ' ' || run[i+1] == '-') {
			return false
		}
		sep = c
	}
	return true
}

// phoneScore decides whether a digit run is a phone number: an
// international number (+ country code, 8–15 digits, E.164), or a North
// American number (10 digits, or 11 with a leading 1) whose area code and
// exchange start with 2–9. Formatted numbers score higher than bare runs of
// digits, which are often other identifiers.
func phoneScore(run string, ds []byte) (float64, bool) {
	n := len(ds)
	formatted := strings.ContainsAny(run, " -.()")
	for i := 0; i < len(run); i++ {
		// a phone number uses one separator between groups
		if c := run[i]; (c == ' ' || c == '-' || c == '.') && i+1 < len(run) && (run[i+1] == ' ' || run[i+1] == '-' || run[i+1] == '.') {
			return 0, false
		}
	}
	if strings.Count(run, "(") != strings.Count(run, ")") {
		return 0, false
	}
	if run[0] == '+' {
		if n < 8 || n > 15 || ds[0] == '0' {
			return 0, false
		}
		return 0.9, true
	}
	nanp := ds
	if n == 11 && ds[0] == '1' {
		nanp = ds[1:]
	}
	if len(nanp) != 10 || nanp[0] < '2' || nanp[3] < '2' {
		return 0, false
	}
	if formatted {
		return 0.9, true
	}
	return 0.5, true
}

// validSSN applies the SSA rules: area not 000, 666 or 900–999; group not
// 00; serial not 0000.
func validSSN(area, group, serial string) bool {
	if area == "000" || area == "666" || area[0] == '9' {
		return false
	}
	return group != "00" && serial != "0000"
}

// ibanLengths is the IBAN length per country (SWIFT registry, common
// countries).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
	"BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
	"EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
	"GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27,
	"JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
	"MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
	"PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19,
	"SK": 24, "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}

// validIBAN checks the mod-97 checksum of an IBAN (spaces allowed); a
// registered country with the right length scores 1, an unregistered
// country with a valid checksum 0.8.
func validIBAN(s string) (float64, bool) {
	var b [34]byte
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			continue
		}
		if n == len(b) {
			return 0, false
		}
		b[n] = s[i]
		n++
	}
	if n < 15 {
		return 0, false
	}
	iban := b[:n]
	// move the first four characters to the end, letters → 10..35
	rem := 0
	for i := 0; i < n; i++ {
		c := iban[(i+4)%n]
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A') + 10) % 97
		default:
			return 0, false
		}
	}
	if rem != 1 {
		return 0, false
	}
	want, known := ibanLengths[string(iban[:2])]
	if known {
		if want != n {
			return 0, false
		}
		return 1, true
	}
	return 0.8, true
}

func validIPv4(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

func validIPv6(s string) bool {
	if !strings.ContainsAny(s, "0123456789abcdefABCDEF") || strings.Count(s, ":") < 2 {
		return false
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}

func validISODate(text string, m []int) bool {
	y, _ := strconv.Atoi(text[m[2]:m[3]])
	mo, _ := strconv.Atoi(text[m[4]:m[5]])
	d, _ := strconv.Atoi(text[m[6]:m[7]])
	if y < 1900 || y > 2100 || !validDay(mo, d) {
		return false
	}
	if m[8] >= 0 {
		h, _ := strconv.Atoi(text[m[8]:m[9]])
		mi, _ := strconv.Atoi(text[m[10]:m[11]])
		if h > 23 || mi > 59 {
			return false
		}
	}
	return true
}

// validNumericDate accepts a/b/year where either a or b can be the month.
func validNumericDate(a, b string) bool {
	x, _ := strconv.Atoi(a)
	y, _ := strconv.Atoi(b)
	return validDay(x, y) || validDay(y, x)
}

func validDay(month, day int) bool {
	days := [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	return month >= 1 && month <= 12 && day >= 1 && day <= days[month]
}

// knownTLD limits DOMAIN_NAME to real, common top-level domains, so that
// file names (main.py, notes.md are also ccTLDs) and abbreviations (e.g.,
// i.e.) are not reported.
func knownTLD(tld string) bool {
	switch tld {
	case "com", "org", "net", "edu", "gov", "mil", "int", "io", "co", "ai", "app", "dev",
		"info", "biz", "me", "us", "uk", "de", "fr", "es", "it", "nl", "be", "ch", "at",
		"se", "no", "fi", "dk", "pl", "pt", "ie", "eu", "cn", "jp", "kr", "tw", "hk", "sg",
		"in", "au", "nz", "ca", "mx", "br", "ar", "ru", "ua", "tr", "za", "tv", "cloud",
		"tech", "xyz", "online", "site", "store", "shop", "blog", "news", "email", "gmbh":
		return true
	}
	return false
}
