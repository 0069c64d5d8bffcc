package grounding

import (
	"strings"

	"github.com/tidwall/gjson"
)

// passageText returns the text of a passage to check against: a JSON
// tool result is flattened into "key value, key value" lines (one per
// object of an array), which both the lexical checks and the sentence
// embedder read far better than JSON syntax; any other passage is
// returned as is.
func passageText(p string) string {
	t := strings.TrimSpace(p)
	if t == "" || (t[0] != '{' && t[0] != '[') || !gjson.Valid(t) {
		return p
	}
	b := flattenJSON(make([]byte, 0, len(t)), gjson.Parse(t), "")
	return string(b)
}

func flattenJSON(dst []byte, v gjson.Result, prefix string) []byte {
	switch {
	case v.IsObject():
		v.ForEach(func(k, val gjson.Result) bool {
			dst = flattenJSON(dst, val, joinKey(prefix, k.Str))
			return true
		})
	case v.IsArray():
		v.ForEach(func(_, el gjson.Result) bool {
			if el.IsObject() || el.IsArray() {
				dst = endLine(dst)
				dst = flattenJSON(dst, el, prefix)
				dst = endLine(dst)
				return true
			}
			return appendScalar(&dst, prefix, el)
		})
	default:
		appendScalar(&dst, prefix, v)
	}
	return dst
}

func appendScalar(dst *[]byte, prefix string, v gjson.Result) bool {
	s := v.String()
	if v.Type == gjson.Null || s == "" {
		return true
	}
	if len(*dst) > 0 && (*dst)[len(*dst)-1] != '\n' {
		*dst = append(*dst, ", "...)
	}
	if prefix != "" {
		*dst = append(*dst, prefix...)
		*dst = append(*dst, ' ')
	}
	*dst = append(*dst, s...)
	return true
}

// endLine ends the current line (a sentence of the flattened passage).
func endLine(dst []byte) []byte {
	if len(dst) > 0 && dst[len(dst)-1] != '\n' {
		dst = append(dst, '\n')
	}
	return dst
}

// joinKey joins a key path with spaces, underscores and hyphens as spaces
// ("temperature_c" reads "temperature c").
func joinKey(prefix, k string) string {
	k = strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return ' '
		}
		return r
	}, k)
	if prefix == "" {
		return k
	}
	return prefix + " " + k
}
