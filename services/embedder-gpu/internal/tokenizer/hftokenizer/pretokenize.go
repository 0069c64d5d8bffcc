package hftokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/bertnorm"
)

// preTokenizer splits a normalised segment into words. first is set for the
// segment that starts the text (Metaspace's prepend_scheme "first").
type preTokenizer interface {
	split(dst []string, text string, first bool) []string
}

type preTokenizerJSON struct {
	Type           string            `json:"type"`
	Pretokenizers  []json.RawMessage `json:"pretokenizers"`
	Replacement    *string           `json:"replacement"`
	PrependScheme  *string           `json:"prepend_scheme"`
	AddPrefixSpace *bool             `json:"add_prefix_space"`
	Split          *bool             `json:"split"`
	Pattern        *patternJSON      `json:"pattern"`
	Content        *string           `json:"content"`
}

func parsePreTokenizer(p *problems, path string, raw json.RawMessage) preTokenizer {
	var c preTokenizerJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		p.add(path, err)
		return nil
	}
	switch c.Type {
	case "Whitespace":
		return whitespace{}
	case "WhitespaceSplit":
		return whitespaceSplit{}
	case "BertPreTokenizer":
		return bertPre{}
	case "Metaspace":
		m := metaspace{replacement: "▁", scheme: "always", splitWords: boolOr(c.Split, true)}
		if c.Replacement != nil {
			if utf8.RuneCountInString(*c.Replacement) != 1 {
				p.add(path+".replacement", fmt.Errorf("%q: want one character", *c.Replacement))
			}
			m.replacement = *c.Replacement
		}
		switch {
		case c.PrependScheme != nil:
			m.scheme = *c.PrependScheme
		case c.AddPrefixSpace != nil && !*c.AddPrefixSpace:
			m.scheme = "never"
		}
		switch m.scheme {
		case "always", "first", "never":
		default:
			p.add(path+".prepend_scheme", fmt.Errorf("%q: want always, first or never", m.scheme))
		}
		return m
	case "Replace":
		r := parseReplace(p, path, c.Pattern, c.Content)
		if r == nil {
			return nil
		}
		return replacePre{r}
	case "Sequence":
		var seq sequencePre
		for i, sub := range c.Pretokenizers {
			if isNull(sub) {
				continue
			}
			if s := parsePreTokenizer(p, fmt.Sprintf("%s.pretokenizers[%d]", path, i), sub); s != nil {
				seq = append(seq, s)
			}
		}
		return seq
	case "":
		p.add(path+".type", errors.New("missing"))
	default:
		p.unsupported(path+".type", fmt.Sprintf("%q", c.Type))
	}
	return nil
}

// isWordChar is the Unicode \w class: Alphabetic, marks, decimal digits,
// connector punctuation and join controls.
func isWordChar(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || (r >= '0' && r <= '9') || (r|0x20 >= 'a' && r|0x20 <= 'z')
	}
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.In(r, unicode.Nd, unicode.Nl, unicode.Pc, unicode.Other_Alphabetic, unicode.Join_Control)
}

// whitespace keeps the runs of word characters and the runs of other
// non-space characters (\w+|[^\w\s]+).
type whitespace struct{}

func (whitespace) split(dst []string, text string, _ bool) []string {
	start, kind := 0, 0 // kind: 0 space, 1 word, 2 other
	for i, r := range text {
		k := 2
		switch {
		case isWordChar(r):
			k = 1
		case unicode.IsSpace(r):
			k = 0
		}
		if k != kind {
			if kind != 0 {
				dst = append(dst, text[start:i])
			}
			start, kind = i, k
		}
	}
	if kind != 0 {
		dst = append(dst, text[start:])
	}
	return dst
}

type whitespaceSplit struct{}

func (whitespaceSplit) split(dst []string, text string, _ bool) []string {
	return append(dst, strings.FieldsFunc(text, unicode.IsSpace)...)
}

// bertPre splits on whitespace and isolates every punctuation character.
type bertPre struct{}

func (bertPre) split(dst []string, text string, _ bool) []string {
	start := -1
	for i, r := range text {
		switch {
		case unicode.IsSpace(r):
			if start >= 0 {
				dst = append(dst, text[start:i])
				start = -1
			}
		case bertnorm.IsPunctuation(r):
			if start >= 0 {
				dst = append(dst, text[start:i])
				start = -1
			}
			dst = append(dst, text[i:i+utf8.RuneLen(r)])
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		dst = append(dst, text[start:])
	}
	return dst
}

// metaspace replaces spaces with the replacement character, prepends one
// (scheme always, or first for the text's first segment) unless the text
// already starts with it, and with split cuts before every replacement
// character.
type metaspace struct {
	replacement string
	scheme      string
	splitWords  bool
}

func (m metaspace) split(dst []string, text string, first bool) []string {
	s := strings.ReplaceAll(text, " ", m.replacement)
	if (m.scheme == "always" || (m.scheme == "first" && first)) && !strings.HasPrefix(s, m.replacement) {
		s = m.replacement + s
	}
	if s == "" {
		return dst
	}
	if !m.splitWords {
		return append(dst, s)
	}
	// Cut before every replacement character but a leading one (the
	// character stays with the word that follows it).
	start := 0
	for {
		k := strings.Index(s[start+1:], m.replacement)
		if k < 0 {
			return append(dst, s[start:])
		}
		cut := start + 1 + k
		dst = append(dst, s[start:cut])
		start = cut
	}
}

type replacePre struct{ r *replace }

func (rp replacePre) split(dst []string, text string, _ bool) []string {
	return append(dst, rp.r.normalize(text))
}

type sequencePre []preTokenizer

func (seq sequencePre) split(dst []string, text string, first bool) []string {
	words := []string{text}
	for _, p := range seq {
		var next []string
		for i, w := range words {
			next = p.split(next, w, first && i == 0)
		}
		words = next
	}
	return append(dst, words...)
}
