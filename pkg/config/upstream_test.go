package config

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// upstreamKind says what an upstream fixture is and so what the loader
// must do with it.
type upstreamKind int

const (
	// a canonical v0.3 config: validates with no errors and round-trips
	upstreamCanonical upstreamKind = iota
	// a SemanticRouter manifest: Parse rejects it with the migrate hint
	// only; Migrate converts it to a config that validates and round-trips
	upstreamOperator
	// not a configuration at all (the CRD): Parse rejects it naming the
	// kind; Migrate refuses it with ErrUnknownShape
	upstreamForeign
)

// upstreamExpectation is one row of the fixture table.
type upstreamExpectation struct {
	kind upstreamKind
	// errs is the exact set of "path: message" errors Parse must report
	// (only for samples that are not canonical configs); reason says why
	// they are expected.
	errs   []string
	reason string
}

// upstreamExpectations lists every YAML file under the upstream fixture
// folder (relative path). A fixture missing from the table fails the test,
// so a new fixture gets a deliberate expectation.
func upstreamExpectations() map[string]upstreamExpectation {
	operatorSingle := upstreamExpectation{
		kind:   upstreamOperator,
		reason: "a SemanticRouter custom resource, not a v0.3 file: the hint names `config migrate`; its top-level keys are unknown to the v0.3 schema",
		errs: []string{
			"this is a SemanticRouter resource, not a v0.3 config; convert it with: semrouter config migrate --config SOURCE",
			"apiVersion: unknown field", "kind: unknown field", "metadata: unknown field", "spec: unknown field",
		},
	}
	operatorMulti := upstreamExpectation{
		kind:   upstreamOperator,
		reason: "a multi-document manifest (SemanticRouter plus Secret/Deployment/Service): one error, the migrate hint",
		errs:   []string{"this is a multi-document manifest with a SemanticRouter resource, not a v0.3 config; convert it with: semrouter config migrate --config SOURCE"},
	}
	m := map[string]upstreamExpectation{
		"reference-config.yaml":              {kind: upstreamCanonical},
		"configs/config.e2e.yaml":            {kind: upstreamCanonical},
		"configs/config.testing.yaml":        {kind: upstreamCanonical},
		"configs/config.multi-provider.yaml": {kind: upstreamCanonical},
		"configs/config-with-embedding.yaml": {kind: upstreamCanonical},
		"crd/vllm.ai_semanticrouters.yaml": {
			kind:   upstreamForeign,
			reason: "the operator's CustomResourceDefinition: a schema, not a configuration",
			errs: []string{
				"this is a Kubernetes CustomResourceDefinition (apiVersion apiextensions.k8s.io/v1), not a semrouter configuration",
				"apiVersion: unknown field", "kind: unknown field", "metadata: unknown field", "spec: unknown field",
			},
		},
	}
	for _, name := range []string{"complexity", "gateway", "mmbert", "openshift", "qdrant_cache", "route", "simple"} {
		m["operator-samples/vllm.ai_v1alpha1_semanticrouter_"+name+".yaml"] = operatorSingle
	}
	m["operator-samples/vllm_v1alpha1_semanticrouter.yaml"] = operatorSingle
	for _, name := range []string{"hybrid_cache", "llamastack", "milvus_cache", "redis_cache", "valkey_cache"} {
		m["operator-samples/vllm.ai_v1alpha1_semanticrouter_"+name+".yaml"] = operatorMulti
	}
	return m
}

// TestUpstreamFixtures walks every YAML file of the upstream v0.3 fixtures
// (reference config, real configs, operator samples, CRD) and checks what
// the loader does with each: canonical configs decode, validate without
// errors (every problem carries a line; warnings are pinned in a golden
// file) and round-trip; the other files fail with exactly the expected
// errors, and operator samples migrate to a config that does all of that.
func TestUpstreamFixtures(t *testing.T) {
	dir := upstreamDir(t)
	want := upstreamExpectations()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			found = append(found, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if !slices.Contains(found, name) {
			t.Errorf("expected fixture %s is missing from %s", name, dir)
		}
	}
	for _, rel := range found {
		t.Run(rel, func(t *testing.T) {
			exp, ok := want[rel]
			if !ok {
				t.Fatalf("no expectation for upstream fixture %s: add it to upstreamExpectations", rel)
			}
			data := readFile(t, filepath.Join(dir, rel))
			cfg, probs, err := Parse(data, rel)
			golden(t, filepath.Join("testdata", "upstream", strings.ReplaceAll(rel, "/", "__")+".problems.golden"), []byte(probs.String()))
			for _, p := range probs {
				if p.Line == 0 {
					t.Errorf("problem without a line: %v", p)
				}
			}
			switch exp.kind {
			case upstreamCanonical:
				if err != nil {
					t.Fatalf("Parse: %v\n%s", err, probs.Errors())
				}
				if cfg.Version != CanonicalVersion {
					t.Errorf("version %q", cfg.Version)
				}
				checkRoundTrip(t, cfg)
			case upstreamOperator, upstreamForeign:
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Parse error = %v; want ErrInvalid (%s)", err, exp.reason)
				}
				var got []string
				for _, p := range probs.Errors() {
					got = append(got, strings.ReplaceAll(strings.TrimPrefix(p.Path+": ", ": ")+p.Message, rel, "SOURCE"))
				}
				wantErrs := slices.Clone(exp.errs)
				slices.Sort(got)
				slices.Sort(wantErrs)
				if !slices.Equal(got, wantErrs) {
					t.Errorf("errors (%s):\n got  %q\n want %q", exp.reason, got, wantErrs)
				}
				out, mprobs, merr := Migrate(data)
				if exp.kind == upstreamForeign {
					if !errors.Is(merr, ErrUnknownShape) {
						t.Errorf("Migrate error = %v; want ErrUnknownShape", merr)
					}
					return
				}
				if merr != nil || mprobs.HasErrors() {
					t.Fatalf("Migrate: %v\n%s", merr, mprobs.Errors())
				}
				mcfg, vprobs, err := Parse(out, rel+" (migrated)")
				if err != nil {
					t.Fatalf("migrated config does not validate: %v\n%s", err, vprobs.Errors())
				}
				checkRoundTrip(t, mcfg)
			}
		})
	}
}

