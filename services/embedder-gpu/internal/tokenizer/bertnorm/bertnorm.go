// Package bertnorm is BERT's text normalisation and character classes,
// shared by the WordPiece tokenizer (vocab.txt folders) and the
// tokenizer.json reader: cleanup of control characters and whitespace,
// spaces around CJK ideographs, accent stripping and lowercasing as the
// Hugging Face tokenizers library does them.
package bertnorm

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Options selects the steps of Normalize.
type Options struct {
	// CleanText drops NUL, U+FFFD and control characters and turns every
	// whitespace character into a space.
	CleanText bool
	// ChineseChars puts spaces around CJK ideographs.
	ChineseChars bool
	// StripAccents drops non-spacing marks after NFD.
	StripAccents bool
	// Lowercase applies Lowercase.
	Lowercase bool
}

// Normalize applies the steps o selects, in BERT's order.
func Normalize(text string, o Options) string {
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range text {
		if o.CleanText {
			if r == 0 || r == utf8.RuneError || IsControl(r) {
				continue
			}
			if IsWhitespace(r) {
				r = ' '
			}
		}
		if o.ChineseChars && IsChinese(r) {
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
			continue
		}
		b.WriteRune(r)
	}
	text = b.String()
	if o.StripAccents {
		text = strings.Map(func(r rune) rune {
			if unicode.Is(unicode.Mn, r) {
				return -1
			}
			return r
		}, norm.NFD.String(text))
	}
	if o.Lowercase {
		text = Lowercase(text)
	}
	return text
}

// Lowercase maps every character to its full lowercase mapping, character
// by character (no context rules such as the final sigma), as the Rust
// library and Python's str.lower do: the simple mappings plus
// U+0130 → "i\u0307" (Go's unicode.ToLower gives a plain "i").
func Lowercase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r == '\u0130' {
			b.WriteString("i\u0307")
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// IsWhitespace is BERT's whitespace class.
func IsWhitespace(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r)
}

// IsControl is BERT's control class (tab, newline and carriage return are
// whitespace, not control).
func IsControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// IsPunctuation is BERT's punctuation class: every non-alphanumeric ASCII
// symbol, and Unicode punctuation.
func IsPunctuation(r rune) bool {
	if r < 0x80 {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

// IsChinese reports whether r is a CJK ideograph (the blocks BERT spaces).
func IsChinese(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) || (r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}
