package routes

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
)

// repoRoot walks up from the working directory to the folder holding go.work.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.work not found above the working directory")
		}
		dir = parent
	}
}

func TestFromConfigCompilesEveryShippedConfig(t *testing.T) {
	root := repoRoot(t)
	paths, err := filepath.Glob(filepath.Join(root, "..", "shared", "upstream", "configs", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths,
		filepath.Join(root, "..", "shared", "upstream", "reference-config.yaml"),
		filepath.Join(root, "config", "quickstart.yaml"))
	if len(paths) < 3 {
		t.Fatalf("found only %v", paths)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			cfg, _, err := config.Load(p)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			spec, err := FromConfig(cfg, 7)
			if err != nil {
				t.Fatal(err)
			}
			tbl, err := Compile(spec)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if tbl.Revision != "7" || len(tbl.Models) != len(cfg.Providers.Models) {
				t.Fatalf("revision %q, %d models", tbl.Revision, len(tbl.Models))
			}
			n := len(cfg.Routing.Decisions)
			for _, r := range cfg.Recipes {
				n += len(r.Routing.Decisions)
			}
			if len(tbl.Decisions) != n {
				t.Fatalf("%d decisions, want %d", len(tbl.Decisions), n)
			}
			for _, d := range cfg.Routing.Decisions {
				if _, ok := tbl.Decision(d.Name); !ok {
					t.Errorf("decision %q missing", d.Name)
				}
			}
			for _, r := range cfg.Recipes {
				for _, d := range r.Routing.Decisions {
					if _, ok := tbl.RecipeDecision(r.Name, d.Name); !ok {
						t.Errorf("recipe %q decision %q missing", r.Name, d.Name)
					}
				}
			}
			for _, n := range cfg.AutoModelNames() {
				if _, ok := tbl.IsAuto(n); !ok {
					t.Errorf("auto name %q not recognised", n)
				}
			}
		})
	}
}

const mappingYAML = `version: v0.3
listeners:
  - name: api
    address: 127.0.0.1
    port: 8801
    timeout: 45s
providers:
  defaults:
    default_model: small
    default_reasoning_effort: low
    reasoning_families:
      qwen3: {type: chat_template_kwargs, parameter: enable_thinking}
  models:
    - name: small
      provider_model_id: small-v2
      reasoning_family: qwen3
      backend_refs:
        - {name: a, endpoint: "127.0.0.1:9000", weight: 3, api_key_env: SMALL_KEY, extra_headers: {x-team: red}}
    - name: big
      reliability: {retry_count: 4, consecutive_5xx: 3, base_ejection_time: 45s, max_ejection_percent: 50}
      backend_refs:
        - {name: b, base_url: "https://api.example.com/v1", chat_path: /chat/completions, auth_header: api-key, auth_prefix: ""}
entrypoints:
  - model_names: [vllm-sr/privacy]
    recipe: privacy
recipes:
  - name: privacy
    routing:
      decisions:
        - name: local_only
          rules: {operator: AND}
          modelRefs: [{model: small}]
routing:
  signals:
    keywords:
      - {name: code, keywords: [code]}
  decisions:
    - name: coding
      priority: 10
      rules:
        operator: OR
        conditions: [{type: keyword, name: code}]
      modelRefs:
        - {model: big, use_reasoning: true, reasoning_effort: high}
        - {model: small}
      plugins:
        - type: system_prompt
          configuration: {system_prompt: "Be exact.", mode: insert}
        - type: header_mutation
          configuration:
            add: [{name: X-A, value: "1"}]
            update: [{name: X-U, value: "2"}]
            delete: [X-D]
        - type: request_params
          configuration: {blocked_params: [logprobs], max_tokens_limit: 512, max_n: 1}
        - type: response_cache
          configuration:
            mode: exact
            scope: user
            ttl_seconds: 60
            request_controls: {enabled: true, allowed: [no-cache, ttl], max_ttl_seconds: 30}
            revision: {cache_epoch: e1, prompt_revision: p2}
    - name: blocked
      priority: 5
      rules: {operator: AND}
      modelRefs: [{model: small}]
      plugins:
        - type: fast_response
          configuration: {message: "No."}
global:
  router:
    auto_model_names: [auto, smart]
    include_config_models_in_list: false
    streamed_body: {enabled: true, max_bytes: 2048, timeout_sec: 12}
  services:
    authz:
      identity: {user_id_header: X-User, user_groups_header: X-Groups}
`

