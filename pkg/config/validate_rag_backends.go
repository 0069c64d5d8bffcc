package config

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// validateRAGBackendConfig checks the backend_config (at bp) of a rag
// backend semrouter runs and reports whether name is one; hybrid is
// checked by validateRAGHybrid.
func (v *validator) validateRAGBackendConfig(name, bp string, bc map[string]any) bool {
	switch name {
	case RAGBackendExternalAPI:
		v.validateRAGExternalAPI(bp, bc)
	case RAGBackendOpenAI:
		v.validateRAGOpenAI(bp, bc)
	case RAGBackendVectorStore:
		v.validateRAGVectorStore(bp, bc) // validate_vector_store.go
	default:
		return false
	}
	return true
}

// ragOpenAIKeys are the backend_config keys of backend openai
// (services/gateway-extproc/rag.OpenAIVectorStore documents them).
func ragOpenAIKeys() []string {
	return []string{"vector_store_id", "base_url", "api_key", "api_key_env", "max_num_results", "file_ids", "filter",
		"timeout_seconds", "workflow_mode"}
}

func (v *validator) validateRAGOpenAI(bp string, bc map[string]any) {
	str := func(k string) string {
		val, ok := bc[k]
		if !ok || val == nil {
			return ""
		}
		s, ok := val.(string)
		if !ok {
			v.errorf(sub(bp, k), "expected a string, got %s", describeValue(val))
		}
		return strings.TrimSpace(s)
	}
	if str("vector_store_id") == "" {
		v.errorf(sub(bp, "vector_store_id"), "required for backend openai")
	}
	base := str("base_url")
	if base != "" {
		if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorf(sub(bp, "base_url"), "%q is not an http(s) URL", base)
		}
	}
	key, keyEnv := str("api_key"), str("api_key_env")
	switch {
	case key != "" && keyEnv != "":
		v.errorf(sub(bp, "api_key_env"), "set only one of api_key and api_key_env")
	case key == "" && keyEnv == "" && (base == "" || strings.Contains(base, "api.openai.com")):
		v.warnf(bp, "no api_key or api_key_env: the OpenAI API refuses searches without a key")
	}
	if n, ok := bc["max_num_results"]; ok && n != nil {
		if i, isInt := n.(int); !isInt {
			v.errorf(sub(bp, "max_num_results"), "expected an integer, got %s", describeValue(n))
		} else if i < 1 || i > 50 {
			v.errorf(sub(bp, "max_num_results"), "max_num_results must be between 1 and 50, got %d", i)
		}
	}
	if f, ok := bc["file_ids"]; ok && f != nil {
		list, isList := f.([]any)
		if !isList {
			v.errorf(sub(bp, "file_ids"), "expected a list of file ids, got %s", describeValue(f))
		}
		for i, x := range list {
			if s, isStr := x.(string); !isStr || strings.TrimSpace(s) == "" {
				v.errorf(sub(bp, "file_ids")+"["+strconv.Itoa(i)+"]", "expected a file id (a non-empty string), got %s", describeValue(x))
			}
		}
	}
	if f, ok := bc["filter"]; ok && f != nil {
		m, isMap := f.(map[string]any)
		if !isMap {
			v.errorf(sub(bp, "filter"), "expected a mapping of attribute to value, got %s", describeValue(f))
		}
		for k, x := range m {
			v.checkRAGFilterValue(sub(sub(bp, "filter"), k), x)
		}
	}
	v.checkRAGTimeout(sub(bp, "timeout_seconds"), bc["timeout_seconds"])
	v.checkOneOf(sub(bp, "workflow_mode"), str("workflow_mode"), "direct_search", "tool_based")
	v.warnUnknownRAGKeys(bp, bc, RAGBackendOpenAI, ragOpenAIKeys())
}

func (v *validator) checkRAGFilterValue(p string, x any) {
	switch x := x.(type) {
	case string, bool, int, float64:
	case []any:
		if len(x) == 0 {
			v.errorf(p, "an empty list matches nothing")
		}
		for _, e := range x {
			switch e.(type) {
			case string, int, float64:
			default:
				v.errorf(p, "list items must be strings or numbers, got %s", describeValue(e))
				return
			}
		}
	default:
		v.errorf(p, "expected a string, number, boolean or list (equality or \"in\"), got %s", describeValue(x))
	}
}

