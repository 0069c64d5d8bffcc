package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"gopkg.in/yaml.v3"
)

// Shape is the layout of a configuration document.
type Shape int

const (
	// ShapeUnknown is not a configuration this package recognises.
	ShapeUnknown Shape = iota
	// ShapeCanonical is the v0.3 contract (version/listeners/providers/routing/global).
	ShapeCanonical
	// ShapeLegacyFlat is the flat v0.1 router config (vllm_endpoints,
	// model_config, categories, keyword_rules, semantic_cache, bert_model, ...).
	ShapeLegacyFlat
	// ShapeLegacyCLI is the v0.2 CLI layout (top-level signals/decisions,
	// providers with inline endpoints, routing.models, ...).
	ShapeLegacyCLI
	// ShapeOperatorConfig is the operator's flat spec.config schema
	// (prompt_guard, response_cache, tools, classifier, embedding_models, ...).
	ShapeOperatorConfig
	// ShapeOperatorResource is a (multi-document) Kubernetes manifest with a
	// kind: SemanticRouter resource.
	ShapeOperatorResource
)

// String names the shape.
func (s Shape) String() string {
	switch s {
	case ShapeCanonical:
		return "canonical v0.3"
	case ShapeLegacyFlat:
		return "legacy v0.1 flat config"
	case ShapeLegacyCLI:
		return "legacy v0.2 CLI config"
	case ShapeOperatorConfig:
		return "operator spec.config"
	case ShapeOperatorResource:
		return "SemanticRouter resource"
	}
	return "unknown"
}

// ErrUnknownShape is returned when a document is not a recognised config.
var ErrUnknownShape = errors.New("unrecognised configuration layout")

type obj = map[string]any

// readDocuments decodes every YAML document of data.
func readDocuments(data []byte) ([]obj, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []obj
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse yaml: %w", err)
		}
		if v == nil {
			continue
		}
		m, ok := normalizeAny(v).(map[string]any)
		if !ok {
			return nil, fmt.Errorf("parse yaml: document %d is not a mapping", len(docs)+1)
		}
		docs = append(docs, m)
	}
	return docs, nil
}

// Keys that identify a layout.
func flatKeys() []string {
	return []string{"vllm_endpoints", "model_config", "categories", "keyword_rules", "embedding_rules",
		"bert_model", "semantic_cache", "provider_profiles"}
}

func cliKeys() []string { return []string{"signals", "decisions", "providers", "listeners", "routing"} }

func operatorKeys() []string {
	return []string{"prompt_guard", "response_cache", "tools", "classifier", "embedding_models",
		"reasoning_families", "default_reasoning_effort", "complexity_rules", "observability", "api",
		"strategy", "default_model"}
}

// DetectShape says which layout data has.
func DetectShape(data []byte) (Shape, error) {
	docs, err := readDocuments(data)
	if err != nil {
		return ShapeUnknown, err
	}
	return detectDocs(docs), nil
}

func detectDocs(docs []obj) Shape {
	for _, d := range docs {
		if d["kind"] == "SemanticRouter" {
			return ShapeOperatorResource
		}
	}
	if len(docs) != 1 {
		return ShapeUnknown
	}
	if _, _, ok := manifestKind(docs[0]); ok {
		return ShapeUnknown // another Kubernetes object (e.g. the CRD itself)
	}
	return detectMap(docs[0])
}

// manifestKind returns the kind and apiVersion of a Kubernetes object
// (a document with both keys as strings).
func manifestKind(d obj) (kind, apiVersion string, ok bool) {
	kind, kok := d["kind"].(string)
	apiVersion, aok := d["apiVersion"].(string)
	return kind, apiVersion, kok && aok && kind != "" && apiVersion != ""
}

// foreignManifest reports whether data is a single Kubernetes object other
// than a SemanticRouter (a CustomResourceDefinition, a Deployment, ...).
func foreignManifest(data []byte) (kind, apiVersion string, ok bool) {
	docs, err := readDocuments(data)
	if err != nil || len(docs) != 1 {
		return "", "", false
	}
	kind, apiVersion, ok = manifestKind(docs[0])
	return kind, apiVersion, ok && kind != "SemanticRouter"
}

