package grounding

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// splitSentences calls emit with the byte range of each sentence of s,
// trimmed, until emit returns false. A line break always ends a sentence;
// '.', '!' and '?' end one when whitespace (or the end of the line)
// follows, possibly after closing quotes or brackets, except after an
// abbreviation ("e.g.", "Dr.", an initial). A sentence longer than maxLen
// is cut at a space. For an answer (answer true), fenced code blocks and
// markdown headings are skipped: they are not claims.
func splitSentences(s string, answer bool, maxLen int, emit func(start, end int) bool) {
	inFence := false
	for lineStart := 0; lineStart < len(s); {
		lineEnd := len(s)
		if i := strings.IndexByte(s[lineStart:], '\n'); i >= 0 {
			lineEnd = lineStart + i
		}
		next := lineEnd + 1
		if answer {
			t := strings.TrimSpace(s[lineStart:lineEnd])
			if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
				inFence = !inFence
				lineStart = next
				continue
			}
			if inFence || strings.HasPrefix(t, "#") {
				lineStart = next
				continue
			}
		}
		if !splitLine(s, lineStart, lineEnd, maxLen, emit) {
			return
		}
		lineStart = next
	}
}

// splitLine splits s[a:end] (one line) into sentences.
func splitLine(s string, a, end, maxLen int, emit func(start, end int) bool) bool {
	lastSpace := -1
	for i := a; i < end; i++ {
		c := s[i]
		switch c {
		case ' ', '\t':
			lastSpace = i
		case '.', '!', '?':
			j := i + 1
			for j < end {
				if s[j] == '"' || s[j] == ')' || s[j] == '\'' || s[j] == ']' || s[j] == '*' {
					j++
				} else if strings.HasPrefix(s[j:end], "”") || strings.HasPrefix(s[j:end], "’") {
					j += len("”")
				} else {
					break
				}
			}
			if j < end && s[j] != ' ' && s[j] != '\t' {
				continue
			}
			if c == '.' && (abbreviation(s[a:i]) || listMarker(s[a:i])) {
				continue
			}
			if !emitTrimmed(s, a, j, emit) {
				return false
			}
			a, i, lastSpace = j, j-1, -1
			continue
		}
		if i-a >= maxLen {
			cut := i
			if lastSpace > a {
				cut = lastSpace
			}
			for cut > a && !utf8.RuneStart(s[cut]) {
				cut--
			}
			if cut == a {
				cut = i
			}
			if !emitTrimmed(s, a, cut, emit) {
				return false
			}
			a, lastSpace = cut, -1
		}
	}
	return emitTrimmed(s, a, end, emit)
}

func emitTrimmed(s string, a, b int, emit func(start, end int) bool) bool {
	for a < b && isSpace(s[a]) {
		a++
	}
	for b > a && isSpace(s[b-1]) {
		b--
	}
	if a == b {
		return true
	}
	return emit(a, b)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// abbreviation reports whether the text before a '.' ends with an
// abbreviation that does not end a sentence.
func abbreviation(before string) bool {
	i := len(before)
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(before[:i])
		if !unicode.IsLetter(r) && r != '.' {
			break
		}
		i -= size
	}
	w := before[i:]
	if w == "" {
		return false
	}
	if strings.Contains(w, ".") {
		return true // "U.S.", "e.g."
	}
	if utf8.RuneCountInString(w) == 1 {
		// an initial ("J. K. Rowling"), not a unit ("18°C.")
		return i == 0 || before[i-1] == ' ' || before[i-1] == '('
	}
	switch strings.ToLower(w) {
	case "mr", "mrs", "ms", "dr", "st", "vs", "jr", "sr", "inc", "ltd", "co", "corp", "fig", "approx", "no", "vol", "pp", "prof":
		return true
	}
	return false
}

// listMarker reports whether before is a numbered list marker ("1",
// "- 12").
func listMarker(before string) bool {
	t := strings.TrimLeft(before, " \t-*>")
	if t == "" || len(t) > 3 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isDigit(t[i]) {
			return false
		}
	}
	return true
}

// hasWords reports whether s has a letter or a digit.
func hasWords(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}
