// Package routes is the gateway's own runtime view of the v0.3 config: only
// what the edge needs (listeners, model names, backends, reasoning families,
// decision plugins). The field comments name the YAML keys they mirror; an
// adapter from pkg/config fills Spec and Compile turns it into an immutable
// Table.
package routes

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/compress"
	"github.com/semrouter/semrouter/services/gateway-extproc/imagegen"
	"github.com/semrouter/semrouter/services/gateway-extproc/memory"
	"github.com/semrouter/semrouter/services/gateway-extproc/rag"
	"github.com/semrouter/semrouter/services/gateway-extproc/ratelimit"
	"github.com/semrouter/semrouter/services/gateway-extproc/responses"
	"github.com/semrouter/semrouter/services/gateway-extproc/toolselect"
	"github.com/semrouter/semrouter/services/gateway-extproc/vectorstore"
	"github.com/semrouter/semrouter/services/gateway-extproc/windows"
)

// defaultAutoNames are used when global.router.auto_model_names is unset.
func defaultAutoNames() []string { return []string{"auto", "MoM", "vllm-sr/auto"} }

// Spec is the mutable input an adapter builds from the config.
type Spec struct {
	// Revision identifies the config revision this view was built from.
	Revision string
	// Listeners mirrors listeners[].
	Listeners []Listener
	// AutoModelNames mirrors global.router.auto_model_names (+ auto_model_name).
	AutoModelNames []string
	// HideConfigModels is global.router.include_config_models_in_list:
	// false. GET /v1/models then lists only the auto and entrypoint names;
	// the configured models are still served and GET /v1/models/{id}
	// still answers for them.
	HideConfigModels bool
	// Entrypoints mirrors entrypoints[].
	Entrypoints []Entrypoint
	// DefaultModel mirrors providers.defaults.default_model.
	DefaultModel string
	// DefaultReasoningEffort mirrors providers.defaults.default_reasoning_effort.
	DefaultReasoningEffort string
	// ReasoningFamilies mirrors providers.defaults.reasoning_families.
	ReasoningFamilies map[string]ReasoningFamily
	// Models mirrors providers.models[] (order is kept for /v1/models).
	Models []Model
	// Decisions mirrors routing.decisions[] (name, modelRefs, plugins).
	Decisions []Decision
	// NeedsEmbedding is true when the active config has embedding-dependent
	// signals or a semantic response cache: only then does the gateway call
	// the embedder.
	NeedsEmbedding bool
	// HistoryTurns is how many earlier user turns are embedded with the
	// query (the largest reasks[].lookback_turns): re-ask signals compare
	// the query with them.
	HistoryTurns int
	// MaxBodyBytes caps request bodies (global.router.streamed_body.max_bytes);
	// 0 means 10 MiB.
	MaxBodyBytes int64
	// StreamedBody is global.router.streamed_body: how Envoy hands request
	// bodies to ext_proc.
	StreamedBody StreamedBody
	// StageTimeout bounds each fan-out stage (embed, classify, cache lookup);
	// 0 means 150ms.
	StageTimeout time.Duration
	// Identity names the trusted identity headers
	// (global.services.authz.identity).
	Identity Identity
	// Memory is the global memory store (global.stores.memory) when a
	// decision runs the memory plugin.
	Memory memory.StoreConfig
	// Responses mirrors global.services.response_api (the Responses API
	// of API mode and its store).
	Responses responses.Settings
	// RateLimit is global.services.ratelimit compiled (nil: nothing is
	// limited; ratelimit.go).
	RateLimit *ratelimit.Settings
	// Replay is where router_replay records go
	// (global.services.router_replay; replaystore.go).
	Replay ReplayStore
	// Sticky keeps a conversation on its model
	// (global.router.learning.protection; sticky.go).
	Sticky Sticky
	// Windows configures the per-model sliding-window metrics
	// (global.services.observability.metrics.windowed_metrics; windows.go).
	Windows windows.Settings
	// VectorStore is global.stores.vector_store (the files and vector
	// stores API of API mode; vectorstore.go).
	VectorStore vectorstore.Config
}

