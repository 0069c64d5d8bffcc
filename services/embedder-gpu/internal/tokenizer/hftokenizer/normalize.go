package hftokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/bertnorm"
)

type normalizer interface {
	normalize(text string) string
}

type normalizerJSON struct {
	Type               string            `json:"type"`
	Normalizers        []json.RawMessage `json:"normalizers"`
	Pattern            *patternJSON      `json:"pattern"`
	Content            *string           `json:"content"`
	Prepend            *string           `json:"prepend"`
	StripLeft          bool              `json:"strip_left"`
	StripRight         bool              `json:"strip_right"`
	CleanText          *bool             `json:"clean_text"`
	HandleChineseChars *bool             `json:"handle_chinese_chars"`
	StripAccents       *bool             `json:"strip_accents"`
	Lowercase          *bool             `json:"lowercase"`
}

type patternJSON struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

func parseNormalizer(p *problems, path string, raw json.RawMessage) normalizer {
	var n normalizerJSON
	if err := json.Unmarshal(raw, &n); err != nil {
		p.add(path, err)
		return nil
	}
	switch n.Type {
	case "NFC":
		return unicodeForm{norm.NFC}
	case "NFD":
		return unicodeForm{norm.NFD}
	case "NFKC":
		return unicodeForm{norm.NFKC}
	case "NFKD":
		return unicodeForm{norm.NFKD}
	case "Lowercase":
		return lowercaseNorm{}
	case "StripAccents":
		return stripAccents{}
	case "Prepend":
		if n.Prepend == nil {
			p.add(path+".prepend", errors.New("missing"))
			return nil
		}
		return prepend(*n.Prepend)
	case "Strip":
		return strip{left: n.StripLeft, right: n.StripRight}
	case "Replace":
		r := parseReplace(p, path, n.Pattern, n.Content)
		if r == nil {
			return nil
		}
		return r
	case "BertNormalizer":
		lower := boolOr(n.Lowercase, true)
		return bertNormalizer{
			cleanText:    boolOr(n.CleanText, true),
			chineseChars: boolOr(n.HandleChineseChars, true),
			stripAccents: boolOr(n.StripAccents, lower), // null follows lowercase
			lowercase:    lower,
		}
	case "Sequence":
		var seq sequenceNorm
		for i, sub := range n.Normalizers {
			if isNull(sub) {
				continue
			}
			if s := parseNormalizer(p, fmt.Sprintf("%s.normalizers[%d]", path, i), sub); s != nil {
				seq = append(seq, s)
			}
		}
		return seq
	case "":
		p.add(path+".type", errors.New("missing"))
	default:
		p.unsupported(path+".type", fmt.Sprintf("%q", n.Type))
	}
	return nil
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// parseReplace builds a Replace normalizer (also used as a pre-tokenizer).
func parseReplace(p *problems, path string, pat *patternJSON, content *string) *replace {
	r := &replace{}
	if content != nil {
		r.content = *content
	}
	switch {
	case pat == nil || (pat.String == nil && pat.Regex == nil):
		p.add(path+".pattern", errors.New("want {\"String\": ...} or {\"Regex\": ...}"))
		return nil
	case pat.String != nil:
		if *pat.String == "" {
			p.add(path+".pattern.String", errors.New("empty"))
			return nil
		}
		r.literal = *pat.String
	default:
		re, err := regexp.Compile(*pat.Regex)
		if err != nil {
			p.add(path+".pattern.Regex", fmt.Errorf("%v: %w", err, ErrUnsupported))
			return nil
		}
		r.re = re
	}
	return r
}

type unicodeForm struct{ form norm.Form }

func (u unicodeForm) normalize(s string) string { return u.form.String(s) }

type lowercaseNorm struct{}

func (lowercaseNorm) normalize(s string) string { return lowercase(s) }

// lowercase is BERT's full lowercase mapping (bertnorm.Lowercase).
func lowercase(s string) string { return bertnorm.Lowercase(s) }

type stripAccents struct{}

// normalize drops every combining mark (Mn, Mc, Me); it does not decompose,
// so it is used after NFD or NFKD.
func (stripAccents) normalize(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsMark(r) {
			return -1
		}
		return r
	}, s)
}

type prepend string

// normalize prepends to a non-empty text.
func (p prepend) normalize(s string) string {
	if s == "" {
		return s
	}
	return string(p) + s
}

type strip struct{ left, right bool }

func (st strip) normalize(s string) string {
	if st.left {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if st.right {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

type replace struct {
	literal string
	re      *regexp.Regexp
	content string
}

func (r *replace) normalize(s string) string {
	if r.re != nil {
		return r.re.ReplaceAllLiteralString(s, r.content)
	}
	return strings.ReplaceAll(s, r.literal, r.content)
}

type sequenceNorm []normalizer

func (seq sequenceNorm) normalize(s string) string {
	for _, n := range seq {
		s = n.normalize(s)
	}
	return s
}

// bertNormalizer is BERT's cleanup: drop NUL, U+FFFD and control
// characters, whitespace to spaces, spaces around CJK ideographs, strip
// non-spacing marks after NFD, lowercase.
type bertNormalizer struct {
	cleanText, chineseChars, stripAccents, lowercase bool
}

func (bn bertNormalizer) normalize(text string) string {
	return bertnorm.Normalize(text, bertnorm.Options{CleanText: bn.cleanText, ChineseChars: bn.chineseChars,
		StripAccents: bn.stripAccents, Lowercase: bn.lowercase})
}
