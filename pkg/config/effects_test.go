package config

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestNoEffectWarnings checks that values semrouter accepts but does not
// honour are reported as warnings at their path and line, and that the
// config stays valid.
func TestNoEffectWarnings(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // "path:line: message part"
	}{
		{
			name: "unused field with a note",
			doc:  invalidBase + "global:\n  services:\n    authz:\n      providers:\n        - type: header-injection\n          headers: {X-Plan: premium}\n",
			want: []string{"global.services.authz.providers:40: identity comes only from the global.services.authz.identity headers"},
		},
		{
			name: "unused field without a note",
			doc:  strings.Replace(invalidBase, `endpoint: "127.0.0.1:8000"`, `endpoint: "127.0.0.1:8000", type: chat`, 1),
			want: []string{"providers.models[0].backend_refs[0].type:13: " + msgUnimplemented},
		},
		{
			name: "unused block is reported once, not per child",
			doc:  invalidBase + "global:\n  router:\n    model_selection:\n      momentum: {enabled: true, attack: 0.5, release: 0.2, threshold: 0.1}\n",
			want: []string{"global.router.model_selection.momentum:40: " + msgUnimplemented},
		},
		{
			name: "always-on switches set to false",
			doc: invalidBase + "global:\n  router:\n    clear_route_cache: false\n  services:\n    observability:\n      metrics: {enabled: false}\n" +
				"  model_catalog:\n    embeddings:\n      semantic:\n        embedding_config: {preload_embeddings: false}\n" +
				"    modules:\n      classifier:\n        domain: {enabled: false, threshold: 0.5}\n      modality_detector: {enabled: false}\n",
			want: []string{
				"global.router.clear_route_cache:39: false has no effect",
				"global.services.observability.metrics.enabled:42: semrouter always serves its metrics",
				"global.model_catalog.embeddings.semantic.embedding_config.preload_embeddings:46: false has no effect",
				"global.model_catalog.modules.classifier.domain.enabled:49: domain signals are evaluated",
				"global.model_catalog.modules.modality_detector.enabled:50: modality signals are evaluated",
			},
		},
		{
			name: "classifier model location fields",
			doc:  invalidBase + "global:\n  model_catalog:\n    modules:\n      classifier:\n        domain: {model_id: models/x, use_cpu: true, threshold: 0.5}\n",
			want: []string{
				"global.model_catalog.modules.classifier.domain.model_id:41: semrouter runs its built-in models",
				"global.model_catalog.modules.classifier.domain.use_cpu:41: semrouter runs its built-in models",
			},
		},
		{
			name: "memory fields without effect",
			doc: invalidBase + "      plugins:\n        - type: memory\n          configuration: {enabled: true, hybrid_search: true, hybrid_mode: rerank}\n" +
				"global:\n  stores:\n    memory:\n      enabled: true\n      backend: milvus\n      valkey: {host: v, index_name: mem_idx, tls_enabled: true}\n      hybrid_search: true\n",
			want: []string{
				"routing.decisions[0].plugins[0].configuration.hybrid_search:39: memory retrieval is embedding similarity only",
				"routing.decisions[0].plugins[0].configuration.hybrid_mode:39: memory retrieval is embedding similarity only",
				"global.stores.memory.backend:44: backend milvus has no effect",
				"global.stores.memory.valkey:45: not a vector index",
				"global.stores.memory.valkey.tls_enabled:45: without TLS",
				"global.stores.memory.hybrid_search:46: memory retrieval is embedding similarity only",
			},
		},
		{
			name: "memory plugin with the store disabled",
			doc:  invalidBase + "      plugins:\n        - type: memory\n          configuration: {enabled: true}\n" + "global:\n  stores:\n    memory: {enabled: false}\n",
			want: []string{"routing.decisions[0].plugins[0].configuration:39: global.stores.memory.enabled is false"},
		},
		{
			name: "hybrid weights without the hybrid algorithm",
			doc:  invalidBase + "global:\n  router:\n    model_selection:\n      hybrid: {cost_weight: 0.2, quality_gap_threshold: 0.1}\n",
			want: []string{"global.router.model_selection.hybrid.cost_weight:40: only quality_gap_threshold"},
		},
		{
			name: "on_error fail on an implemented algorithm",
			doc:  invalidBase + "      algorithm: {type: static, on_error: fail}\n",
			want: []string{"routing.decisions[0].algorithm.on_error:37: on_error fail has no effect"},
		},
		{
			name: "image query modality",
			doc: strings.Replace(invalidBase, "  signals:\n", "  signals:\n    embeddings:\n      - {name: e, threshold: 0.5, candidates: [x], query_modality: image}\n", 1) +
				"global:\n  model_catalog:\n    embeddings:\n      semantic:\n        embedding_config: {model_type: multimodal}\n",
			want: []string{"routing.signals.embeddings[0].query_modality:22: query_modality image has no effect"},
		},
		{
			name: "context_compression embedding scoring and recovery",
			doc: invalidBase + "      plugins:\n        - type: context_compression\n          configuration:\n            enabled: true\n" +
				"            scoring: {method: embedding, embedding_model_ref: emb}\n            recovery: {enabled: true, store: response_cache}\n",
			want: []string{
				"routing.decisions[0].plugins[0].configuration.scoring.method:41: scoring method embedding is not run",
				"routing.decisions[0].plugins[0].configuration.scoring.embedding_model_ref:41: has no effect",
				"routing.decisions[0].plugins[0].configuration.recovery.enabled:42: recovery is not run",
			},
		},
		{
			name: "rag backend and cache ttl without effect",
			doc: invalidBase + "      plugins:\n        - type: rag\n          configuration: {enabled: true, backend: mcp, cache_ttl_seconds: 60,\n" +
				"            backend_config: {server_name: docs}}\n",
			want: []string{
				`routing.decisions[0].plugins[0].configuration.backend:39: backend "mcp" is accepted and kept, but semrouter does not run it yet`,
				"routing.decisions[0].plugins[0].configuration.cache_ttl_seconds:39: cache_results is false",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, probs, err := Parse([]byte(tc.doc), tc.name)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for _, w := range tc.want {
				key, msg, _ := strings.Cut(w, ": ")
				found := false
				for _, p := range probs.Warnings() {
					if p.Path+":"+strconv.Itoa(p.Line) == key && strings.Contains(p.Message, msg) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing warning %q in:\n%s", w, probs)
				}
			}
		})
	}
}