// Identity names the request headers that carry the caller's identity, set
// by a trusted auth layer in front of the router.
type Identity struct {
	// UserIDHeader defaults to x-authz-user-id.
	UserIDHeader string
	// UserGroupsHeader (comma-separated groups) defaults to
	// x-authz-user-groups.
	UserGroupsHeader string
}

// Listener mirrors listeners[] {name, address, port, timeout}.
type Listener struct {
	Name    string
	Address string
	Port    int
	Timeout time.Duration
}

// Entrypoint mirrors entrypoints[] {model_names, recipe}.
type Entrypoint struct {
	ModelNames []string
	Recipe     string
}

// ReasoningFamily mirrors reasoning_families.<name> {type, parameter}.
type ReasoningFamily struct {
	Type      string
	Parameter string
}

// Model mirrors providers.models[].
type Model struct {
	Name            string
	ProviderModelID string
	ReasoningFamily string
	// RetryCount mirrors reliability.retry_count.
	RetryCount int
	// Outlier mirrors the outlier-ejection keys of reliability (zero
	// values: unset; API mode applies its defaults).
	Outlier Outlier
	// APIFormat mirrors api_format: "" or APIFormatOpenAI (chat
	// completions), APIFormatAnthropic (API mode translates to the
	// Anthropic Messages API).
	APIFormat string
	// ContextWindow mirrors routing.modelCards[].context_window_size of
	// the card named like the model (0: unknown, every request fits).
	ContextWindow int
	// TextOnly: the model's card says it cannot take image input
	// (modality ar without a vision or multimodal capability; see
	// modality.go). Models without a card are unconstrained.
	TextOnly bool
	// Price is pricing.prompt_per_1m + pricing.completion_per_1m (0: no
	// pricing); the looper algorithms order models by it.
	Price float64
	// Pricing is the model's pricing block (nil: none; the gateway then
	// records no cost for it).
	Pricing  *Pricing
	Backends []Backend
}

// Pricing is a model's price per million tokens, in Currency (cost.go of
// the gateway prices each answer with it).
type Pricing struct {
	// Currency is the 3-letter code of pricing.currency (USD when unset).
	Currency string
	// Prompt, CachedInput, CacheWrite and Completion mirror prompt_per_1m,
	// cached_input_per_1m, cache_write_per_1m and completion_per_1m;
	// CachedInput and CacheWrite fall back to Prompt when 0 (unset).
	Prompt, CachedInput, CacheWrite, Completion float64
}

// API formats of Model.APIFormat.
const (
	APIFormatOpenAI    = "openai"
	APIFormatAnthropic = "anthropic"
)

// Anthropic reports whether m speaks the Anthropic Messages API.
func (m *Model) Anthropic() bool { return m != nil && m.APIFormat == APIFormatAnthropic }

// Outlier mirrors reliability.consecutive_5xx, base_ejection_time and
// max_ejection_percent of a model.
type Outlier struct {
	Consecutive5xx     int
	BaseEjectionTime   time.Duration
	MaxEjectionPercent int
}

// Backend mirrors providers.models[].backend_refs[].
type Backend struct {
	Name string
	// Endpoint is host:port (scheme from Protocol); BaseURL wins when set.
	Endpoint string
	BaseURL  string
	Protocol string
	Weight   int
	// ChatPath defaults to /v1/chat/completions for Endpoint and
	// /chat/completions for BaseURL.
	ChatPath     string
	APIKey       string
	APIKeyEnv    string
	AuthHeader   string
	AuthPrefix   string
	ExtraHeaders map[string]string
	// APIVersion mirrors api_version: sent as the api-version query
	// parameter (Azure OpenAI style) when set.
	APIVersion string
}

// ModelRef mirrors routing.decisions[].modelRefs[].
type ModelRef struct {
	Model           string
	UseReasoning    bool
	ReasoningEffort string
}