func detectMap(d obj) Shape {
	if v, _ := d["version"].(string); v == CanonicalVersion {
		return ShapeCanonical
	}
	if hasAny(d, "providers", "listeners", "signals") {
		return ShapeLegacyCLI
	}
	if hasAny(d, flatKeys()...) {
		return ShapeLegacyFlat
	}
	if hasAny(d, cliKeys()...) {
		return ShapeLegacyCLI
	}
	if hasAny(d, operatorKeys()...) {
		return ShapeOperatorConfig
	}
	for k := range d {
		if _, ok := legacySignalKeys()[k]; ok {
			return ShapeLegacyFlat
		}
	}
	return ShapeUnknown
}

func hasAny(d obj, keys ...string) bool {
	for _, k := range keys {
		if _, ok := d[k]; ok {
			return true
		}
	}
	return false
}

// Migrate converts a legacy document (v0.1 flat, v0.2 CLI, the operator's
// spec.config, or a whole SemanticRouter manifest) to canonical v0.3 YAML.
// A canonical input is normalised. The returned problems are warnings about
// what was renamed, synthesised or dropped, plus any validation problems of
// the result; the error is non-nil when the input cannot be migrated or the
// result does not validate (the YAML is still returned in that case).
func Migrate(data []byte) ([]byte, Problems, error) {
	docs, err := readDocuments(data)
	if err != nil {
		return nil, nil, err
	}
	shape := detectDocs(docs)
	m := &migration{}
	var canonical obj
	switch shape {
	case ShapeCanonical:
		canonical = docs[0]
	case ShapeLegacyFlat, ShapeLegacyCLI, ShapeOperatorConfig:
		canonical = m.migrateLegacy(docs[0], nil, "")
	case ShapeOperatorResource:
		canonical, err = m.migrateResource(docs)
		if err != nil {
			return nil, m.probs, err
		}
	default:
		if len(docs) == 1 {
			if kind, apiVersion, ok := manifestKind(docs[0]); ok {
				return nil, nil, fmt.Errorf("%w: a Kubernetes %s (apiVersion %s) holds no router configuration; expected a v0.3 config, a legacy router config or a SemanticRouter resource", ErrUnknownShape, kind, apiVersion)
			}
		}
		return nil, nil, fmt.Errorf("%w: expected a v0.3 config, a legacy router config or a SemanticRouter resource", ErrUnknownShape)
	}
	out, probs, err := m.finish(canonical)
	return out, probs, err
}

// finish decodes the migrated tree leniently (quoted numbers accepted,
// unknown keys dropped with a warning), writes it canonically and
// validates the result.
func (m *migration) finish(canonical obj) ([]byte, Problems, error) {
	raw, err := yaml.Marshal(canonical)
	if err != nil {
		return nil, m.probs, fmt.Errorf("encode migrated config: %w", err)
	}
	cfg, probs, err := decodeDocument(raw, "migrated", true)
	if err != nil {
		return nil, m.probs, err
	}
	for _, p := range probs {
		p.Line = 0 // lines of the intermediate document mean nothing to the user
		m.probs = append(m.probs, p)
	}
	if probs.HasErrors() {
		return nil, m.probs, fmt.Errorf("migrate: %w", probs.Err())
	}
	out, err := Marshal(cfg)
	if err != nil {
		return nil, m.probs, err
	}
	_, vprobs, verr := Parse(out, "migrated")
	for _, p := range vprobs {
		p.Line = 0 // paths name the migrated document; it has no lines yet
		m.probs = append(m.probs, p)
	}
	sort.SliceStable(m.probs, func(i, j int) bool { return m.probs[i].Severity < m.probs[j].Severity })
	if verr != nil {
		return out, m.probs, fmt.Errorf("migrated config does not validate: %w", verr)
	}
	return out, m.probs, nil
}

type migration struct {
	probs Problems
}

func (m *migration) warnf(path, format string, args ...any) {
	m.probs = append(m.probs, Problem{Severity: SeverityWarning, Path: path, Message: fmt.Sprintf(format, args...)})
}

// Helpers over generic maps.

func asMap(v any) obj {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

func ensureMap(m obj, key string) obj {
	if c := asMap(m[key]); c != nil {
		return c
	}
	c := obj{}
	m[key] = c
	return c
}

func setIfMissing(m obj, key string, v any) {
	if _, ok := m[key]; ok || isEmpty(v) {
		return
	}
	m[key] = v
}
