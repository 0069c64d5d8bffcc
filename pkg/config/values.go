package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a duration written as a Go duration string ("300s", "1m30s")
// or a bare number of seconds. The text as written is kept for round trips.
type Duration struct {
	d    time.Duration
	text string
}

// NewDuration returns a Duration for d, written in Go's notation.
func NewDuration(d time.Duration) Duration { return Duration{d: d, text: d.String()} }

// Std returns the parsed value.
func (d Duration) Std() time.Duration { return d.d }

// IsSet reports whether a value was given.
func (d Duration) IsSet() bool { return d.text != "" }

// String returns the text as written.
func (d Duration) String() string { return d.text }

// ParseDuration reads "300s", "10m", "1h" or a bare number of seconds.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return Duration{}, fmt.Errorf("empty duration")
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		if f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return Duration{}, fmt.Errorf("duration %q must be a non-negative number of seconds", s)
		}
		return Duration{d: time.Duration(f * float64(time.Second)), text: t}, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return Duration{}, fmt.Errorf("duration %q: write it like 300s, 10m or 1h", s)
	}
	if d < 0 {
		return Duration{}, fmt.Errorf("duration %q must not be negative", s)
	}
	return Duration{d: d, text: t}, nil
}

func (d *Duration) unmarshalNode(dec *decoder, n *yaml.Node, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode {
		dec.errorf(path, n.Line, "expected a duration, got %s", describeNode(n))
		return
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		dec.errorf(path, n.Line, "%v", err)
		return
	}
	*d = v
}

func (d Duration) marshalNode(*encoder) *yaml.Node {
	if d.text == "" {
		return nil
	}
	if _, err := strconv.ParseFloat(d.text, 64); err == nil {
		return scalarNode("", d.text)
	}
	return strNode(d.text)
}

// TokenCount is a token count written as an integer or with a K (thousand)
// or M (million) suffix: 32K is 32000. The text as written is kept.
type TokenCount struct {
	n    int64
	text string
}

// NewTokenCount returns a TokenCount of n tokens.
func NewTokenCount(n int64) TokenCount { return TokenCount{n: n, text: strconv.FormatInt(n, 10)} }

// Value returns the number of tokens.
func (t TokenCount) Value() int64 { return t.n }

// IsSet reports whether a value was given.
func (t TokenCount) IsSet() bool { return t.text != "" }

// String returns the text as written.
func (t TokenCount) String() string { return t.text }

// ParseTokenCount reads "4000", "32K", "1.5M".
func ParseTokenCount(s string) (TokenCount, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := 1.0
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1e3, strings.TrimSuffix(t, "K")
	case strings.HasSuffix(t, "M"):
		mult, t = 1e6, strings.TrimSuffix(t, "M")
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return TokenCount{}, fmt.Errorf("token count %q: write it like 4000, 32K or 1M", s)
	}
	if f < 0 {
		return TokenCount{}, fmt.Errorf("token count %q must not be negative", s)
	}
	v := f * mult
	if v > float64(math.MaxInt64/2) {
		return TokenCount{}, fmt.Errorf("token count %q is too large", s)
	}
	return TokenCount{n: int64(v), text: strings.TrimSpace(s)}, nil
}

func (t *TokenCount) unmarshalNode(dec *decoder, n *yaml.Node, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode {
		dec.errorf(path, n.Line, "expected a token count, got %s", describeNode(n))
		return
	}
	v, err := ParseTokenCount(n.Value)
	if err != nil {
		dec.errorf(path, n.Line, "%v", err)
		return
	}
	*t = v
}

func (t TokenCount) marshalNode(*encoder) *yaml.Node {
	if t.text == "" {
		return nil
	}
	if _, err := strconv.ParseInt(t.text, 10, 64); err == nil {
		return scalarNode("!!int", t.text)
	}
	return strNode(t.text)
}

// boolOr returns *p, or def when p is nil.
func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// Ptr returns a pointer to v (handy for building configs in code).
func Ptr[T any](v T) *T { return &v }