// Decision mirrors routing.decisions[] (Recipe "") and
// recipes[].routing.decisions[] for what the edge applies.
type Decision struct {
	// Recipe is the recipe the decision belongs to ("" for the top-level
	// routing block).
	Recipe    string
	Name      string
	ModelRefs []ModelRef
	Plugins   Plugins
	// Algorithm is the decision's algorithm block as configured (nil:
	// none); API mode runs the multi-call ones (package looper).
	Algorithm *config.Algorithm
}

// Plugins holds the decision plugins the gateway executes.
type Plugins struct {
	SystemPrompt   *SystemPromptPlugin
	HeaderMutation *HeaderMutationPlugin
	RequestParams  *RequestParamsPlugin
	FastResponse   *FastResponsePlugin
	ResponseCache  *ResponseCachePlugin
	// Tools is the compiled tools / tool_selection plugins (nil: the
	// request's tools pass unchanged).
	Tools *toolselect.Policy
	// ResponseJailbreak scans the model's answer (nil: off;
	// responseplugins.go).
	ResponseJailbreak *ResponseJailbreakPlugin
	// RouterReplay records the request for operators (nil: off).
	RouterReplay *RouterReplayPlugin
	// Hallucination checks the answer against the request's context
	// (nil: off; hallucination.go).
	Hallucination *HallucinationPlugin
	// RAG retrieves and injects context (nil: off or a backend without
	// effect; package rag).
	RAG *rag.Plugin
	// Compression is the compiled context_compression plugin (nil: off;
	// compress.go).
	Compression *compress.Policy
	// Memory is the compiled memory plugin (nil: off; package memory).
	Memory *memory.Plugin
	// ImageGen answers image requests from an image backend (nil: off;
	// package imagegen).
	ImageGen *imagegen.Plugin
}

// SystemPromptPlugin mirrors plugins[type=system_prompt].configuration.
type SystemPromptPlugin struct {
	Enabled      bool
	Mode         string // insert | replace
	SystemPrompt string
}

// HeaderMutationPlugin mirrors plugins[type=header_mutation].configuration.
type HeaderMutationPlugin struct {
	Add    []Header
	Update []Header
	Delete []string
}

// Header is one name/value pair.
type Header struct{ Name, Value string }

// RequestParamsPlugin mirrors plugins[type=request_params].configuration.
type RequestParamsPlugin struct {
	BlockedParams  []string
	MaxTokensLimit int64
	MaxN           int64
}

// FastResponsePlugin mirrors plugins[type=fast_response].configuration.
type FastResponsePlugin struct {
	Message string
}

// ResponseCachePlugin mirrors plugins[type=response_cache].configuration.
type ResponseCachePlugin struct {
	Enabled bool
	// Mode mirrors mode: exact, semantic or exact_then_semantic ("" is
	// semantic).
	Mode string
	// Scope mirrors scope: global (shared by every decision), decision
	// (the default) or user (per caller, needs the identity header).
	Scope string
	// Revision is the revision salt (revision.cache_epoch, model_revision,
	// prompt_revision, policy_revision joined by "|"; "" when none is set).
	Revision string
	// SimilarityThreshold mirrors semantic.similarity_threshold.
	SimilarityThreshold float32
	// TTL mirrors ttl_seconds.
	TTL time.Duration
	// Controls mirrors request_controls (nil: clients cannot steer the cache).
	Controls *CacheControls
}

// CacheControls mirrors response_cache.request_controls {header, allowed}.
type CacheControls struct {
	// Header defaults to x-vsr-cache-control.
	Header string
	// Allowed lists the directives clients may use: no-cache (skip the
	// lookup), no-store (skip the store), bypass (both), max-age=N (only
	// entries at most N seconds old), ttl=N (store with that TTL).
	Allowed []string
	// MaxTTL caps ttl=N (0: no cap).
	MaxTTL time.Duration
}

// Cache modes of ResponseCachePlugin.Mode.
const (
	CacheModeExact             = "exact"
	CacheModeSemantic          = "semantic"
	CacheModeExactThenSemantic = "exact_then_semantic"
)

