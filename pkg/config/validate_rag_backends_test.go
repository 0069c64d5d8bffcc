package config

import "testing"

func TestRAGOpenAIAndHybridValidation(t *testing.T) {
	const cp = pluginConfigPath
	const bp = cp + ".backend_config"
	type want = wantProblem
	const ext = `{endpoint: "http://search:8080/q"}`
	const vs = `{vector_store_id: vs_1, api_key: k}`
	cases := []pluginCase{
		{"openai reference shape is quiet", `{type: rag, configuration: {enabled: true, backend: openai, injection_mode: tool_role, backend_config: {vector_store_id: vs_docs_prod, base_url: "https://api.openai.com", api_key: k, max_num_results: 12, file_ids: [file_a, file_b], filter: {doc_type: manual, tier: [1, 2]}, timeout_seconds: 20, workflow_mode: tool_based}}}`, nil},
		{"openai local store without a key is quiet", `{type: rag, configuration: {enabled: true, backend: openai, backend_config: {vector_store_id: v, base_url: "http://vs:8080"}}}`, nil},
		{"openai bad fields", `{type: rag, configuration: {enabled: true, backend: openai, backend_config: {base_url: "ftp://x", api_key: a, api_key_env: B, max_num_results: 0, file_ids: [ok, ""], filter: {a: {b: c}, e: []}, timeout_seconds: -2, workflow_mode: agentic, collection: c}}}`,
			[]want{{SeverityError, bp + ".vector_store_id", "required for backend openai"},
				{SeverityError, bp + ".base_url", "not an http(s) URL"},
				{SeverityError, bp + ".api_key_env", "set only one of api_key and api_key_env"},
				{SeverityError, bp + ".max_num_results", "between 1 and 50, got 0"},
				{SeverityError, bp + ".file_ids[1]", "expected a file id"},
				{SeverityError, bp + ".filter.a", "expected a string, number, boolean or list"},
				{SeverityError, bp + ".filter.e", "an empty list matches nothing"},
				{SeverityError, bp + ".timeout_seconds", "must not be negative"},
				{SeverityError, bp + ".workflow_mode", `unknown workflow_mode "agentic" (expected one of direct_search, tool_based)`},
				{SeverityWarning, bp + ".collection", "not a backend_config key of backend openai"}}},
		{"openai without a key for api.openai.com", `{type: rag, configuration: {enabled: true, backend: openai, backend_config: {vector_store_id: v}}}`,
			[]want{{SeverityWarning, bp, "no api_key or api_key_env"}}},
		{"tool_based overrides system_prompt", `{type: rag, configuration: {enabled: true, backend: openai, injection_mode: system_prompt, backend_config: {vector_store_id: v, api_key: k, workflow_mode: tool_based}}}`,
			[]want{{SeverityWarning, cp + ".injection_mode", "injection_mode system_prompt has no effect"}}},
		{"hybrid of two that run is quiet", `{type: rag, configuration: {enabled: true, backend: hybrid, backend_config: {primary: external_api, fallback: openai, strategy: parallel, primary_config: ` + ext + `, fallback_config: ` + vs + `}}}`, nil},
		{"hybrid names and strategy", `{type: rag, configuration: {enabled: true, backend: hybrid, backend_config: {primary: hybrid, fallback: elastic, strategy: race, extra: 1}}}`,
			[]want{{SeverityError, bp + ".primary", "cannot contain another"},
				{SeverityError, bp + ".fallback", `unknown backend "elastic"`},
				{SeverityError, bp + ".strategy", `unknown strategy "race" (expected one of fallback, sequential, parallel)`},
				{SeverityWarning, bp + ".extra", "not a backend_config key of backend hybrid"}}},
		{"hybrid needs both names", `{type: rag, configuration: {enabled: true, backend: hybrid, backend_config: {}}}`,
			[]want{{SeverityError, bp + ".primary", "required for backend hybrid"},
				{SeverityError, bp + ".fallback", "required for backend hybrid"}}},
		{"hybrid side not implemented degrades", `{type: rag, configuration: {enabled: true, backend: hybrid, backend_config: {primary: milvus, fallback: openai, primary_config: {collection: docs}, fallback_config: ` + vs + `}}}`,
			[]want{{SeverityWarning, bp + ".primary", `backend "milvus" does not run in semrouter; hybrid runs without its primary`}}},
		{"hybrid side config unusable degrades", `{type: rag, configuration: {enabled: true, backend: hybrid, backend_config: {primary: openai, fallback: external_api, primary_config: {max_num_results: 99, api_key: k}, fallback_config: ` + ext + `}}}`,
			[]want{{SeverityWarning, bp + ".primary_config.vector_store_id", "required for backend openai; hybrid runs without its primary (openai)"},
				{SeverityWarning, bp + ".primary_config.max_num_results", "between 1 and 50, got 99; hybrid runs without its primary (openai)"}}},
		{"hybrid with neither side has no effect", `{type: rag, configuration: {enabled: true, backend: hybrid, backend_config: {primary: milvus, fallback: mcp, fallback_config: [x]}}}`,
			[]want{{SeverityWarning, bp + ".primary", `backend "milvus" does not run`},
				{SeverityWarning, bp + ".fallback_config", "expected a mapping"},
				{SeverityWarning, cp + ".backend", "neither side of backend hybrid can run"}}},
	}
	runPluginCases(t, "rag", cases, nil)
}
