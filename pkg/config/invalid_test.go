package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// base is a valid config; cases below append or replace parts of it.
const invalidBase = `version: v0.3
listeners:
  - name: http
    port: 8899
providers:
  defaults:
    default_model: m1
    reasoning_families:
      qwen3: {type: chat_template_kwargs, parameter: enable_thinking}
  models:
    - name: m1
      reasoning_family: qwen3
      backend_refs: [{name: b, endpoint: "127.0.0.1:8000"}]
    - name: m2
      backend_refs: [{name: b, endpoint: "127.0.0.1:8001"}]
routing:
  modelCards:
    - name: m1
      loras: [{name: sql-expert}]
  signals:
    keywords:
      - name: kw
        keywords: [code]
    complexity:
      - name: cx
        hard: {candidates: [hard one]}
        easy: {candidates: [easy one]}
  decisions:
    - name: d1
      rules:
        operator: AND
        conditions:
          - type: keyword
            name: kw
      modelRefs:
        - model: m1
`

func TestInvalidBaseIsValid(t *testing.T) {
	if _, probs, err := Parse([]byte(invalidBase), "base"); err != nil {
		t.Fatalf("base config invalid: %v\n%s", err, probs)
	}
}

// problemKeys lists "path:line" of the error problems, sorted.
func problemKeys(ps Problems) []string {
	var out []string
	for _, p := range ps.Errors() {
		out = append(out, fmt.Sprintf("%s:%d", p.Path, p.Line))
	}
	sort.Strings(out)
	return out
}