func TestFromConfigMapsEveryField(t *testing.T) {
	cfg, _, err := config.Parse([]byte(mappingYAML), "mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := FromConfig(cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !spec.HideConfigModels {
		t.Errorf("include_config_models_in_list: false did not hide the configured models")
	}
	tbl, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	if l := tbl.Listeners; len(l) != 1 || l[0].Name != "api" || l[0].Address != "127.0.0.1" || l[0].Port != 8801 || l[0].Timeout != 45*time.Second {
		t.Errorf("listeners %+v", l)
	}
	if _, ok := tbl.IsAuto("smart"); !ok {
		t.Error("auto name smart")
	}
	if r, ok := tbl.IsAuto("vllm-sr/privacy"); !ok || r != "privacy" {
		t.Errorf("entrypoint recipe %q %v", r, ok)
	}
	if tbl.DefaultModel != "small" || tbl.DefaultReasoningEffort != "low" || tbl.ReasoningFamilies["qwen3"].Parameter != "enable_thinking" {
		t.Errorf("defaults %q %q %+v", tbl.DefaultModel, tbl.DefaultReasoningEffort, tbl.ReasoningFamilies)
	}
	small, _ := tbl.Model("small-v2")
	if small == nil || small.Name != "small" || small.RetryCount != DefaultRetryCount || small.ReasoningFamily != "qwen3" {
		t.Fatalf("small %+v", small)
	}
	if b := small.Backends[0]; b.Endpoint != "127.0.0.1:9000" || b.Weight != 3 || b.APIKeyEnv != "SMALL_KEY" || b.ExtraHeaders["x-team"] != "red" || b.Protocol != "http" {
		t.Errorf("small backend %+v", b)
	}
	big, _ := tbl.Model("big")
	if big.RetryCount != 4 || big.Backends[0].BaseURL != "https://api.example.com/v1" || big.Backends[0].AuthHeader != "api-key" || big.Backends[0].ChatPath != "/chat/completions" {
		t.Errorf("big %+v", big)
	}
	if want := (Outlier{Consecutive5xx: 3, BaseEjectionTime: 45 * time.Second, MaxEjectionPercent: 50}); big.Outlier != want || small.Outlier != (Outlier{}) {
		t.Errorf("outlier big %+v small %+v, want %+v and unset", big.Outlier, small.Outlier, want)
	}
	d, ok := tbl.Decision("coding")
	if !ok {
		t.Fatal("coding missing")
	}
	if len(d.ModelRefs) != 2 || !d.ModelRefs[0].UseReasoning || d.ModelRefs[0].ReasoningEffort != "high" || d.ModelRefs[1].UseReasoning {
		t.Errorf("modelRefs %+v", d.ModelRefs)
	}
	p := d.Plugins
	if p.SystemPrompt == nil || !p.SystemPrompt.Enabled || p.SystemPrompt.Mode != "insert" || p.SystemPrompt.SystemPrompt != "Be exact." {
		t.Errorf("system prompt %+v", p.SystemPrompt)
	}
	if hm := p.HeaderMutation; hm == nil || hm.Add[0] != (Header{"X-A", "1"}) || hm.Update[0] != (Header{"X-U", "2"}) || hm.Delete[0] != "X-D" {
		t.Errorf("header mutation %+v", p.HeaderMutation)
	}
	if rp := p.RequestParams; rp == nil || rp.BlockedParams[0] != "logprobs" || rp.MaxTokensLimit != 512 || rp.MaxN != 1 {
		t.Errorf("request params %+v", p.RequestParams)
	}
	rc := p.ResponseCache
	if rc == nil || !rc.Enabled || rc.Mode != CacheModeExact || rc.Scope != CacheScopeUser || rc.TTL != time.Minute ||
		rc.SimilarityThreshold != float32(config.DefaultCacheSimilarity) || rc.Revision != "e1||p2|" || rc.Semantic() {
		t.Errorf("response cache %+v", rc)
	}
	if c := rc.Controls; c == nil || c.Allowed[1] != "ttl" || c.MaxTTL != 30*time.Second {
		t.Errorf("controls %+v", rc.Controls)
	}
	if fr, _ := tbl.Decision("blocked"); fr.Plugins.FastResponse == nil || fr.Plugins.FastResponse.Message != "No." {
		t.Errorf("fast response %+v", fr.Plugins)
	}
	if rd, ok := tbl.RecipeDecision("privacy", "local_only"); !ok || rd.Recipe != "privacy" {
		t.Errorf("recipe decision %+v %v", rd, ok)
	}
	if tbl.NeedsEmbedding {
		t.Error("keyword-only routing with an exact cache needs no embedding")
	}
	if tbl.MaxBodyBytes != 2048 || tbl.StreamedBody != (StreamedBody{Enabled: true, Timeout: 12 * time.Second}) {
		t.Errorf("max body %d, streamed body %+v", tbl.MaxBodyBytes, tbl.StreamedBody)
	}
	if tbl.Identity != (Identity{UserIDHeader: "x-user", UserGroupsHeader: "x-groups"}) {
		t.Errorf("identity %+v", tbl.Identity)
	}
}