func (v *validator) checkRAGTimeout(p string, t any) {
	switch n := t.(type) {
	case nil:
	case int:
		if n < 0 {
			v.errorf(p, "timeout_seconds must not be negative, got %d", n)
		}
	case float64:
		if n < 0 {
			v.errorf(p, "timeout_seconds must not be negative, got %s", formatFloat(n))
		}
	default:
		v.errorf(p, "expected a number, got %s", describeValue(t))
	}
}

func (v *validator) warnUnknownRAGKeys(bp string, bc map[string]any, backend string, known []string) {
	var unknown []string
	for k := range bc {
		if !containsString(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		v.warnf(sub(bp, k), "not a backend_config key of backend %s; it has no effect (known: %s)", backend, strings.Join(known, ", "))
	}
}

// validateRAGHybrid checks backend hybrid. A side semrouter cannot run (a
// backend it does not implement, or a *_config it cannot use) is a
// warning, not an error: the gateway leaves it out and runs the other.
func (v *validator) validateRAGHybrid(cp string, c *RAGPlugin) {
	bp := sub(cp, "backend_config")
	bc := c.BackendConfig
	v.warnUnknownRAGKeys(bp, bc, RAGBackendHybrid, []string{"primary", "fallback", "strategy", "primary_config", "fallback_config"})
	strategy, _ := bc["strategy"].(string)
	if s, ok := bc["strategy"]; ok && s != nil {
		if _, isStr := s.(string); !isStr {
			v.errorf(sub(bp, "strategy"), "expected a string, got %s", describeValue(s))
		}
	}
	v.checkOneOf(sub(bp, "strategy"), strings.TrimSpace(strategy), "fallback", "sequential", "parallel")
	type side struct{ key, name string }
	sides := []side{{"primary", ""}, {"fallback", ""}}
	bad := false
	for i := range sides {
		s := &sides[i]
		p := sub(bp, s.key)
		val, _ := bc[s.key].(string)
		s.name = strings.TrimSpace(val)
		switch {
		case s.name == "":
			v.errorf(p, "required for backend hybrid (one of %s)", strings.Join(ragBackends(), ", "))
			bad = true
		case s.name == RAGBackendHybrid:
			v.errorf(p, "a hybrid backend cannot contain another")
			bad = true
		case !containsString(ragBackends(), s.name):
			v.errorf(p, "unknown backend %q (expected one of %s)", s.name, strings.Join(ragBackends(), ", "))
			bad = true
		}
	}
	if bad {
		return
	}
	runs := 0
	for _, s := range sides {
		cfgPath := sub(bp, s.key+"_config")
		raw, present := bc[s.key+"_config"]
		sc, isMap := raw.(map[string]any)
		if present && raw != nil && !isMap {
			v.warnf(cfgPath, "expected a mapping, got %s; hybrid runs without its %s (%s)", describeValue(raw), s.key, s.name)
			continue
		}
		start := len(v.probs)
		if !v.validateRAGBackendConfig(s.name, cfgPath, sc) {
			v.warnf(sub(bp, s.key), "backend %q does not run in semrouter; hybrid runs without its %s", s.name, s.key)
			continue
		}
		usable := true
		for j := start; j < len(v.probs); j++ {
			if v.probs[j].Severity == SeverityError {
				v.probs[j].Severity = SeverityWarning
				v.probs[j].Message += "; hybrid runs without its " + s.key + " (" + s.name + ")"
				usable = false
			}
		}
		if usable {
			runs++
		}
	}
	if runs == 0 {
		v.warnf(sub(cp, "backend"), "neither side of backend hybrid can run in semrouter; this rag plugin has no effect")
	}
}

// checkRAGWorkflow warns when backend openai's workflow_mode tool_based
// overrides an explicit injection_mode system_prompt.
func (v *validator) checkRAGWorkflow(cp string, c *RAGPlugin) {
	if c.Backend != RAGBackendOpenAI || c.InjectionMode != "system_prompt" {
		return
	}
	if w, _ := c.BackendConfig["workflow_mode"].(string); strings.TrimSpace(w) == "tool_based" {
		v.warnf(sub(cp, "injection_mode"), "backend_config.workflow_mode tool_based injects the passages as a tool call and its result (tool_role); injection_mode system_prompt has no effect")
	}
}
