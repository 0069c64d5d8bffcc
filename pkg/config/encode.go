package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"
)

// nodeMarshaler is implemented by types that write themselves as a YAML node.
// Returning nil omits the value.
type nodeMarshaler interface {
	marshalNode(e *encoder) *yaml.Node
}

// encoder writes Go values back as the canonical YAML tree: struct fields in
// declaration order, zero values omitted (pointers, slices and maps that are
// set are always written so presence survives a round trip), map keys sorted.
type encoder struct {
	infos map[reflect.Type]*structInfo
}

func newEncoder() *encoder { return &encoder{infos: map[reflect.Type]*structInfo{}} }

func (e *encoder) info(t reflect.Type) *structInfo {
	if si, ok := e.infos[t]; ok {
		return si
	}
	si := typeInfo(t)
	e.infos[t] = si
	return si
}

func scalarNode(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

func strNode(s string) *yaml.Node { return scalarNode("!!str", s) }

func mapNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

func seqNode() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"} }

func addPair(m *yaml.Node, key string, val *yaml.Node) {
	m.Content = append(m.Content, strNode(key), val)
}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// encode returns the node for v, or nil when v is omitted.
func (e *encoder) encode(v reflect.Value) *yaml.Node {
	if !v.IsValid() {
		return nil
	}
	if v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface {
		if m, ok := v.Interface().(nodeMarshaler); ok {
			return m.marshalNode(e)
		}
		if v.CanAddr() {
			if m, ok := v.Addr().Interface().(nodeMarshaler); ok {
				return m.marshalNode(e)
			}
		} else if reflect.PointerTo(v.Type()).Implements(reflect.TypeFor[nodeMarshaler]()) {
			p := reflect.New(v.Type())
			p.Elem().Set(v)
			return p.Interface().(nodeMarshaler).marshalNode(e)
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		n := e.encode(v.Elem())
		if n == nil {
			n = e.zeroNode(v.Elem())
		}
		return n
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return e.encodeAny(v.Elem().Interface())
	case reflect.Struct:
		m := e.encodeStruct(v)
		if len(m.Content) == 0 {
			return nil
		}
		return m
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		s := seqNode()
		if v.Len() == 0 {
			s.Style = yaml.FlowStyle
		}
		for i := 0; i < v.Len(); i++ {
			n := e.encode(v.Index(i))
			if n == nil {
				n = e.zeroNode(v.Index(i))
			}
			s.Content = append(s.Content, n)
		}
		return s
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		m := mapNode()
		if v.Len() == 0 {
			m.Style = yaml.FlowStyle
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			n := e.encode(v.MapIndex(k))
			if n == nil {
				n = e.zeroNode(v.MapIndex(k))
			}
			addPair(m, k.String(), n)
		}
		return m
	case reflect.String:
		if v.String() == "" {
			return nil
		}
		return strNode(v.String())
	case reflect.Bool:
		if !v.Bool() {
			return nil
		}
		return scalarNode("!!bool", "true")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Int() == 0 {
			return nil
		}
		return scalarNode("!!int", strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() == 0 {
			return nil
		}
		return scalarNode("!!int", strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		if v.Float() == 0 {
			return nil
		}
		return scalarNode("", formatFloat(v.Float()))
	}
	return nil
}

// zeroNode writes an explicitly present zero value (a set pointer, a slice
// element) so that it is not lost.
func (e *encoder) zeroNode(v reflect.Value) *yaml.Node {
	switch v.Kind() {
	case reflect.Struct, reflect.Map:
		m := mapNode()
		if v.Kind() == reflect.Struct {
			m = e.encodeStruct(v)
		}
		if len(m.Content) == 0 {
			m.Style = yaml.FlowStyle
		}
		return m
	case reflect.Slice:
		s := seqNode()
		s.Style = yaml.FlowStyle
		return s
	case reflect.String:
		return strNode("")
	case reflect.Bool:
		return scalarNode("!!bool", "false")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return scalarNode("!!int", "0")
	case reflect.Float32, reflect.Float64:
		return scalarNode("", "0")
	}
	return scalarNode("!!null", "null")
}

func (e *encoder) encodeStruct(v reflect.Value) *yaml.Node {
	m := mapNode()
	si := e.info(v.Type())
	for _, f := range si.fields {
		fv := v.Field(f.index)
		if f.inline {
			iter := e.encode(fv)
			if iter != nil {
				m.Content = append(m.Content, iter.Content...)
			}
			continue
		}
		n := e.encode(fv)
		if n == nil {
			continue
		}
		addPair(m, f.name, n)
	}
	return m
}

// encodeAny writes a generic value (from a free-form field).
func (e *encoder) encodeAny(v any) *yaml.Node {
	switch t := v.(type) {
	case nil:
		return scalarNode("!!null", "null")
	case map[string]any:
		m := mapNode()
		if len(t) == 0 {
			m.Style = yaml.FlowStyle
		}
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			addPair(m, k, e.encodeAny(t[k]))
		}
		return m
	case []any:
		s := seqNode()
		if len(t) == 0 {
			s.Style = yaml.FlowStyle
		}
		for _, x := range t {
			s.Content = append(s.Content, e.encodeAny(x))
		}
		return s
	case string:
		return strNode(t)
	case bool:
		return scalarNode("!!bool", strconv.FormatBool(t))
	case int:
		return scalarNode("!!int", strconv.Itoa(t))
	case int64:
		return scalarNode("!!int", strconv.FormatInt(t, 10))
	case uint64:
		return scalarNode("!!int", strconv.FormatUint(t, 10))
	case float64:
		return scalarNode("!!float", formatFloatTagged(t))
	}
	rv := reflect.ValueOf(v)
	if n := e.encode(rv); n != nil {
		return n
	}
	return e.zeroNode(rv)
}

// formatFloatTagged keeps a float recognisable as a float in free-form data.
func formatFloatTagged(f float64) string {
	s := formatFloat(f)
	for _, c := range s {
		if c == '.' || c == 'e' || c == 'E' {
			return s
		}
	}
	return s + ".0"
}

// NodeYAML writes a node tree (a document or any node) as YAML with a
// two-space indent.
func NodeYAML(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if n.Kind != yaml.DocumentNode {
		n = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{n}}
	}
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// NodeJSON writes a node tree as JSON, keeping mapping order. Strings are
// not HTML-escaped (a redacted "<redacted>" stays readable); NaN and
// infinities, which JSON lacks, are written as their YAML text.
func NodeJSON(buf *bytes.Buffer, n *yaml.Node) error {
	n = resolveNode(n)
	if n == nil {
		buf.WriteString("null")
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, n.Content[i].Value)
			buf.WriteByte(':')
			if err := NodeJSON(buf, n.Content[i+1]); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := NodeJSON(buf, c); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			buf.WriteString("null")
		case "!!bool":
			b, err := parseBool(n.Value)
			if err != nil {
				return err
			}
			buf.WriteString(strconv.FormatBool(b))
		case "!!int", "!!float":
			f, err := parseNumber(n.Value)
			switch {
			case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
				writeJSONString(buf, n.Value)
			case f == float64(int64(f)) && n.ShortTag() == "!!int":
				buf.WriteString(strconv.FormatInt(int64(f), 10))
			default:
				buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
			}
		default:
			writeJSONString(buf, n.Value)
		}
	default:
		return fmt.Errorf("unsupported yaml node kind %d", n.Kind)
	}
	return nil
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	buf.Truncate(buf.Len() - 1) // Encode ends with a newline
}
