package config

import (
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse, Marshal and Migrate never panic and that a
// config that parses cleanly marshals to a document that parses again.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(invalidBase))
	f.Add([]byte("version: v0.3\nrouting: {decisions: [{rules: {operator: NOT}}]}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("listeners: [{port: 99999999999999999999}]\n"))
	f.Add([]byte("routing: {signals: {context: [{min_tokens: 1e400K}]}}\n"))
	for _, p := range []string{"configs/config.testing.yaml", "configs/config.multi-provider.yaml"} {
		data := readFile(f, filepath.Join(upstreamDir(f), p))
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, probs, err := Parse(data, "fuzz")
		_, _, _ = Migrate(data)
		if err != nil || cfg == nil || probs.HasErrors() {
			return
		}
		out, err := Marshal(cfg)
		if err != nil {
			t.Fatalf("Marshal of a valid config: %v", err)
		}
		if _, p2, err := Parse(out, "again"); err != nil {
			t.Fatalf("marshalled config does not parse: %v\n%s\n%s", err, p2, out)
		}
	})
}

func BenchmarkParseValidateReference(b *testing.B) {
	data := readFile(b, filepath.Join(upstreamDir(b), "reference-config.yaml"))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := Parse(data, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalReference(b *testing.B) {
	cfg, _, err := Parse(readFile(b, filepath.Join(upstreamDir(b), "reference-config.yaml")), "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Hash(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAliases(t *testing.T) {
	t.Run("cycle is an error, not a hang", func(t *testing.T) {
		doc := "version: v0.3\nrouting:\n  decisions:\n    - name: d\n      rules: &r {operator: AND, conditions: [*r]}\n"
		_, probs, err := Parse([]byte(doc), "x")
		if err == nil || !hasProblem(probs, SeverityError, "routing.decisions[0].rules.conditions[0].conditions[0]", "refers to itself") {
			t.Fatalf("err %v problems %s", err, probs)
		}
	})
	t.Run("anchors, aliases and merge keys are followed", func(t *testing.T) {
		doc := `version: v0.3
providers:
  defaults: {default_model: m}
  models:
    - &model {name: m, backend_refs: [{name: b, endpoint: "h:1"}]}
routing:
  signals:
    keywords:
      - &kw {name: a, keywords: [x]}
      - <<: *kw
        name: b
  decisions:
    - name: d
      rules: {operator: OR, conditions: [{type: keyword, name: a}, {type: keyword, name: b}]}
      modelRefs: [{model: m}]
`
		cfg, probs, err := Parse([]byte(doc), "x")
		if err != nil {
			t.Fatalf("%v\n%s", err, probs)
		}
		if k := cfg.Routing.Signals.Keywords[1]; k.Name != "b" || len(k.Keywords) != 1 {
			t.Errorf("merge key not applied: %+v", k)
		}
	})
	t.Run("alias bomb is bounded", func(t *testing.T) {
		doc := "version: v0.3\nx0: &a0 [v0.3]\n"
		for i := 1; i < 30; i++ {
			doc += "x" + itoa(i) + ": &a" + itoa(i) + " [*a" + itoa(i-1) + ", *a" + itoa(i-1) + "]\n"
		}
		doc += "entrypoints: [{model_names: *a29, recipe: r}]\n"
		if _, _, err := Parse([]byte(doc), "bomb"); err == nil {
			t.Fatal("alias bomb accepted")
		}
	})
}
