package config

import (
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func upstreamConfigs(t *testing.T) []string {
	t.Helper()
	dir := upstreamDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "configs", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no upstream configs: %v", err)
	}
	return append([]string{filepath.Join(dir, "reference-config.yaml")}, files...)
}

func hasProblem(ps Problems, sev Severity, path, msgPart string) bool {
	for _, p := range ps {
		if p.Severity == sev && p.Path == path && strings.Contains(p.Message, msgPart) {
			return true
		}
	}
	return false
}

func TestReferenceConfigWarnings(t *testing.T) {
	_, probs, err := Load(filepath.Join(upstreamDir(t), "reference-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		path, msg string
	}{
		{"routing.signals.events", "never matches"},
		{"routing.signals.classifiers[0].model_path", "classifier type local: model_path \"models/mmbert32k-jailbreak-detector-merged\" has no effect yet; the condition follows on_error"},
		{"global.model_catalog.external[0]", `external model "external-guardrail" (model_role "guardrail") is not used by any type llm classifier`},
		{"global.model_catalog.external[1].llm_endpoint.use_chat_template", "use_chat_template has no effect"},
		{"routing.decisions[1].algorithm.type", `algorithm "confidence" runs in API mode only`},
		{"routing.decisions[1].algorithm.confidence.token_filter", "token_filter has no effect"},
		{"routing.decisions[4].algorithm.fusion.include_analysis", "include_analysis has no effect"},
		{"routing.decisions[8].algorithm.automix.discount_factor", "semrouter does not use discount_factor"},
		{"routing.decisions[2].algorithm.type", `algorithm "ratings" runs in API mode only`},
		{"routing.decisions[3].algorithm.type", `algorithm "remom" runs in API mode only`},
		{"routing.decisions[0].candidateIterations", "does not act on it"},
		{"global.router.learning.adaptation", "does not sample routes for exploration"},
		// fields that are parsed but used nowhere (sr:"unimplemented" tags)
		{"routing.signals.complexity[0].hard.image_candidates", "does not act on it"},
		{"routing.signals.domains[0].model_scores", "does not act on it"},
		{"providers.models[0].external_model_ids", "does not act on it"},
		{"providers.models[0].backend_refs[0].type", "does not act on it"},
		{"global.services.authz.providers", "identity comes only from the global.services.authz.identity headers"},
		{"global.router.streamed_body.enabled", "applies to Envoy (ext_proc) mode only"},
		{"global.router.model_selection.momentum", "does not act on it"},
		{"global.router.model_selection.router_dc.use_capabilities", "does not act on it"},
		{"global.stores.response_cache.milvus.performance", "does not act on it"},
		{"global.model_catalog.system", "semrouter runs its built-in models"},
		{"global.model_catalog.modules.prompt_guard", "jailbreak signals use semrouter's built-in detector"},
		{"global.model_catalog.modules.classifier.domain.model_id", "semrouter runs its built-in models"},
		{"global.model_catalog.embeddings.semantic.embedding_config.target_layer", "does not act on it"},
		{"routing.decisions[3].plugins[0].configuration.hybrid_search", "memory retrieval is embedding similarity only"},
		{"global.stores.memory.backend", "backend milvus has no effect"},
		{"global.stores.memory.milvus", "the memory store runs on valkey or in process"},
	}
	for _, w := range want {
		if !hasProblem(probs, SeverityWarning, w.path, w.msg) {
			t.Errorf("missing warning %s: %s", w.path, w.msg)
		}
	}
	// implemented features must not warn
	for _, p := range probs {
		// plugins[2], [3] and [4] are the context_compression, tools and
		// tool_selection plugins, which semrouter runs (and whose
		// reference values are coherent).
		for _, quiet := range []string{"routing.decisions[0].plugins[2]", "routing.decisions[0].plugins[3]", "routing.decisions[0].plugins[4]", "routing.signals.keywords", "routing.signals.embeddings", "routing.signals.complexity", "routing.signals.structure", "routing.signals.metadata", "routing.signals.fact_check", "routing.signals.user_feedbacks", "routing.signals.kb", "global.model_catalog.kbs", "routing.projections.scores[1]"} {
			if strings.HasPrefix(p.Path, quiet) && !strings.HasSuffix(p.Path, ".image_candidates") {
				t.Errorf("implemented family warned: %v", p)
			}
		}
		if strings.Contains(p.Message, "fact_check signal") || strings.Contains(p.Message, "user_feedback signal") || strings.Contains(p.Message, "kb signal") {
			t.Errorf("condition on an evaluated family warned: %v", p)
		}
		if strings.Contains(p.Message, `plugin "memory"`) {
			t.Errorf("implemented memory plugin warned: %v", p)
		}
		if strings.Contains(p.Message, `"system_prompt"`) || strings.Contains(p.Message, `"router_dc"`) || strings.Contains(p.Message, `"multi_factor"`) || strings.Contains(p.Message, `"latency_aware"`) {
			t.Errorf("implemented plugin/algorithm warned: %v", p)
		}
	}
	// line numbers point at the key in the source
	if !hasLine(probs, "routing.signals.events", 508) {
		t.Errorf("events warning should be at line 508")
	}
}

func hasLine(ps Problems, path string, line int) bool {
	for _, p := range ps {
		if p.Path == path && p.Line == line {
			return true
		}
	}
	return false
}

func clearSource(c *Config) {
	c.lines = nil
	c.source = ""
}

// TestDecodeKeepsEveryField checks that every non-empty value of the
// source survives Decode → Marshal (unimplemented fields included).
func TestDecodeKeepsEveryField(t *testing.T) {
	for _, f := range upstreamConfigs(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data := readFile(t, f)
			cfg, probs, err := Decode(data, f)
			if err != nil || probs.HasErrors() {
				t.Fatalf("Decode: %v %s", err, probs)
			}
			out, err := Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var src, got any
			if err := yaml.Unmarshal(data, &src); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			compareTrees(t, "", src, got)
		})
	}
}

