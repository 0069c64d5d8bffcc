package config

import "testing"

// TestRAGPluginValidation: the rag plugin runs with backend external_api,
// so it carries no "does not run it yet" warning; its fields are checked
// with YAML paths, and backends without effect are named precisely.
func TestRAGPluginValidation(t *testing.T) {
	const cp = pluginConfigPath
	type want = wantProblem
	const ext = `backend: external_api, backend_config: {endpoint: "http://search:8080/q"}`
	cases := []pluginCase{
		{"external_api is quiet", `{type: rag, configuration: {enabled: true, ` + ext + `, similarity_threshold: 0.7, top_k: 3, max_context_length: 4000, injection_mode: tool_role, on_failure: block, cache_results: true, cache_ttl_seconds: 60}}`, nil},
		{"custom template is quiet", `{type: rag, configuration: {enabled: true, backend: external_api, backend_config: {endpoint: "https://s/q", request_format: custom, request_template: '{"q":"{{.Query}}","k":{{.TopK}}}', api_key: k, auth_header: X-Key, headers: {X-Env: a}, timeout_seconds: 5, content_field: body, metadata_field: meta}}}`, nil},
		{"ranges and enums", `{type: rag, configuration: {enabled: true, ` + ext + `, similarity_threshold: 1.2, min_confidence_threshold: -0.1, top_k: -1, max_context_length: -5, injection_mode: user_prefix, on_failure: retry, cache_ttl_seconds: -1}}`,
			[]want{{SeverityError, cp + ".similarity_threshold", "between 0 and 1"},
				{SeverityError, cp + ".min_confidence_threshold", "between 0 and 1"},
				{SeverityError, cp + ".top_k", "at least 1"},
				{SeverityError, cp + ".max_context_length", "must not be negative"},
				{SeverityError, cp + ".injection_mode", `unknown injection_mode "user_prefix" (expected one of system_prompt, tool_role)`},
				{SeverityError, cp + ".on_failure", `unknown on_failure "retry" (expected one of warn, block, skip)`},
				{SeverityError, cp + ".cache_ttl_seconds", "must not be negative"}}},
		{"ttl without caching", `{type: rag, configuration: {enabled: true, ` + ext + `, cache_ttl_seconds: 30}}`,
			[]want{{SeverityWarning, cp + ".cache_ttl_seconds", "cache_results is false"}}},
		{"backend required", `{type: rag, configuration: {enabled: true}}`,
			[]want{{SeverityError, cp + ".backend", "required when the plugin is enabled"}}},
		{"unknown backend", `{type: rag, configuration: {enabled: true, backend: elastic}}`,
			[]want{{SeverityError, cp + ".backend", `unknown backend "elastic"`}}},
		{"milvus has no effect", `{type: rag, configuration: {enabled: true, backend: milvus, backend_config: {collection: docs}}}`,
			[]want{{SeverityWarning, cp + ".backend", `backend "milvus" is accepted and kept, but semrouter does not run it yet`}}},
		{"mcp has no effect", `{type: rag, configuration: {enabled: true, backend: mcp}}`,
			[]want{{SeverityWarning, cp + ".backend", `backend "mcp"`}}},
		{"external_api needs an endpoint", `{type: rag, configuration: {enabled: true, backend: external_api}}`,
			[]want{{SeverityError, cp + ".backend_config.endpoint", "required for backend external_api"}}},
		{"external_api bad fields", `{type: rag, configuration: {enabled: true, backend: external_api, backend_config: {endpoint: "ftp://x", method: PUT, request_format: xml, headers: [a], timeout_seconds: fast, collection: c}}}`,
			[]want{{SeverityError, cp + ".backend_config.endpoint", "not an http(s) URL"},
				{SeverityError, cp + ".backend_config.method", `unknown method "PUT"`},
				{SeverityError, cp + ".backend_config.request_format", `unknown request_format "xml"`},
				{SeverityError, cp + ".backend_config.headers", "expected a mapping"},
				{SeverityError, cp + ".backend_config.timeout_seconds", "expected a number"},
				{SeverityWarning, cp + ".backend_config.collection", "not a backend_config key of backend external_api"}}},
		{"custom needs a template", `{type: rag, configuration: {enabled: true, backend: external_api, backend_config: {endpoint: "http://s", request_format: custom}}}`,
			[]want{{SeverityError, cp + ".backend_config.request_template", "required when request_format is custom"}}},
		{"template must parse", `{type: rag, configuration: {enabled: true, backend: external_api, backend_config: {endpoint: "http://s", request_format: custom, request_template: '{{.Query'}}}`,
			[]want{{SeverityError, cp + ".backend_config.request_template", "parse template"}}},
		{"template without custom", `{type: rag, configuration: {enabled: true, backend: external_api, backend_config: {endpoint: "http://s", request_template: x}}}`,
			[]want{{SeverityWarning, cp + ".backend_config.request_template", "has no effect"}}},
	}
	runPluginCases(t, "rag", cases, nil)
}