func TestInvalidConfigs(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // "path:line" of every error
	}{
		{
			name: "unknown field in a model ref",
			doc:  invalidBase + "          modle: m2\n",
			want: []string{"routing.decisions[0].modelRefs[0].modle:37"},
		},
		{
			name: "unknown top-level and nested keys",
			doc:  strings.Replace(invalidBase, "listeners:", "listners: []\nlisteners:", 1) + "global:\n  router:\n    strategi: priority\n",
			want: []string{"global.router.strategi:40", "listners:2"},
		},
		{
			name: "wrong scalar types",
			doc:  strings.Replace(strings.Replace(invalidBase, "port: 8899", "port: eighty", 1), "keywords: [code]", "keywords: code", 1),
			want: []string{"listeners[0].port:4", "routing.signals.keywords[0].keywords:23"},
		},
		{
			name: "mapping where a list belongs and bad duration",
			doc:  strings.Replace(invalidBase, "    port: 8899", "    port: 8899\n    timeout: soon", 1) + "entrypoints: {a: b}\n",
			want: []string{"entrypoints:38", "listeners[0].timeout:5"},
		},
		{
			name: "duplicate yaml key",
			doc:  strings.Replace(invalidBase, "    port: 8899", "    port: 8899\n    port: 9000", 1),
			want: []string{"listeners[0].port:5"},
		},
		{
			name: "undefined signals and projection outputs",
			doc: invalidBase + `    - name: d2
      rules:
        operator: OR
        conditions:
          - type: keyword
            name: nope
          - type: complexity
            name: cx
          - type: complexity
            name: cx:extreme
          - type: projection
            name: missing_band
          - type: telepathy
            name: x
      modelRefs:
        - model: m2
`,
			want: []string{
				"routing.decisions[1].rules.conditions[0].name:42",
				"routing.decisions[1].rules.conditions[1].name:44",
				"routing.decisions[1].rules.conditions[2].name:46",
				"routing.decisions[1].rules.conditions[3].name:48",
				"routing.decisions[1].rules.conditions[4].type:49",
			},
		},
		{
			name: "model refs, loras and default model",
			doc: strings.Replace(invalidBase, "default_model: m1", "default_model: m9", 1) + `          lora_name: sql-expert
        - model: m2
          lora_name: sql-expert
        - model: ghost
`,
			want: []string{
				"providers.defaults.default_model:7",
				"routing.decisions[0].modelRefs[1].lora_name:39",
				"routing.decisions[0].modelRefs[2].model:40",
			},
		},
		{
			name: "thresholds outside their range",
			doc: strings.Replace(invalidBase, "        keywords: [code]\n", `        keywords: [code]
        method: fuzzy
        fuzzy_threshold: 150
      - name: kw2
        keywords: [x]
        method: fuzzy
        fuzzy_threshold: 90
    embeddings:
      - name: e
        threshold: 1.5
        candidates: [c]
`, 1),
			want: []string{"routing.signals.embeddings[0].threshold:32", "routing.signals.keywords[0].fuzzy_threshold:25"},
		},
		{
			name: "bad rule operators",
			doc: invalidBase + `    - name: d2
      rules:
        operator: and
        conditions:
          - operator: NOT
            conditions:
              - {type: keyword, name: kw}
              - {type: keyword, name: kw}
          - operator: XOR
            conditions: [{type: keyword, name: kw}]
          - {operator: OR, type: keyword, name: kw}
      modelRefs: [{model: m2}]
`,
			want: []string{
				"routing.decisions[1].rules.conditions[0].conditions:42",
				"routing.decisions[1].rules.conditions[1].operator:45",
				"routing.decisions[1].rules.conditions[2]:47",
				"routing.decisions[1].rules.operator:39",
			},
		},
		{
			name: "duplicate names",
			doc: strings.Replace(strings.Replace(strings.Replace(invalidBase,
				"    - name: m2\n", "    - name: m1\n", 1),
				"    complexity:\n", "      - name: kw2\n        keywords: [a]\n      - name: kw\n        keywords: [b]\n    complexity:\n", 1),
				"listeners:\n", "listeners:\n  - name: http\n    port: 9000\n", 1) + `    - name: d1
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
`,
			want: []string{
				"listeners[1].name:5",
				"providers.models[1].name:16",
				"routing.decisions[1].name:43",
				"routing.signals.keywords[2].name:28",
			},
		},
		{
			name: "inverted predicate bounds and duplicate projection outputs",
			doc: strings.Replace(invalidBase, "  decisions:\n", `    structure:
      - name: s
        feature: {type: count, source: {type: regex, pattern: "x"}}
        predicate: {gt: 5, lt: 2}
  projections:
    scores:
      - name: sc
        method: weighted_sum
        inputs: [{type: keyword, name: kw, weight: 1}]
    mappings:
      - name: m
        source: sc
        method: threshold_bands
        outputs:
          - {name: lo, gte: 0.5, lte: 0.2}
          - {name: lo, gt: 0.5}
  decisions:
`, 1),
			want: []string{
				"routing.projections.mappings[0].outputs[0]:42",
				"routing.projections.mappings[0].outputs[1].name:43",
				"routing.signals.structure[0].predicate:31",
			},
		},
		{
			name: "unknown plugin and algorithm types",
			doc: invalidBase + `      algorithm:
        type: quantum
      plugins:
        - type: teleport
          configuration: {enabled: true}
        - type: system_prompt
          configuration: {enabled: true}
`,
			want: []string{
				"routing.decisions[0].algorithm.type:38",
				"routing.decisions[0].plugins[0].type:40",
				"routing.decisions[0].plugins[1].configuration.system_prompt:43",
			},
		},
		{
			name: "memory plugin and store values",
			doc: invalidBase + `      plugins:
        - type: memory
          configuration:
            enabled: true
            retrieval_limit: -1
            similarity_threshold: 1.5
            reflection: {algorithm: newest, dedup_threshold: 2, block_patterns: ["ok", "(unclosed"]}
global:
  stores:
    memory: {enabled: true, backend: cassandra, valkey: {port: 70000, database: -1}}
`,
			want: []string{
				"global.stores.memory.backend:46", "global.stores.memory.valkey.database:46", "global.stores.memory.valkey.port:46",
				"routing.decisions[0].plugins[0].configuration.reflection.algorithm:43",
				"routing.decisions[0].plugins[0].configuration.reflection.block_patterns[1]:43",
				"routing.decisions[0].plugins[0].configuration.reflection.dedup_threshold:43",
				"routing.decisions[0].plugins[0].configuration.retrieval_limit:41",
				"routing.decisions[0].plugins[0].configuration.similarity_threshold:42",
			},
		},
		{
			name: "listener ports used twice",
			doc: strings.Replace(invalidBase, "listeners:\n", "listeners:\n  - name: other\n    port: 8899\n", 1) +
				"global:\n  services:\n    management_api:\n      port: 8899\n",
			want: []string{"global.services.management_api.port:42", "listeners[1].port:6"},
		},
		{
			name: "undeclared reasoning family",
			doc:  strings.Replace(invalidBase, "      reasoning_family: qwen3\n", "      reasoning_family: deepseek\n", 1),
			want: []string{"providers.models[0].reasoning_family:12"},
		},
		{
			name: "entrypoints and recipes",
			doc: invalidBase + `entrypoints:
  - model_names: [vllm-sr/x, auto]
    recipe: nowhere
recipes:
  - name: default
    routing:
      decisions:
        - name: r
          rules: {operator: AND, conditions: [{type: domain, name: law}]}
          modelRefs: [{model: m1}]
`,
			want: []string{
				"entrypoints[0].model_names[1]:38",
				"entrypoints[0].recipe:39",
				"recipes[0].name:41",
				"recipes[0].routing.decisions[0].rules.conditions[0].name:45",
			},
		},
		{
			name: "wrong version",
			doc:  strings.Replace(invalidBase, "version: v0.3", "version: v0.2", 1),
			want: []string{"version:1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs, err := Parse([]byte(tt.doc), tt.name)
			if err == nil {
				t.Fatalf("Parse accepted the config")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			var p Problem
			if !errors.As(err, &p) {
				t.Errorf("error does not expose a Problem")
			}
			got := problemKeys(probs)
			sort.Strings(tt.want)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant paths:\n%s", probs.Errors(), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestProblemFormat(t *testing.T) {
	p := Problem{Severity: SeverityError, Path: "routing.decisions[0].modelRefs[0].modle", Line: 412, Message: "unknown field"}
	if got := p.Error(); got != "routing.decisions[0].modelRefs[0].modle: unknown field (line 412)" {
		t.Errorf("Error() = %q", got)
	}
	ps := Problems{p, {Severity: SeverityWarning, Path: "a", Message: "w"}}
	if ps.Err() == nil || len(ps.Errors()) != 1 || len(ps.Warnings()) != 1 || !ps.HasErrors() {
		t.Errorf("Problems helpers wrong")
	}
	if (Problems{{Severity: SeverityWarning}}).Err() != nil {
		t.Errorf("warnings alone must not be an error")
	}
}

func TestLegacyFileGetsMigrationHint(t *testing.T) {
	_, probs, err := Parse([]byte("vllm_endpoints: []\nmodel_config: {}\ndefault_model: x\n"), "old.yaml")
	if err == nil {
		t.Fatal("legacy file accepted")
	}
	if !hasProblem(probs, SeverityError, "", "semrouter config migrate --config old.yaml") {
		t.Errorf("no migration hint:\n%s", probs)
	}
}

func TestMoreInvalidConfigs(t *testing.T) {
	tests := []struct {
		name string
		add  string // appended to invalidBase (inside the last decision or at top level)
		want []string
	}{
		{
			name: "router_dc needs card descriptions",
			add:  "      algorithm:\n        type: router_dc\n        router_dc: {require_descriptions: true, min_similarity: 2}\n",
			want: []string{"routing.decisions[0].algorithm.router_dc.min_similarity:39", "routing.decisions[0].modelRefs[0].model:36"},
		},
		{
			name: "weighted needs weights",
			add:  "      algorithm: {type: weighted}\n",
			want: []string{"routing.decisions[0].modelRefs:35"},
		},
		{
			name: "unknown block in algorithm",
			add:  "      algorithm:\n        type: static\n        statc: {}\n",
			want: []string{"routing.decisions[0].algorithm.statc:39"},
		},
		{
			name: "duplicate plugin and empty fast response",
			add:  "      plugins:\n        - type: fast_response\n          configuration: {message: \"\"}\n        - type: fast_response\n          configuration: {message: hi}\n",
			want: []string{"routing.decisions[0].plugins[0].configuration.message:39", "routing.decisions[0].plugins[1].type:40"},
		},
		{
			name: "models named in algorithm blocks",
			add:  "      algorithm:\n        type: remom\n        remom: {synthesis_model: nobody}\n",
			want: []string{"routing.decisions[0].algorithm.remom.synthesis_model:39"},
		},
		{
			name: "backend refs",
			add: `global:
  stores:
    response_cache: {enabled: true, backend_type: milvus, similarity_threshold: 1.2}
`,
			want: []string{"global.stores.response_cache:39", "global.stores.response_cache.similarity_threshold:39"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs, err := Parse([]byte(invalidBase+tt.add), tt.name)
			if err == nil {
				t.Fatalf("Parse accepted the config")
			}
			got := problemKeys(probs)
			sort.Strings(tt.want)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant paths:\n%s", probs.Errors(), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestSignalChecks(t *testing.T) {
	doc := strings.Replace(invalidBase, "  decisions:\n", `    structure:
      - name: bad_regex
        feature: {type: count, source: {type: regex, pattern: "("}}
      - name: seq_mismatch
        feature: {type: sequence, source: {type: keyword_set, keywords: [a]}}
    context:
      - name: inverted
        min_tokens: 64K
        max_tokens: 8K
    role_bindings:
      - name: admins
        role: admin
        subjects: [{kind: Team, name: x}]
    metadata:
      - name: m
        key: k
    embeddings:
      - name: img
        threshold: 0.5
        query_modality: image
        candidates: [a]
  decisions:
`, 1)
	_, probs, err := Parse([]byte(doc), "signals")
	if err == nil {
		t.Fatal("accepted")
	}
	want := []string{
		"routing.signals.context[0].min_tokens:35",
		"routing.signals.embeddings[0].query_modality:47",
		"routing.signals.metadata[0].predicate:42",
		"routing.signals.role_bindings[0].subjects[0].kind:40",
		"routing.signals.structure[0].feature.source.pattern:30",
		"routing.signals.structure[1].feature.type:32",
	}
	if got := problemKeys(probs); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s", probs.Errors())
	}
}

func TestUnknownEnumValuesWarn(t *testing.T) {
	doc := invalidBase + "          reasoning_effort: ultra\n"
	_, probs, err := Parse([]byte(doc), "x")
	if err != nil {
		t.Fatalf("an unrecognised open-ended value must only warn: %v", err)
	}
	if !hasProblem(probs, SeverityWarning, "routing.decisions[0].modelRefs[0].reasoning_effort", `unrecognised reasoning_effort "ultra"`) {
		t.Errorf("no warning:\n%s", probs)
	}
}
