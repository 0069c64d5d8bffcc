package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Redacted replaces every secret value the API returns. Writing it back
// unchanged (PUT or PATCH) keeps the stored secret.
const Redacted = "<redacted>"

// IsSecretKey reports whether a mapping key holds a secret: passwords,
// secrets, credentials, authorization values, API/access/private keys and
// tokens. Keys naming where a secret comes from (…_env, …_path, …_file,
// …_header, …_prefix) and counts (max_tokens) are not secrets.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	words := strings.FieldsFunc(k, func(r rune) bool { return r == '_' || r == '-' || r == '.' })
	if len(words) == 0 {
		return false
	}
	switch words[len(words)-1] {
	case "env", "path", "file", "header", "prefix", "name", "type", "mode":
		return false
	}
	for i, w := range words {
		switch w {
		case "password", "passwd", "secret", "credential", "credentials", "authorization", "apikey", "token", "bearer":
			return true
		case "key":
			if i > 0 {
				switch words[i-1] {
				case "api", "access", "private", "secret", "signing", "encryption":
					return true
				}
			}
		}
	}
	return false
}

// IsSecretHeader reports whether an HTTP header named name carries
// credentials (Authorization, Proxy-Authorization, Cookie, X-Api-Key,
// X-Auth-Token, …), so that a configured value for it is redacted.
func IsSecretHeader(name string) bool {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "cookie", "set-cookie":
		return true
	}
	return IsSecretKey(name)
}

// redactNode blanks, in place, every scalar under a secret key.
func redactNode(n *yaml.Node, secret bool) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			redactNode(c, secret)
		}
	case yaml.MappingNode:
		// A {name: <header>, value: …} pair (header_mutation plugins)
		// holds a secret when the header it sets carries credentials.
		secretValue := false
		if name := lookup(n, "name"); name != nil && name.Kind == yaml.ScalarNode {
			secretValue = IsSecretHeader(name.Value)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			redactNode(n.Content[i+1], secret || IsSecretKey(k) || (secretValue && k == "value"))
		}
	case yaml.ScalarNode:
		if secret && n.Tag != "!!null" && n.Value != "" {
			n.Value, n.Tag, n.Style = Redacted, "!!str", 0
		}
	}
}

// RedactYAML returns doc (one YAML document) with its secrets replaced.
func RedactYAML(doc []byte) (*yaml.Node, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(doc, &n); err != nil {
		return nil, fmt.Errorf("parse stored document: %w", err)
	}
	redactNode(&n, false)
	return &n, nil
}

// restoreRedacted puts stored secrets back where a submitted document
// still holds the Redacted placeholder. It edits the text in place (at the
// placeholder's line and column) so that problem lines stay true. It
// returns an error naming the path of a placeholder with no stored value.
func restoreRedacted(doc, stored []byte) ([]byte, error) {
	if !bytes.Contains(doc, []byte(Redacted)) && !bytes.Contains(doc, []byte(`\u003credacted`)) {
		return doc, nil
	}
	var sub, cur yaml.Node
	if err := yaml.Unmarshal(doc, &sub); err != nil {
		return doc, nil // the parser reports it with its line
	}
	_ = yaml.Unmarshal(stored, &cur)
	type edit struct {
		line, col int
		value     string
	}
	var edits []edit
	var missing []string
	var walk func(s, c *yaml.Node, path string)
	walk = func(s, c *yaml.Node, path string) {
		switch s.Kind {
		case yaml.DocumentNode:
			if len(s.Content) > 0 {
				walk(s.Content[0], child(c, 0), path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(s.Content); i += 2 {
				k := s.Content[i].Value
				walk(s.Content[i+1], lookup(c, k), joinPath(path, k))
			}
		case yaml.SequenceNode:
			for i, e := range s.Content {
				walk(e, matchItem(c, e, i), fmt.Sprintf("%s[%d]", path, i))
			}
		case yaml.ScalarNode:
			if s.Value != Redacted {
				return
			}
			if c == nil || c.Kind != yaml.ScalarNode || c.Value == Redacted {
				missing = append(missing, path)
				return
			}
			edits = append(edits, edit{line: s.Line, col: s.Column, value: c.Value})
		}
	}
	if cur.Kind == 0 {
		walk(&sub, nil, "")
	} else {
		walk(&sub, &cur, "")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: %q has no stored value to keep; send the secret itself", strings.Join(missing, ", "), Redacted)
	}
	// Edit right to left so that earlier columns on a line stay true.
	sort.Slice(edits, func(i, j int) bool {
		if edits[i].line != edits[j].line {
			return edits[i].line < edits[j].line
		}
		return edits[i].col > edits[j].col
	})
	lines := bytes.SplitAfter(doc, []byte("\n"))
	for _, e := range edits {
		if e.line < 1 || e.line > len(lines) {
			continue
		}
		l := lines[e.line-1]
		off := runeOffset(l, e.col-1)
		i := bytes.Index(l[off:], []byte(Redacted))
		if i < 0 {
			return nil, fmt.Errorf("line %d: write %q literally to keep a stored secret", e.line, Redacted)
		}
		start, end := off+i, off+i+len(Redacted)
		// Widen over the quotes around the placeholder, if any.
		if start > 0 && end < len(l) && (l[start-1] == '"' || l[start-1] == '\'') && l[end] == l[start-1] {
			start, end = start-1, end+1
		}
		quoted, _ := json.Marshal(e.value)
		nl := append(append(append([]byte{}, l[:start]...), quoted...), l[end:]...)
		lines[e.line-1] = nl
	}
	return bytes.Join(lines, nil), nil
}

func runeOffset(line []byte, runes int) int {
	off := 0
	for i := 0; i < runes && off < len(line); i++ {
		_, size := utf8.DecodeRune(line[off:])
		off += size
	}
	return off
}

func child(n *yaml.Node, i int) *yaml.Node {
	if n == nil || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// matchItem finds the stored list item matching e: the one with the same
// "name" when items are named, else the one at the same index.
func matchItem(seq, e *yaml.Node, i int) *yaml.Node {
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil
	}
	if name := lookup(e, "name"); name != nil {
		for _, c := range seq.Content {
			if n := lookup(c, "name"); n != nil && n.Value == name.Value {
				return c
			}
		}
		return nil
	}
	return child(seq, i)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
