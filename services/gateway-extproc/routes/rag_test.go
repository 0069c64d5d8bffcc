package routes

import (
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/rag"
)

const ragDoc = pluginDocHead + keywordSignals + `    - name: plain
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
    - name: api
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: rag
          configuration: {enabled: true, backend: external_api, top_k: 3, injection_mode: tool_role, on_failure: block,
            backend_config: {endpoint: "http://search:8080/query"}}
    - name: milvus
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: rag
          configuration: {enabled: true, backend: milvus, backend_config: {collection: docs}}
    - name: vectors
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: rag
          configuration: {enabled: true, backend: openai, backend_config: {vector_store_id: vs, api_key: k, workflow_mode: tool_based}}
    - name: hybrid
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: rag
          configuration: {enabled: true, backend: hybrid, backend_config: {primary: milvus, fallback: openai, fallback_config: {vector_store_id: vs, api_key: k}}}
`

func TestRAGPluginFromConfig(t *testing.T) {
	cfg, spec := specFromDoc(t, ragDoc, "rag", 1)
	byName := map[string]*rag.Plugin{}
	for _, d := range spec.Decisions {
		byName[d.Name] = d.Plugins.RAG
	}
	if byName["plain"] != nil || byName["milvus"] != nil {
		t.Errorf("plugins where none runs: plain %v milvus %v", byName["plain"], byName["milvus"])
	}
	p := byName["api"]
	if p == nil || p.TopK != 3 || p.Mode != rag.InjectToolRole || p.OnFailure != rag.OnFailureBlock {
		t.Fatalf("api plugin %+v", p)
	}
	if p := byName["vectors"]; p == nil || p.Mode != rag.InjectToolRole {
		t.Errorf("openai plugin %+v, want one injecting as tool_role (workflow_mode tool_based)", p)
	}
	if byName["hybrid"] == nil {
		t.Error("hybrid with a milvus primary has no plugin; want it running its openai fallback")
	}

	// A backend_config the gateway cannot use (validation rejects it too)
	// rejects the revision with the plugin's path and line.
	cfg.Routing.Decisions[1].Plugins[0].Configuration.(*config.RAGPlugin).BackendConfig["endpoint"] = "ftp://x"
	_, err := FromConfig(cfg, 2)
	if err == nil || !strings.Contains(err.Error(), "routing.decisions[1].plugins[0].configuration") ||
		!strings.Contains(err.Error(), "endpoint") || !strings.Contains(err.Error(), "line 20") {
		t.Fatalf("err %v", err)
	}
}