// Cache scopes of ResponseCachePlugin.Scope.
const (
	CacheScopeGlobal   = "global"
	CacheScopeDecision = "decision"
	CacheScopeUser     = "user"
)

// Semantic reports whether the plugin's mode uses embeddings.
func (p *ResponseCachePlugin) Semantic() bool {
	return p.Mode == "" || p.Mode == CacheModeSemantic || p.Mode == CacheModeExactThenSemantic
}

// Table is the compiled, immutable form of a Spec.
type Table struct {
	Spec
	revision    uint64
	models      map[string]*Model
	autoNames   map[string]struct{}
	entrypoints map[string]string
	decisions   map[decisionKey]*Decision
}

type decisionKey struct{ recipe, name string }

// Compile validates spec and builds its lookup indexes. It reports every
// problem it finds at once.
func Compile(spec Spec) (*Table, error) {
	t := &Table{Spec: spec,
		models:      make(map[string]*Model, 2*len(spec.Models)),
		autoNames:   map[string]struct{}{},
		entrypoints: map[string]string{},
		decisions:   make(map[decisionKey]*Decision, len(spec.Decisions)),
	}
	if len(t.AutoModelNames) == 0 {
		t.AutoModelNames = defaultAutoNames()
	}
	if t.MaxBodyBytes <= 0 {
		t.MaxBodyBytes = 10 << 20
	}
	if t.StageTimeout <= 0 {
		t.StageTimeout = 150 * time.Millisecond
	}
	if t.Identity.UserIDHeader == "" {
		t.Identity.UserIDHeader = config.DefaultUserIDHeader
	}
	if t.Identity.UserGroupsHeader == "" {
		t.Identity.UserGroupsHeader = config.DefaultUserGroupsHeader
	}
	var errs []error
	t.revision, _ = strconv.ParseUint(t.Revision, 10, 64)
	for _, n := range t.AutoModelNames {
		t.autoNames[n] = struct{}{}
	}
	for i := range t.Models {
		m := &t.Models[i]
		path := fmt.Sprintf("providers.models[%d]", i)
		if m.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: must be set", path))
			continue
		}
		if _, dup := t.models[m.Name]; dup {
			errs = append(errs, fmt.Errorf("%s.name: duplicate model %q", path, m.Name))
		}
		if m.ReasoningFamily != "" {
			if _, ok := t.ReasoningFamilies[m.ReasoningFamily]; !ok {
				errs = append(errs, fmt.Errorf("%s.reasoning_family: unknown family %q", path, m.ReasoningFamily))
			}
		}
		for j, b := range m.Backends {
			if b.Endpoint == "" && b.BaseURL == "" {
				errs = append(errs, fmt.Errorf("%s.backend_refs[%d]: endpoint or base_url must be set", path, j))
			}
			if b.Weight < 0 {
				errs = append(errs, fmt.Errorf("%s.backend_refs[%d].weight: must not be negative", path, j))
			}
		}
		t.models[m.Name] = m
		if m.ProviderModelID != "" && m.ProviderModelID != m.Name {
			if _, taken := t.models[m.ProviderModelID]; !taken {
				t.models[m.ProviderModelID] = m
			}
		}
	}
	for name, f := range t.ReasoningFamilies {
		switch f.Type {
		case "chat_template_kwargs", "reasoning_effort", "top_level_reasoning_effort":
		default:
			errs = append(errs, fmt.Errorf("providers.defaults.reasoning_families.%s.type: unknown type %q", name, f.Type))
		}
	}
	if t.DefaultModel != "" {
		if _, ok := t.models[t.DefaultModel]; !ok {
			errs = append(errs, fmt.Errorf("providers.defaults.default_model: unknown model %q", t.DefaultModel))
		}
	}
	for i, e := range t.Entrypoints {
		for _, n := range e.ModelNames {
			t.entrypoints[n] = e.Recipe
		}
		if len(e.ModelNames) == 0 {
			errs = append(errs, fmt.Errorf("entrypoints[%d].model_names: must not be empty", i))
		}
	}
	for i := range t.Decisions {
		d := &t.Decisions[i]
		for j, ref := range d.ModelRefs {
			if _, ok := t.models[ref.Model]; !ok {
				errs = append(errs, fmt.Errorf("routing.decisions[%d].modelRefs[%d].model: unknown model %q", i, j, ref.Model))
			}
		}
		if rc := d.Plugins.ResponseCache; rc != nil {
			switch rc.Mode {
			case "", CacheModeExact, CacheModeSemantic, CacheModeExactThenSemantic:
			default:
				errs = append(errs, fmt.Errorf("routing.decisions[%d].plugins.response_cache.mode: unknown mode %q", i, rc.Mode))
			}
			switch rc.Scope {
			case "", CacheScopeGlobal, CacheScopeDecision, CacheScopeUser:
			default:
				errs = append(errs, fmt.Errorf("routing.decisions[%d].plugins.response_cache.scope: unknown scope %q", i, rc.Scope))
			}
		}
		k := decisionKey{d.Recipe, d.Name}
		if _, dup := t.decisions[k]; dup {
			errs = append(errs, fmt.Errorf("routing.decisions[%d].name: duplicate decision %q in recipe %q", i, d.Name, d.Recipe))
		}
		t.decisions[k] = d
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("compile routes: %w", err)
	}
	return t, nil
}

