package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// nodeUnmarshaler is implemented by types that decode themselves from a
// YAML node (unions such as plugins, and typed scalars such as Duration).
type nodeUnmarshaler interface {
	unmarshalNode(d *decoder, n *yaml.Node, path string)
}

// decoder is the strict reflective decoder over yaml.Node. It never stops at
// the first problem: every unknown key and type mismatch is collected with
// its path and line.
type decoder struct {
	problems Problems
	lines    map[string]int
	infos    map[reflect.Type]*structInfo
	// lenient (used by Migrate): unknown keys become warnings and are
	// dropped, and quoted numbers/booleans are accepted for typed fields.
	lenient bool
	// alias bookkeeping: aliases being expanded (to refuse cycles) and
	// the number expanded so far (to refuse alias bombs).
	expanding map[*yaml.Node]bool
	aliases   int
}

// maxAliasExpansions bounds the work a document full of aliases can cause.
const maxAliasExpansions = 10000

func newDecoder(lenient bool) *decoder {
	return &decoder{
		lines:     map[string]int{},
		infos:     map[reflect.Type]*structInfo{},
		lenient:   lenient,
		expanding: map[*yaml.Node]bool{},
	}
}

type fieldInfo struct {
	name   string
	index  int
	inline bool
	mark   string // value of the `sr` tag: "signal" or "unimplemented"
	note   string // value of the `srnote` tag: why a marked field has no effect
}

type structInfo struct {
	fields []fieldInfo
	byName map[string]int // name -> position in fields
	inline int            // position of the inline catch-all map, or -1
}

func (d *decoder) info(t reflect.Type) *structInfo {
	if si, ok := d.infos[t]; ok {
		return si
	}
	si := typeInfo(t)
	d.infos[t] = si
	return si
}

// typeInfo reads the yaml and sr tags of a struct type.
func typeInfo(t reflect.Type) *structInfo {
	si := &structInfo{byName: map[string]int{}, inline: -1}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fi := fieldInfo{name: name, index: i, mark: f.Tag.Get("sr"), note: f.Tag.Get("srnote")}
		if strings.Contains(opts, "inline") {
			fi.inline = true
			si.inline = len(si.fields)
		} else if name == "" {
			fi.name = strings.ToLower(f.Name)
		}
		if !fi.inline {
			si.byName[fi.name] = len(si.fields)
		}
		si.fields = append(si.fields, fi)
	}
	return si
}