// checkRoundTrip asserts decode → encode → decode gives the same config,
// that encoding is stable, and that the JSON form parses to the same config.
func checkRoundTrip(t *testing.T, c1 *Config) {
	t.Helper()
	out1, err := Marshal(c1)
	if err != nil {
		t.Fatal(err)
	}
	c2, _, err := Parse(out1, "pass2")
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, out1)
	}
	a, b := *c1, *c2
	clearSource(&a)
	clearSource(&b)
	if !reflect.DeepEqual(&a, &b) {
		t.Errorf("parse → marshal → parse changed the config")
	}
	out2, err := Marshal(c2)
	if err != nil {
		t.Fatal(err)
	}
	if string(out1) != string(out2) {
		t.Errorf("Marshal is not stable")
	}
	js, err := c1.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(js) {
		t.Fatalf("invalid JSON: %s", js)
	}
	c3, _, err := Parse(js, "json")
	if err != nil {
		t.Fatalf("parse JSON form: %v", err)
	}
	clearSource(c3)
	if !reflect.DeepEqual(&a, c3) {
		t.Errorf("JSON form parses to a different config")
	}
}

// TestStrictDecodingEverywhere injects an unknown key into every mapping
// of every upstream config and checks that each one is rejected as
// "unknown field" at its own path and line. The mappings that accept any
// key (free-form maps such as headers, and the kept-as-written settings of
// plugins and signal families semrouter has no schema for) are pinned in a
// golden file so that a struct silently turning permissive shows up.
func TestStrictDecodingEverywhere(t *testing.T) {
	const bogus = "zz_not_a_field"
	files := []string{"reference-config.yaml", "configs/config.e2e.yaml", "configs/config.testing.yaml",
		"configs/config.multi-provider.yaml", "configs/config-with-embedding.yaml"}
	dir := upstreamDir(t)
	free := map[string]bool{}
	for _, rel := range files {
		root, err := parseYAML(readFile(t, filepath.Join(dir, rel)))
		if err != nil {
			t.Fatal(err)
		}
		injected := map[string]int{} // path of the bogus key -> its line
		var inject func(n *yaml.Node, path string)
		inject = func(n *yaml.Node, path string) {
			switch n.Kind {
			case yaml.MappingNode:
				for i := 0; i+1 < len(n.Content); i += 2 {
					inject(n.Content[i+1], joinKey(path, n.Content[i].Value))
				}
				line := n.Line + 100000 // a line no real key has
				n.Content = append(n.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: bogus, Line: line},
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "x", Line: line})
				injected[joinKey(path, bogus)] = line
			case yaml.SequenceNode:
				for i, c := range n.Content {
					inject(c, joinIndex(path, i))
				}
			}
		}
		inject(root, "")
		d := newDecoder(false)
		cfg := &Config{}
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
		cfg.lines = d.lines
		ApplyDefaults(cfg)
		probs := append(d.problems, Validate(cfg)...) // some unions reject unknown keys when validated
		rejected := map[string]bool{}
		for _, p := range probs {
			if p.Severity == SeverityError && p.Message == "unknown field" && injected[p.Path] == p.Line {
				rejected[p.Path] = true
			}
		}
		for p := range injected {
			if !rejected[p] {
				free[normalizeIndices(strings.TrimSuffix(p, "."+bogus))] = true
			}
		}
		if len(rejected) < len(injected)/2 {
			t.Errorf("%s: only %d of %d injected keys were rejected", rel, len(rejected), len(injected))
		}
	}
	var out []string
	for p := range free {
		out = append(out, p)
	}
	slices.Sort(out)
	golden(t, filepath.Join("testdata", "upstream", "free-form-maps.golden"), []byte(strings.Join(out, "\n")+"\n"))
}

// normalizeIndices replaces list indices by [] (a.b[3].c -> a.b[].c).
func normalizeIndices(p string) string {
	var b strings.Builder
	skip := false
	for _, r := range p {
		switch {
		case r == '[':
			skip = true
			b.WriteRune(r)
		case r == ']':
			skip = false
			b.WriteRune(r)
		case skip && r >= '0' && r <= '9':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