// RevisionNumber is Revision as a number (0 when it is not one).
func (t *Table) RevisionNumber() uint64 { return t.revision }

// Model looks a model up by name or provider_model_id.
func (t *Table) Model(name string) (*Model, bool) {
	m, ok := t.models[name]
	return m, ok
}

// IsAuto reports whether name is an auto model name or an entrypoint name,
// and returns the entrypoint recipe ("" for plain auto names).
func (t *Table) IsAuto(name string) (recipe string, ok bool) {
	if _, ok := t.autoNames[name]; ok {
		return "", true
	}
	recipe, ok = t.entrypoints[name]
	return recipe, ok
}

// Decision returns the named decision of the top-level routing block.
func (t *Table) Decision(name string) (*Decision, bool) {
	return t.RecipeDecision("", name)
}

// RecipeDecision returns the named decision of a recipe ("" or "default":
// the top-level routing block).
func (t *Table) RecipeDecision(recipe, name string) (*Decision, bool) {
	if recipe == "default" {
		recipe = ""
	}
	d, ok := t.decisions[decisionKey{recipe, name}]
	return d, ok
}

// Family returns the reasoning family of a model.
func (t *Table) Family(m *Model) (ReasoningFamily, bool) {
	if m == nil || m.ReasoningFamily == "" {
		return ReasoningFamily{}, false
	}
	f, ok := t.ReasoningFamilies[m.ReasoningFamily]
	return f, ok
}

// UpstreamModelID is the model id sent upstream for m.
func (m *Model) UpstreamModelID() string {
	if m.ProviderModelID != "" {
		return m.ProviderModelID
	}
	return m.Name
}

// EntrypointNames lists every entrypoint model name in config order.
func (t *Table) EntrypointNames() []string {
	var out []string
	for _, e := range t.Entrypoints {
		out = append(out, e.ModelNames...)
	}
	return out
}

// MemoryOn reports whether a decision of this table runs the memory
// plugin (Spec.Memory is then its store).
func (t *Table) MemoryOn() bool {
	for i := range t.Decisions {
		if t.Decisions[i].Plugins.Memory != nil {
			return true
		}
	}
	return false
}

// StreamedBody mirrors global.router.streamed_body for ext_proc mode.
type StreamedBody struct {
	// Enabled: config-hub programs Envoy with request_body_mode
	// FULL_DUPLEX_STREAMED (the gateway assumes so when Envoy does not
	// announce its mode).
	Enabled bool
	// Timeout bounds the arrival of a streamed body from its request
	// headers (0: no deadline of its own).
	Timeout time.Duration
}
