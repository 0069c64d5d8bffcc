package config

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"text/template"
)

// RAG plugin backends (plugins[type=rag].configuration.backend).
const (
	RAGBackendExternalAPI = "external_api"
	RAGBackendMilvus      = "milvus"
	RAGBackendMCP         = "mcp"
	RAGBackendOpenAI      = "openai"
	RAGBackendVectorStore = "vectorstore"
	RAGBackendHybrid      = "hybrid"
)

// ragExternalAPIKeys are the backend_config keys of backend external_api
// (services/gateway-extproc/rag.ExternalAPI documents them).
func ragExternalAPIKeys() []string {
	return []string{"endpoint", "method", "request_format", "request_template", "content_type", "api_key",
		"auth_header", "headers", "timeout_seconds", "results_field", "content_field", "score_field", "metadata_field"}
}

func (v *validator) validateRAGPlugin(cp string, c *RAGPlugin) {
	v.checkUnit(sub(cp, "similarity_threshold"), c.SimilarityThreshold)
	v.checkUnit(sub(cp, "min_confidence_threshold"), c.MinConfidenceThreshold)
	if c.TopK < 0 {
		v.errorf(sub(cp, "top_k"), "top_k must be at least 1, got %d", c.TopK)
	}
	if c.MaxContextLength < 0 {
		v.errorf(sub(cp, "max_context_length"), "max_context_length must not be negative, got %d", c.MaxContextLength)
	}
	if c.CacheTTLSeconds < 0 {
		v.errorf(sub(cp, "cache_ttl_seconds"), "cache_ttl_seconds must not be negative, got %d", c.CacheTTLSeconds)
	} else if c.CacheTTLSeconds > 0 && !c.CacheResults {
		v.warnf(sub(cp, "cache_ttl_seconds"), "cache_results is false; cache_ttl_seconds has no effect")
	}
	v.checkOneOf(sub(cp, "injection_mode"), c.InjectionMode, "system_prompt", "tool_role")
	v.checkOneOf(sub(cp, "on_failure"), c.OnFailure, "warn", "block", "skip")
	bp := sub(cp, "backend")
	switch c.Backend {
	case "":
		if c.Enabled {
			v.errorf(bp, "required when the plugin is enabled (expected one of %s)", strings.Join(ragBackends(), ", "))
		}
	case RAGBackendHybrid:
		v.validateRAGHybrid(cp, c)
	case RAGBackendMilvus, RAGBackendMCP, RAGBackendOpenAI, RAGBackendVectorStore, RAGBackendExternalAPI:
		if v.validateRAGBackendConfig(c.Backend, sub(cp, "backend_config"), c.BackendConfig) {
			v.checkRAGWorkflow(cp, c)
			break
		}
		v.warnf(bp, "backend %q is accepted and kept, but semrouter does not run it yet; this rag plugin has no effect (docs/operations.md lists the backends that run)", c.Backend)
	default:
		v.errorf(bp, "unknown backend %q (expected one of %s)", c.Backend, strings.Join(ragBackends(), ", "))
	}
}

func ragBackends() []string {
	return []string{RAGBackendExternalAPI, RAGBackendMilvus, RAGBackendMCP, RAGBackendOpenAI, RAGBackendVectorStore, RAGBackendHybrid}
}

func (v *validator) validateRAGExternalAPI(bp string, bc map[string]any) {
	str := func(k string) (string, bool) {
		val, ok := bc[k]
		if !ok || val == nil {
			return "", false
		}
		s, ok := val.(string)
		if !ok {
			v.errorf(sub(bp, k), "expected a string, got %s", describeValue(val))
			return "", false
		}
		return strings.TrimSpace(s), true
	}
	if ep, _ := str("endpoint"); ep == "" {
		v.errorf(sub(bp, "endpoint"), "required for backend external_api")
	} else if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.errorf(sub(bp, "endpoint"), "%q is not an http(s) URL", ep)
	}
	if m, ok := str("method"); ok {
		v.checkOneOf(sub(bp, "method"), strings.ToUpper(m), "GET", "POST")
	}
	f, _ := str("request_format")
	v.checkOneOf(sub(bp, "request_format"), f, "json", "default", "custom")
	tmpl, _ := str("request_template")
	switch {
	case f == "custom" && tmpl == "":
		v.errorf(sub(bp, "request_template"), "required when request_format is custom")
	case f == "custom":
		if _, err := template.New("request_template").Parse(tmpl); err != nil {
			v.errorf(sub(bp, "request_template"), "parse template: %v", err)
		}
	case tmpl != "":
		v.warnf(sub(bp, "request_template"), "request_format is not custom; request_template has no effect")
	}
	if h, ok := bc["headers"]; ok && h != nil {
		if _, ok := h.(map[string]any); !ok {
			v.errorf(sub(bp, "headers"), "expected a mapping, got %s", describeValue(h))
		}
	}
	if t, ok := bc["timeout_seconds"]; ok && t != nil {
		switch n := t.(type) {
		case int:
			if n < 0 {
				v.errorf(sub(bp, "timeout_seconds"), "timeout_seconds must not be negative, got %d", n)
			}
		case float64:
			if n < 0 {
				v.errorf(sub(bp, "timeout_seconds"), "timeout_seconds must not be negative, got %s", formatFloat(n))
			}
		default:
			v.errorf(sub(bp, "timeout_seconds"), "expected a number, got %s", describeValue(t))
		}
	}
	known := ragExternalAPIKeys()
	var unknown []string
	for k := range bc {
		if !containsString(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		v.warnf(sub(bp, k), "not a backend_config key of backend external_api; it has no effect (known: %s)", strings.Join(known, ", "))
	}
}

func describeValue(x any) string { return fmt.Sprintf("%T", x) }