func TestFromConfigNeedsEmbedding(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *config.Config)
		want bool
	}{
		{"keywords only", func(*config.Config) {}, false},
		{"embedding signal", func(c *config.Config) {
			c.Routing.Signals.Embeddings = append(c.Routing.Signals.Embeddings, config.EmbeddingSignal{Name: "e"})
		}, true},
		{"reask", func(c *config.Config) {
			c.Recipes[0].Routing.Signals.Reasks = append(c.Recipes[0].Routing.Signals.Reasks, config.ReaskSignal{Name: "r", LookbackTurns: 3})
		}, true},
		{"complexity in a recipe", func(c *config.Config) {
			c.Recipes[0].Routing.Signals.Complexity = append(c.Recipes[0].Routing.Signals.Complexity, config.ComplexitySignal{Name: "c"})
		}, true},
		{"knowledge-base signal", func(c *config.Config) {
			c.Routing.Signals.KB = append(c.Routing.Signals.KB, config.KBSignal{Name: "k", KB: "support"})
		}, true},
		{"fact_check signal", func(c *config.Config) {
			c.Routing.Signals.FactCheck = append(c.Routing.Signals.FactCheck, config.DescribedSignal{Name: "needs_fact_check"})
		}, true},
		{"user feedback in a recipe", func(c *config.Config) {
			c.Recipes[0].Routing.Signals.UserFeedbacks = append(c.Recipes[0].Routing.Signals.UserFeedbacks, config.DescribedSignal{Name: "wrong_answer"})
		}, true},
		{"kb_metric projection input", func(c *config.Config) {
			c.Routing.Projections.Scores = append(c.Routing.Projections.Scores, config.Score{Name: "bias",
				Inputs: []config.ScoreInput{{Type: "kb_metric", KB: "support"}}})
		}, true},
		{"semantic cache", func(c *config.Config) {
			c.Routing.Decisions[0].Plugins[3].ResponseCache().Mode = "exact_then_semantic"
		}, true},
		{"knn selection over two models", func(c *config.Config) {
			d := &c.Routing.Decisions[0]
			d.Algorithm = &config.Algorithm{Type: "knn"}
			d.ModelRefs = append(d.ModelRefs, config.ModelRef{Model: "selection-second"})
		}, true},
		{"router_dc selection over two models", func(c *config.Config) {
			d := &c.Routing.Decisions[0]
			d.Algorithm = &config.Algorithm{Type: "router_dc"}
			d.ModelRefs = append(d.ModelRefs, config.ModelRef{Model: "selection-second"})
		}, true},
		{"knn with one model has nothing to select", func(c *config.Config) {
			d := &c.Routing.Decisions[0]
			d.Algorithm = &config.Algorithm{Type: "knn"}
			d.ModelRefs = d.ModelRefs[:1]
		}, false},
		{"semantic cache disabled", func(c *config.Config) {
			rc := c.Routing.Decisions[0].Plugins[3].ResponseCache()
			off := false
			rc.Mode, rc.Enabled = "semantic", &off
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := config.Parse([]byte(mappingYAML), "mapping.yaml")
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(cfg)
			spec, err := FromConfig(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			if spec.NeedsEmbedding != tc.want {
				t.Fatalf("NeedsEmbedding=%v, want %v", spec.NeedsEmbedding, tc.want)
			}
			if want := map[bool]int{true: 3}[tc.name == "reask"]; spec.HistoryTurns != want {
				t.Fatalf("HistoryTurns=%d, want %d", spec.HistoryTurns, want)
			}
		})
	}
}