func isZeroish(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case int:
		return x == 0
	case float64:
		return x == 0
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func compareTrees(t *testing.T, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			if !isZeroish(w) {
				t.Errorf("%s: mapping became %v", path, got)
			}
			return
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok {
				if !isZeroish(v) {
					t.Errorf("%s.%s: dropped (value %v)", path, k, v)
				}
				continue
			}
			compareTrees(t, path+"."+k, v, gv)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: sequence changed: %v -> %v", path, w, got)
			return
		}
		for i := range w {
			compareTrees(t, path+"["+itoa(i)+"]", w[i], g[i])
		}
	default:
		if isZeroish(want) && isZeroish(got) {
			return
		}
		if wf, ok := toF(want); ok {
			if gf, ok := toF(got); ok && wf == gf {
				return
			}
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: %v (%T) became %v (%T)", path, want, want, got, got)
		}
	}
}

func toF(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestHashStable(t *testing.T) {
	f := filepath.Join(upstreamDir(t), "reference-config.yaml")
	c1, _, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	h1, err := Hash(c1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "sha256:") || len(h1) != len("sha256:")+64 {
		t.Fatalf("hash %q", h1)
	}
	out, _ := Marshal(c1)
	c2, _, err := Parse(out, "again")
	if err != nil {
		t.Fatal(err)
	}
	if h2, _ := Hash(c2); h2 != h1 {
		t.Errorf("hash changed across a round trip: %s vs %s", h1, h2)
	}
	c2.Routing.Decisions[0].Priority++
	if h3, _ := Hash(c2); h3 == h1 {
		t.Errorf("hash did not change with the content")
	}
}

const minimal = `version: v0.3
listeners:
  - name: http
    port: 8899
    timeout: 300s
providers:
  defaults:
    default_model: m1
  models:
    - name: m1
      backend_refs:
        - name: b
          endpoint: 127.0.0.1:8000
routing:
  signals:
    embeddings:
      - name: e1
        threshold: 0.5
        candidates: [hello]
    context:
      - name: long
        min_tokens: 32K
        max_tokens: 1.5M
    structure:
      - name: q
        feature: {type: count, source: {type: regex, pattern: '\?'}}
  projections:
    scores:
      - name: s
        method: weighted_sum
        inputs: [{type: embedding, name: e1, weight: 1}]
    mappings:
      - name: band
        source: s
        method: threshold_bands
        outputs: [{name: hi, gte: 0.5}]
  decisions:
    - name: d1
      rules: {operator: AND, conditions: [{type: projection, name: hi}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: response_cache
          configuration: {enabled: true}
`

func TestDefaults(t *testing.T) {
	cfg, probs, err := Parse([]byte(minimal), "minimal")
	if err != nil {
		t.Fatalf("%v\n%s", err, probs)
	}
	e := cfg.Routing.Signals.Embeddings[0]
	if e.TopK != 1 || e.AggregationMethod != "max" {
		t.Errorf("embedding defaults: top_k %d aggregation %q", e.TopK, e.AggregationMethod)
	}
	m := cfg.Routing.Projections.Mappings[0]
	if m.Calibration == nil || m.Calibration.Method != "sigmoid_distance" || m.Calibration.Slope != 12 {
		t.Errorf("mapping calibration %+v", m.Calibration)
	}
	if got := cfg.AutoModelNames(); !reflect.DeepEqual(got, []string{"auto", "MoM", "vllm-sr/auto"}) {
		t.Errorf("auto names %v", got)
	}
	if got := cfg.Global.Services.ManagementAPI.Port; got != 8080 {
		t.Errorf("management port %d", got)
	}
	ctx := cfg.Routing.Signals.Context[0]
	if ctx.MinTokens.Value() != 32000 || ctx.MaxTokens.Value() != 1500000 || ctx.MinTokens.String() != "32K" {
		t.Errorf("token counts %v %v", ctx.MinTokens, ctx.MaxTokens)
	}
	if cfg.Listeners[0].Timeout.Std() != 300*time.Second || cfg.Listeners[0].Timeout.String() != "300s" {
		t.Errorf("timeout %v", cfg.Listeners[0].Timeout)
	}
	if cfg.Listeners[0].Address != "0.0.0.0" {
		t.Errorf("listener address %q", cfg.Listeners[0].Address)
	}
	st := cfg.Routing.Signals.Structure[0]
	if st.Predicate == nil || st.Predicate.GT == nil || *st.Predicate.GT != 0 {
		t.Errorf("structure default predicate %+v", st.Predicate)
	}
	rc := cfg.Routing.Decisions[0].Plugins[0].ResponseCache()
	if rc == nil || rc.Mode != "semantic" || rc.Scope != "decision" || !rc.IsEnabled() {
		t.Errorf("cache plugin defaults %+v", rc)
	}
	if cfg.Providers.Models[0].BackendRefs[0].Weight != 1 {
		t.Errorf("backend weight default")
	}
	// ApplyDefaults is idempotent
	before, _ := Marshal(cfg)
	ApplyDefaults(cfg)
	after, _ := Marshal(cfg)
	if string(before) != string(after) {
		t.Errorf("ApplyDefaults is not idempotent")
	}
	// explicit values are kept
	cfg2, _, err := Parse([]byte(strings.Replace(minimal, "threshold: 0.5", "threshold: 0.5\n        top_k: 3\n        aggregation_method: mean", 1)), "x")
	if err != nil {
		t.Fatal(err)
	}
	if e := cfg2.Routing.Signals.Embeddings[0]; e.TopK != 3 || e.AggregationMethod != "mean" {
		t.Errorf("explicit values overwritten: %+v", e)
	}
}

func TestHelpers(t *testing.T) {
	cfg, _, err := Load(filepath.Join(upstreamDir(t), "configs", "config.testing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.Model("openai/gpt-oss-20b"); m == nil || m.ReasoningFamily != "gpt-oss" {
		t.Errorf("Model lookup: %+v", m)
	}
	if cfg.Model("nope") != nil {
		t.Errorf("Model found an undefined name")
	}
	if !cfg.IsAutoModel("vllm-sr/metadata-policy") || !cfg.IsAutoModel("MoM") || cfg.IsAutoModel("openai/gpt-oss-20b") {
		t.Errorf("IsAutoModel wrong")
	}
	r, ok := cfg.EntrypointRecipe("vllm-sr/metadata-policy")
	if !ok || r != "metadata-policy" {
		t.Errorf("EntrypointRecipe = %q %v", r, ok)
	}
	if rt := cfg.RoutingFor(r); rt == nil || rt.Decisions[0].Name != "metadata_recipe_decision" {
		t.Errorf("RoutingFor(recipe) wrong")
	}
	if cfg.RoutingFor("") != &cfg.Routing || cfg.RoutingFor("missing") != nil {
		t.Errorf("RoutingFor default/missing wrong")
	}
	if cfg.Decision("general_decision") == nil || cfg.ModelCard("openai/gpt-oss-20b") == nil {
		t.Errorf("Decision/ModelCard lookup failed")
	}
	fams := SignalFamilies()
	impl := map[string]bool{}
	for _, f := range fams {
		impl[f.Key] = f.Implemented
	}
	for _, k := range []string{"keywords", "embeddings", "domains", "complexity", "structure", "context", "language", "jailbreak", "pii", "conversation", "metadata", "role_bindings", "modality", "reasks", "preferences", "fact_check", "user_feedbacks", "kb", "classifiers"} {
		if !impl[k] {
			t.Errorf("family %s should be implemented", k)
		}
	}
	for _, k := range []string{"events"} {
		if v, ok := impl[k]; !ok || v {
			t.Errorf("family %s should be known and unimplemented", k)
		}
	}
	if f, ok := SignalFamilyByCondition("authz"); !ok || f.Key != "role_bindings" {
		t.Errorf("authz condition family %+v", f)
	}
	if !AlgorithmImplemented("") || !AlgorithmImplemented("router_dc") || !AlgorithmImplemented("remom") || !AlgorithmImplemented("ratings") || AlgorithmImplemented("workflows") {
		t.Errorf("AlgorithmImplemented wrong")
	}
	if !PluginImplemented("semantic-cache") || !PluginImplemented("rag") || !PluginImplemented(PluginTools) || !PluginImplemented(PluginToolSelection) {
		t.Errorf("PluginImplemented wrong")
	}
}

func TestParseRejectsNonYAML(t *testing.T) {
	for name, doc := range map[string]string{
		"syntax":   "a: [\n",
		"two docs": "version: v0.3\n---\nversion: v0.3\n",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, _, err := Parse([]byte(doc), "x")
			if err == nil || cfg != nil {
				t.Fatalf("Parse accepted %q", doc)
			}
		})
	}
}

func TestValueParsers(t *testing.T) {
	for in, want := range map[string]int64{"4000": 4000, "32K": 32000, "32k": 32000, "256K": 256000, "1M": 1000000, "1.5K": 1500} {
		tc, err := ParseTokenCount(in)
		if err != nil || tc.Value() != want {
			t.Errorf("ParseTokenCount(%q) = %v, %v; want %d", in, tc.Value(), err, want)
		}
	}
	for _, bad := range []string{"", "K", "-1", "12Q", "NaN"} {
		if _, err := ParseTokenCount(bad); err == nil {
			t.Errorf("ParseTokenCount(%q) accepted", bad)
		}
	}
	for in, want := range map[string]time.Duration{"300s": 300 * time.Second, "10s": 10 * time.Second, "1m30s": 90 * time.Second, "15": 15 * time.Second} {
		d, err := ParseDuration(in)
		if err != nil || d.Std() != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, d.Std(), err)
		}
	}
	for _, bad := range []string{"", "soon", "-5s", "-3"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}
