package config

// CanonicalVersion is the configuration contract version this package reads.
const CanonicalVersion = "v0.3"

// Config is the canonical v0.3 configuration document.
//
// Field tags: `yaml` names the key; `sr:"signal"` marks a signal family that
// is accepted but not evaluated (it never matches) and `sr:"unimplemented"`
// marks a block that is accepted and kept but has no effect yet (an
// `srnote` tag says why, e.g. which built-in part replaces it). Validate
// reports both as warnings.
type Config struct {
	Version     string       `yaml:"version"`
	Listeners   []Listener   `yaml:"listeners"`
	Providers   Providers    `yaml:"providers"`
	Routing     Routing      `yaml:"routing"`
	Entrypoints []Entrypoint `yaml:"entrypoints"`
	Recipes     []Recipe     `yaml:"recipes"`
	Global      Global       `yaml:"global"`
	// Setup is the upstream CLI's bootstrap block, kept as written.
	Setup map[string]any `yaml:"setup" sr:"unimplemented"`

	source string
	lines  map[string]int
	// empty: the document held no content (only whitespace or comments)
	empty bool
}

// Listener is an HTTP entry point of the router.
type Listener struct {
	Name    string   `yaml:"name"`
	Address string   `yaml:"address"`
	Port    int      `yaml:"port"`
	Timeout Duration `yaml:"timeout"`
}

// Providers declares the models the router can send traffic to.
type Providers struct {
	Defaults ProviderDefaults `yaml:"defaults"`
	Models   []Model          `yaml:"models"`
}

// ProviderDefaults holds provider-wide defaults.
type ProviderDefaults struct {
	DefaultModel           string                     `yaml:"default_model"`
	DefaultReasoningEffort string                     `yaml:"default_reasoning_effort"`
	ReasoningFamilies      map[string]ReasoningFamily `yaml:"reasoning_families"`
}

// ReasoningFamily says how reasoning is switched on for a family of models:
// Type is chat_template_kwargs, reasoning_effort or top_level_reasoning_effort;
// Parameter names the request field (dotted for nested fields).
type ReasoningFamily struct {
	Type      string `yaml:"type"`
	Parameter string `yaml:"parameter"`
}

// Model is one servable model and the backends that serve it.
type Model struct {
	Name             string            `yaml:"name"`
	ReasoningFamily  string            `yaml:"reasoning_family"`
	ProviderModelID  string            `yaml:"provider_model_id"`
	APIFormat        string            `yaml:"api_format"`
	Reliability      *Reliability      `yaml:"reliability"`
	Pricing          *Pricing          `yaml:"pricing"`
	ExternalModelIDs map[string]string `yaml:"external_model_ids" sr:"unimplemented"`
	BackendRefs      []BackendRef      `yaml:"backend_refs"`
}

// Reliability configures load balancing, retries and outlier ejection.
type Reliability struct {
	LBPolicy            string   `yaml:"lb_policy"`
	RetryCount          int      `yaml:"retry_count"`
	RetryOn             string   `yaml:"retry_on"`
	Consecutive5xx      int      `yaml:"consecutive_5xx"`
	BaseEjectionTime    Duration `yaml:"base_ejection_time"`
	MaxEjectionPercent  int      `yaml:"max_ejection_percent"`
	HealthCheckPath     string   `yaml:"health_check_path"`
	HealthCheckInterval Duration `yaml:"health_check_interval"`
	HealthCheckTimeout  Duration `yaml:"health_check_timeout"`
}

// Pricing is the price of a model per million tokens, in Currency (a
// 3-letter code, USD when unset). The gateway prices every answer with it
// (x-vsr-cost, llm_model_cost_total): cached prompt tokens at
// CachedInputPer1M and prompt-cache writes at CacheWritePer1M, each
// falling back to PromptPer1M when unset (0).
type Pricing struct {
	Currency         string  `yaml:"currency"`
	PromptPer1M      float64 `yaml:"prompt_per_1m"`
	CachedInputPer1M float64 `yaml:"cached_input_per_1m"`
	CacheWritePer1M  float64 `yaml:"cache_write_per_1m"`
	CompletionPer1M  float64 `yaml:"completion_per_1m"`
}

// BackendRef is one upstream serving a model: either a host:port Endpoint
// or a BaseURL (hosted providers).
type BackendRef struct {
	Name         string            `yaml:"name"`
	Endpoint     string            `yaml:"endpoint"`
	BaseURL      string            `yaml:"base_url"`
	Protocol     string            `yaml:"protocol"`
	Weight       int               `yaml:"weight"`
	Type         string            `yaml:"type" sr:"unimplemented"`
	Provider     string            `yaml:"provider"`
	BackendID    string            `yaml:"backend_id"`
	EngineKind   string            `yaml:"engine_kind"`
	MetricsPort  int               `yaml:"metrics_port"`
	MetricsPath  string            `yaml:"metrics_path"`
	APIKey       string            `yaml:"api_key"`
	APIKeyEnv    string            `yaml:"api_key_env"`
	AuthHeader   string            `yaml:"auth_header"`
	AuthPrefix   string            `yaml:"auth_prefix"`
	ExtraHeaders map[string]string `yaml:"extra_headers"`
	APIVersion   string            `yaml:"api_version"`
	ChatPath     string            `yaml:"chat_path"`
}

// Entrypoint maps public model names to a recipe.
type Entrypoint struct {
	ModelNames []string `yaml:"model_names"`
	Recipe     string   `yaml:"recipe"`
}

// Recipe is a named routing profile selected through an entrypoint. The
// recipe named "default" (implicit) is the top-level routing block.
type Recipe struct {
	Name        string  `yaml:"name"`
	Description string  `yaml:"description"`
	Routing     Routing `yaml:"routing"`
}

// Routing is a routing profile: model cards, signals, projections and decisions.
type Routing struct {
	Strategy    string      `yaml:"strategy"`
	ModelCards  []ModelCard `yaml:"modelCards"`
	Signals     Signals     `yaml:"signals"`
	Projections Projections `yaml:"projections"`
	Decisions   []Decision  `yaml:"decisions"`
}

// ModelCard describes a model's capabilities for selection algorithms.
type ModelCard struct {
	Name              string   `yaml:"name"`
	ParamSize         string   `yaml:"param_size"`
	ContextWindowSize int      `yaml:"context_window_size"`
	Description       string   `yaml:"description"`
	Capabilities      []string `yaml:"capabilities"`
	Loras             []LoRA   `yaml:"loras"`
	QualityScore      float64  `yaml:"quality_score"`
	Modality          string   `yaml:"modality"`
	Tags              []string `yaml:"tags"`
}

// LoRA is an adapter served under a model.
type LoRA struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}
