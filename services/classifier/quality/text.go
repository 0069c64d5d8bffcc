package quality

import (
	"fmt"
	"strings"
	"unicode"
)

// TextMode is how a dataset question is turned into the text that is
// embedded. The router embeds the raw user turn, so a head shipped for the
// router is trained with TextRaw; the other modes are experiments the
// training command can compare on the dev split.
type TextMode string

// The text modes.
const (
	TextRaw   TextMode = "raw"   // the question as it is
	TextClean TextMode = "clean" // lower-case, digits and math symbols dropped, spaces collapsed
	TextTail  TextMode = "tail"  // the last sentence(s): at most the final 300 characters
)

// TextModes lists the modes.
func TextModes() []TextMode { return []TextMode{TextRaw, TextClean, TextTail} }

// ParseTextMode checks a mode name.
func ParseTextMode(s string) (TextMode, error) {
	for _, m := range TextModes() {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown text mode %q (want raw, clean or tail)", s)
}

// Apply turns a question into the text to embed.
func (m TextMode) Apply(q string) string {
	switch m {
	case TextClean:
		var b strings.Builder
		space := false
		for _, r := range strings.ToLower(q) {
			if unicode.IsLetter(r) || r == '\'' {
				if space && b.Len() > 0 {
					b.WriteByte(' ')
				}
				space = false
				b.WriteRune(r)
				continue
			}
			if r == '.' || r == '?' || r == ',' {
				b.WriteRune(r)
			}
			space = true
		}
		return b.String()
	case TextTail:
		const keep = 300
		r := []rune(strings.TrimSpace(q))
		if len(r) <= keep {
			return string(r)
		}
		tail := string(r[len(r)-keep:])
		if i := strings.IndexAny(tail, " \n"); i >= 0 {
			tail = tail[i+1:]
		}
		return tail
	}
	return q
}
