package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrInvalid is wrapped by the error Parse and Load return when the
// document has errors; the Problems carry the details.
var ErrInvalid = errors.New("invalid configuration")

// Parse strictly decodes a canonical v0.3 document, applies defaults and
// validates it. It returns every problem found (errors and warnings). The
// error is non-nil when the document has any error-severity problem; it
// then wraps ErrInvalid and joins the problems. A YAML syntax error is such
// a problem (with the parser's message and line), and so is an empty
// document, a missing version (checked before defaults fill it in) and a
// document that cannot route anything (no model, or neither a decision nor
// a default model). The *Config is returned whenever the YAML could be
// read, so callers can still inspect it. source names the document in
// messages.
func Parse(data []byte, source string) (*Config, Problems, error) {
	cfg, probs, err := decodeDocument(data, source, false)
	if err != nil {
		return nil, probs, err
	}
	if cfg.empty {
		// Nothing else to say about an empty document: every other
		// problem would only restate that it is empty.
		return cfg, probs, fmt.Errorf("%s: %w: %w", sourceName(source), ErrInvalid, probs.Err())
	}
	hinted := false
	if cfg.Version != CanonicalVersion && probs.HasErrors() {
		if kind, apiVersion, ok := foreignManifest(data); ok {
			probs = append(probs, Problem{Severity: SeverityError, Path: "", Line: 1,
				Message: fmt.Sprintf("this is a Kubernetes %s (apiVersion %s), not a semrouter configuration", kind, apiVersion)})
			hinted = true
		} else if shape, err := DetectShape(data); err == nil && shape != ShapeCanonical && shape != ShapeUnknown {
			probs = append(probs, Problem{Severity: SeverityError, Path: "", Line: 1,
				Message: fmt.Sprintf("this is a %s, not a v0.3 config; convert it with: semrouter config migrate --config %s", shape, sourceName(source))})
			hinted = true
		}
	}
	// The document must say its version: checked here, before defaults
	// fill it in. A file recognised as another layout already carries the
	// migrate hint, which says more than "version required".
	if cfg.Version == "" && !hinted {
		probs = append(probs, Problem{Severity: SeverityError, Path: "version", Line: 1,
			Message: fmt.Sprintf("required: start the file with version: %s (convert an older file with `semrouter config migrate`)", CanonicalVersion)})
	}
	ApplyDefaults(cfg)
	probs = append(probs, withoutDecodeErrorPaths(Validate(cfg), probs)...)
	if !hinted {
		probs = append(probs, withoutDecodeErrorPaths(usable(cfg), probs)...)
	}
	probs.Sort()
	if probs.HasErrors() {
		return cfg, probs, fmt.Errorf("%s: %w: %w", sourceName(source), ErrInvalid, probs.Err())
	}
	return cfg, probs, nil
}

// Load reads and parses the file at path (see Parse).
func Load(path string) (*Config, Problems, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read config %q: %w", path, err)
	}
	return Parse(data, path)
}

func sourceName(source string) string {
	if source == "" {
		return "config"
	}
	return source
}

// Decode strictly decodes a canonical document without applying defaults
// or validating (Parse does all three).
func Decode(data []byte, source string) (*Config, Problems, error) {
	return decodeDocument(data, source, false)
}

func decodeDocument(data []byte, source string, lenient bool) (*Config, Problems, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		// checked before parsing: YAML refuses a tab even on a blank line
		cfg := &Config{source: source, lines: map[string]int{}, empty: true}
		probs := Problems{emptyProblem()}
		return cfg, probs, nil
	}
	root, err := parseYAML(data)
	var multi *multiDocumentError
	if errors.As(err, &multi) {
		probs := Problems{multiDocumentProblem(data, source, multi.line)}
		return nil, probs, fmt.Errorf("%s: %w: %w", sourceName(source), ErrInvalid, probs.Err())
	}
	if err != nil {
		probs := Problems{syntaxProblem(err)}
		return nil, probs, fmt.Errorf("%s: %w: %w", sourceName(source), ErrInvalid, probs.Err())
	}
	d := newDecoder(lenient)
	cfg := &Config{}
	if isNull(root) {
		cfg.empty = true
		d.problems = append(d.problems, emptyProblem())
	} else if root.Kind != yaml.MappingNode {
		d.errorf("", root.Line, "expected a mapping at the top level, got %s", describeNode(root))
	} else {
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	cfg.source = source
	cfg.lines = d.lines
	return cfg, d.problems, nil
}

// parseYAML reads a single YAML document into a node tree. It returns nil
// for an empty document.
func parseYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("parse yaml: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &multiDocumentError{line: extra.Line}
	}
	return resolveNode(&doc), nil
}

// multiDocumentError reports a second YAML document (at line) in a file
// that must hold one config.
type multiDocumentError struct{ line int }

func (e *multiDocumentError) Error() string {
	return "parse yaml: more than one document; a config file holds exactly one"
}

// multiDocumentProblem explains a multi-document file: a Kubernetes
// manifest holding a SemanticRouter resource gets the migrate hint.
func multiDocumentProblem(data []byte, source string, line int) Problem {
	if shape, err := DetectShape(data); err == nil && shape == ShapeOperatorResource {
		return Problem{Severity: SeverityError, Line: 1, Message: fmt.Sprintf(
			"this is a multi-document manifest with a %s, not a v0.3 config; convert it with: semrouter config migrate --config %s",
			shape, sourceName(source))}
	}
	return Problem{Severity: SeverityError, Line: line, Message: "more than one YAML document; a config file holds exactly one"}
}