func (d *decoder) errorf(path string, line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{Severity: SeverityError, Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) warnf(path string, line int, format string, args ...any) {
	d.problems = append(d.problems, Problem{Severity: SeverityWarning, Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
}

// joinKey appends a mapping key to a path.
func joinKey(path, key string) string {
	if strings.ContainsAny(key, ". []\"'") || key == "" {
		key = strconv.Quote(key)
		return path + "[" + key + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func joinIndex(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

func resolveNode(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
			continue
		}
		if len(n.Content) == 0 {
			return nil
		}
		n = n.Content[0]
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return fmt.Sprintf("string %q", n.Value)
		case "!!int", "!!float":
			return "number " + n.Value
		case "!!bool":
			return "boolean " + n.Value
		}
		return n.Value
	}
	return "an unsupported node"
}

// decode fills v (settable) from n, recording problems under path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n != nil && n.Kind == yaml.AliasNode {
		if d.expanding[n] {
			d.errorf(path, n.Line, "alias *%s refers to itself", n.Value)
			return
		}
		d.aliases++
		if d.aliases > maxAliasExpansions {
			if d.aliases == maxAliasExpansions+1 {
				d.errorf(path, n.Line, "too many alias expansions (more than %d)", maxAliasExpansions)
			}
			return
		}
		d.expanding[n] = true
		defer delete(d.expanding, n)
		d.decode(n.Alias, v, path)
		return
	}
	n = resolveNode(n)
	if n == nil {
		return
	}
	if _, seen := d.lines[path]; !seen {
		d.lines[path] = n.Line
	}
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(nodeUnmarshaler); ok {
			u.unmarshalNode(d, n, path)
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errorf(path, n.Line, "expected a sequence, got %s", describeNode(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), joinIndex(path, i))
		}
		v.Set(s)
	case reflect.Map:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.errorf(path, n.Line, "expected a mapping, got %s", describeNode(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			kp := joinKey(path, k.Value)
			if seen[k.Value] {
				d.errorf(kp, k.Line, "duplicate key")
				continue
			}
			seen[k.Value] = true
			d.lines[kp] = k.Line
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, kp)
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), ev)
		}
		v.Set(m)
	case reflect.Interface:
		if isNull(n) {
			return
		}
		var out any
		if err := n.Decode(&out); err != nil {
			d.errorf(path, n.Line, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(normalizeAny(out)))
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(path, n.Line, "expected a mapping, got %s", describeNode(n))
		return
	}
	si := d.info(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		kp := joinKey(path, k.Value)
		if k.Kind != yaml.ScalarNode {
			d.errorf(path, k.Line, "mapping keys must be strings")
			continue
		}
		if k.ShortTag() == "!!merge" {
			// YAML merge key: decode the merged mapping(s) into this struct.
			m := resolveNode(val)
			if m != nil && m.Kind == yaml.SequenceNode {
				for _, item := range m.Content {
					d.decode(item, v, path)
				}
			} else {
				d.decode(val, v, path)
			}
			continue
		}
		if seen[k.Value] {
			d.errorf(kp, k.Line, "duplicate key")
			continue
		}
		seen[k.Value] = true
		d.lines[kp] = k.Line
		pos, ok := si.byName[k.Value]
		if !ok {
			if si.inline >= 0 {
				fv := v.Field(si.fields[si.inline].index)
				if fv.IsNil() {
					fv.Set(reflect.MakeMap(fv.Type()))
				}
				ev := reflect.New(fv.Type().Elem()).Elem()
				d.decode(val, ev, kp)
				fv.SetMapIndex(reflect.ValueOf(k.Value), ev)
				continue
			}
			if d.lenient {
				d.warnf(kp, k.Line, "dropped: not part of the v0.3 schema")
				continue
			}
			d.errorf(kp, k.Line, "unknown field")
			continue
		}
		d.decode(val, v.Field(si.fields[pos].index), kp)
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(path, n.Line, "expected %s, got %s", kindName(v.Kind()), describeNode(n))
		return
	}
	tag := n.ShortTag()
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		if tag == "!!bool" || (d.lenient && tag == "!!str") {
			b, err := parseBool(n.Value)
			if err == nil {
				v.SetBool(b)
				return
			}
		}
		d.errorf(path, n.Line, "expected a boolean, got %s", describeNode(n))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if tag == "!!int" || tag == "!!float" || (d.lenient && tag == "!!str") {
			f, err := parseNumber(n.Value)
			if err == nil && f == math.Trunc(f) && !v.OverflowInt(int64(f)) {
				v.SetInt(int64(f))
				return
			}
		}
		d.errorf(path, n.Line, "expected an integer, got %s", describeNode(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if tag == "!!int" || (d.lenient && tag == "!!str") {
			f, err := parseNumber(n.Value)
			if err == nil && f >= 0 && f == math.Trunc(f) && !v.OverflowUint(uint64(f)) {
				v.SetUint(uint64(f))
				return
			}
		}
		d.errorf(path, n.Line, "expected a non-negative integer, got %s", describeNode(n))
	case reflect.Float32, reflect.Float64:
		if tag == "!!int" || tag == "!!float" || (d.lenient && tag == "!!str") {
			f, err := parseNumber(n.Value)
			if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
				v.SetFloat(f)
				return
			}
		}
		d.errorf(path, n.Line, "expected a number, got %s", describeNode(n))
	default:
		d.errorf(path, n.Line, "cannot decode into %s", v.Type())
	}
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Float32, reflect.Float64:
		return "a number"
	default:
		return "an integer"
	}
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", s)
}

func parseNumber(s string) (float64, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return float64(i), nil
	}
	return strconv.ParseFloat(s, 64)
}

// normalizeAny turns the generic values yaml.v3 produces into JSON-friendly
// ones (map[string]any with string keys).
func normalizeAny(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalizeAny(e)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = normalizeAny(e)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = normalizeAny(e)
		}
		return t
	}
	return v
}