func TestNoEffectWarningsQuietByDefault(t *testing.T) {
	_, probs, err := Parse([]byte(invalidBase), "base")
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 0 {
		t.Errorf("a config that sets no ignored field must not warn:\n%s", probs)
	}
	// the same switches set to their honoured value do not warn either
	doc := invalidBase + "global:\n  router:\n    clear_route_cache: true\n  services:\n    observability:\n      metrics: {enabled: true}\n"
	if _, probs, err = Parse([]byte(doc), "on"); err != nil || len(probs) != 0 {
		t.Errorf("err %v, problems:\n%s", err, probs)
	}
	// model card modality and capabilities act (image requests skip
	// text-only models), so they do not warn
	doc = strings.Replace(invalidBase, "      loras: [{name: sql-expert}]\n", "      loras: [{name: sql-expert}]\n      modality: ar\n      capabilities: [vision, code]\n", 1)
	if _, probs, err = Parse([]byte(doc), "modality"); err != nil || len(probs) != 0 {
		t.Errorf("modality card: err %v, problems:\n%s", err, probs)
	}
}

// TestNotAConfig checks the errors for documents that are not v0.3 configs.
func TestNotAConfig(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // every error, "path: message (line N)"
	}{
		{
			name: "SemanticRouter manifest with a Secret",
			doc:  "apiVersion: vllm.ai/v1alpha1\nkind: SemanticRouter\nmetadata: {name: a}\nspec: {}\n---\napiVersion: v1\nkind: Secret\n",
			want: []string{"this is a multi-document manifest with a SemanticRouter resource, not a v0.3 config; convert it with: semrouter config migrate --config src (line 1)"},
		},
		{
			name: "two configs in one file",
			doc:  "version: v0.3\n---\nversion: v0.3\n",
			want: []string{"more than one YAML document; a config file holds exactly one (line 2)"},
		},
		{
			name: "a CustomResourceDefinition",
			doc:  "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\nspec: {}\n",
			want: []string{
				"this is a Kubernetes CustomResourceDefinition (apiVersion apiextensions.k8s.io/v1), not a semrouter configuration (line 1)",
				"apiVersion: unknown field (line 1)", "kind: unknown field (line 2)", "metadata: unknown field (line 3)", "spec: unknown field (line 4)",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, probs, err := Parse([]byte(tc.doc), "src")
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v; want ErrInvalid", err)
			}
			var got []string
			for _, p := range probs.Errors() {
				got = append(got, p.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
	if shape, err := DetectShape([]byte(tests[2].doc)); err != nil || shape != ShapeUnknown {
		t.Errorf("DetectShape(CRD) = %v, %v; want unknown", shape, err)
	}
	if _, _, err := Migrate([]byte(tests[2].doc)); !errors.Is(err, ErrUnknownShape) || !strings.Contains(err.Error(), "CustomResourceDefinition") {
		t.Errorf("Migrate(CRD) error = %v", err)
	}
}
