package heuristic

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// isCJK reports whether r is a Han ideograph, Hiragana, Katakana or Hangul
// rune: scripts written without spaces, where every rune carries roughly a
// word (and roughly a token) of content.
func isCJK(r rune) bool {
	if r < 0x1100 { // fast path: Latin, Greek, Cyrillic, …
		return false
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// containsCJK reports whether s has at least one CJK rune.
func containsCJK(s string) bool {
	for _, r := range s {
		if isCJK(r) {
			return true
		}
	}
	return false
}

// isWordRune reports whether r continues a word for boundary purposes.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// TextUnits counts the content-bearing units of text in a way that behaves
// alike across scripts: each CJK rune (Han, Hiragana, Katakana, Hangul) is
// one unit, each maximal run of other letters or digits is one unit, and
// punctuation, symbols and spaces count zero. "Write a table" has three
// units, "写一个表格" five, "用 JSON 写表格" five.
func TextUnits(text string) int {
	n := 0
	inWord := false
	for _, r := range text {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
				if !inWord {
					n++
					inWord = true
				}
			} else {
				inWord = false
			}
			continue
		}
		switch {
		case isCJK(r):
			n++
			inWord = false
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if !inWord {
				n++
				inWord = true
			}
		case unicode.Is(unicode.Mn, r) && inWord:
			// combining marks continue the current word
		default:
			inWord = false
		}
	}
	return n
}

// boundaryOK reports whether text[start:end] is delimited as a whole word:
// where the needle itself begins (ends) with a word rune, the rune before
// (after) it must not be a word rune. Edges made of punctuation ("C++",
// ".NET") need no boundary, so such keywords still match.
func boundaryOK(text string, start, end int, needle string) bool {
	if start > 0 {
		first, _ := utf8.DecodeRuneInString(needle)
		if isWordRune(first) && !isCJK(first) {
			prev, _ := utf8.DecodeLastRuneInString(text[:start])
			if isWordRune(prev) && !isCJK(prev) {
				return false
			}
		}
	}
	if end < len(text) {
		last, _ := utf8.DecodeLastRuneInString(needle)
		if isWordRune(last) && !isCJK(last) {
			next, _ := utf8.DecodeRuneInString(text[end:])
			if isWordRune(next) && !isCJK(next) {
				return false
			}
		}
	}
	return true
}

// countOccurrences counts non-overlapping occurrences of needle in text; with
// wordBoundary, an occurrence counts only when delimited as a whole word.
func countOccurrences(text, needle string, wordBoundary bool) int {
	if needle == "" {
		return 0
	}
	n := 0
	for from := 0; from <= len(text)-len(needle); {
		i := strings.Index(text[from:], needle)
		if i < 0 {
			break
		}
		at := from + i
		if !wordBoundary || boundaryOK(text, at, at+len(needle), needle) {
			n++
		}
		from = at + len(needle)
	}
	return n
}

// containsWord reports whether needle occurs in text (whole word when
// wordBoundary).
func containsWord(text, needle string, wordBoundary bool) bool {
	if needle == "" {
		return false
	}
	for from := 0; from <= len(text)-len(needle); {
		i := strings.Index(text[from:], needle)
		if i < 0 {
			return false
		}
		at := from + i
		if !wordBoundary || boundaryOK(text, at, at+len(needle), needle) {
			return true
		}
		_, size := utf8.DecodeRuneInString(text[at:])
		from = at + size
	}
	return false
}

// span is a byte range [start, end) of a word inside a string.
type span struct{ start, end int }

// appendWords appends the spans of the words of text to dst. A word is a
// maximal run of letters, digits, marks and '_', with inner hyphens and
// apostrophes kept ("well-known", "don't"); CJK runs are kept whole
// (callers that need per-rune units use TextUnits).
func appendWords(dst []span, text string) []span {
	start := -1
	for i, r := range text {
		word := isWordRune(r)
		if !word && (r == '-' || r == '\'') && start >= 0 {
			// keep "well-known" and "don't" together when a word rune follows
			next, _ := utf8.DecodeRuneInString(text[i+utf8.RuneLen(r):])
			word = isWordRune(next)
		}
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			dst = append(dst, span{start, i})
			start = -1
		}
	}
	if start >= 0 {
		dst = append(dst, span{start, len(text)})
	}
	return dst
}