// Source returns the name the config was parsed from.
func (c *Config) Source() string { return c.source }

// Line returns the line of path in the source document, or of its nearest
// ancestor that has one; 0 when unknown (e.g. a config built in code).
func (c *Config) Line(path string) int {
	if c == nil || c.lines == nil {
		return 0
	}
	for p := path; p != ""; p = parentPath(p) {
		if l, ok := c.lines[p]; ok {
			return l
		}
	}
	return 0
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// Node returns the canonical YAML node tree of the config.
func (c *Config) Node() *yaml.Node {
	e := newEncoder()
	n := e.encodeStruct(reflect.ValueOf(c).Elem())
	return n
}

// Marshal writes the canonical YAML form: keys in schema order, map keys
// sorted, unset fields omitted, every field (implemented or not) kept.
func Marshal(c *Config) ([]byte, error) {
	return NodeYAML(c.Node())
}

// MarshalJSON writes the canonical form as JSON (same order as Marshal).
func (c *Config) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := NodeJSON(&buf, c.Node()); err != nil {
		return nil, fmt.Errorf("encode json: %w", err)
	}
	return buf.Bytes(), nil
}

// MarshalJSON writes the canonical form of c as JSON.
func MarshalJSON(c *Config) ([]byte, error) { return c.MarshalJSON() }

// Hash returns a stable content hash of the canonical form
// ("sha256:<hex>"): equal configs hash equally whatever their formatting.
func Hash(c *Config) (string, error) {
	data, err := Marshal(c)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Model returns the provider model named name, or nil.
func (c *Config) Model(name string) *Model {
	for i := range c.Providers.Models {
		if c.Providers.Models[i].Name == name {
			return &c.Providers.Models[i]
		}
	}
	return nil
}

// ModelCard returns the routing model card named name, or nil.
func (c *Config) ModelCard(name string) *ModelCard {
	for i := range c.Routing.ModelCards {
		if c.Routing.ModelCards[i].Name == name {
			return &c.Routing.ModelCards[i]
		}
	}
	return nil
}

// Decision returns the top-level decision named name, or nil.
func (c *Config) Decision(name string) *Decision {
	for i := range c.Routing.Decisions {
		if c.Routing.Decisions[i].Name == name {
			return &c.Routing.Decisions[i]
		}
	}
	return nil
}

// Recipe returns the recipe named name, or nil.
func (c *Config) Recipe(name string) *Recipe {
	for i := range c.Recipes {
		if c.Recipes[i].Name == name {
			return &c.Recipes[i]
		}
	}
	return nil
}

// DefaultAutoModelNames are the model names that ask the router to choose.
func DefaultAutoModelNames() []string { return []string{"auto", "MoM", "vllm-sr/auto"} }

// AutoModelNames returns the model names that trigger routing: the
// configured list (or the defaults) plus the legacy auto_model_name.
func (c *Config) AutoModelNames() []string {
	names := c.Global.Router.AutoModelNames
	if len(names) == 0 {
		names = DefaultAutoModelNames()
	}
	out := append([]string(nil), names...)
	if n := c.Global.Router.AutoModelName; n != "" && !containsString(out, n) {
		out = append(out, n)
	}
	return out
}

// IsAutoModel reports whether a request's model asks the router to choose
// (an auto name or an entrypoint model name).
func (c *Config) IsAutoModel(model string) bool {
	if containsString(c.AutoModelNames(), model) {
		return true
	}
	_, ok := c.EntrypointRecipe(model)
	return ok
}

// EntrypointRecipe returns the recipe name an entrypoint maps model to.
func (c *Config) EntrypointRecipe(model string) (string, bool) {
	for _, ep := range c.Entrypoints {
		if containsString(ep.ModelNames, model) {
			return ep.Recipe, true
		}
	}
	return "", false
}

// RoutingFor returns the routing profile for a recipe name ("" or
// "default" is the top-level routing block), or nil.
func (c *Config) RoutingFor(recipe string) *Routing {
	if recipe == "" || recipe == DefaultRecipe {
		return &c.Routing
	}
	if r := c.Recipe(recipe); r != nil {
		return &r.Routing
	}
	return nil
}

// DefaultRecipe is the name of the implicit recipe formed by the top-level
// routing block.
const DefaultRecipe = "default"

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// withoutDecodeErrorPaths drops validation problems at or below a path
// that already has a decode error (a value that could not be decoded is
// left unset, and reporting that again would only add noise).
func withoutDecodeErrorPaths(vprobs, dprobs Problems) Problems {
	var bad []string
	for _, p := range dprobs {
		if p.Severity == SeverityError {
			bad = append(bad, p.Path)
		}
	}
	if len(bad) == 0 {
		return vprobs
	}
	out := vprobs[:0:0]
next:
	for _, p := range vprobs {
		for _, b := range bad {
			if p.Path == b || strings.HasPrefix(p.Path, b+".") || strings.HasPrefix(p.Path, b+"[") {
				continue next
			}
		}
		out = append(out, p)
	}
	return out
}
