package config

import (
	"reflect"

	"gopkg.in/yaml.v3"
)

// Plugin type names.
const (
	PluginSystemPrompt        = "system_prompt"
	PluginHeaderMutation      = "header_mutation"
	PluginRequestParams       = "request_params"
	PluginFastResponse        = "fast_response"
	PluginResponseCache       = "response_cache"
	PluginSemanticCache       = "semantic-cache" // legacy name of response_cache
	PluginSemanticCacheAlias  = "semantic_cache" // legacy alias
	PluginContextCompression  = "context_compression"
	PluginTools               = "tools"
	PluginToolSelection       = "tool_selection"
	PluginHallucination       = "hallucination"
	PluginRouterReplay        = "router_replay"
	PluginMemory              = "memory"
	PluginResponseJailbreak   = "response_jailbreak"
	PluginRAG                 = "rag"
	PluginImageGen            = "image_gen"
	PluginProviderPromptCache = "provider_prompt_cache"
)

// pluginKind describes one plugin type: its configuration type and whether
// semrouter implements it. This table is the single place that says so.
type pluginKind struct {
	newConfig   func() any
	implemented bool
}

func pluginKinds() map[string]pluginKind {
	return map[string]pluginKind{
		PluginSystemPrompt:        {func() any { return &SystemPromptPlugin{} }, true},
		PluginHeaderMutation:      {func() any { return &HeaderMutationPlugin{} }, true},
		PluginRequestParams:       {func() any { return &RequestParamsPlugin{} }, true},
		PluginFastResponse:        {func() any { return &FastResponsePlugin{} }, true},
		PluginResponseCache:       {func() any { return &ResponseCachePlugin{} }, true},
		PluginSemanticCache:       {func() any { return &ResponseCachePlugin{} }, true},
		PluginSemanticCacheAlias:  {func() any { return &ResponseCachePlugin{} }, true},
		PluginContextCompression:  {func() any { return &ContextCompressionPlugin{} }, true},
		PluginTools:               {func() any { return &ToolsPlugin{} }, true},
		PluginToolSelection:       {func() any { return &ToolSelectionPlugin{} }, true},
		PluginHallucination:       {func() any { return &HallucinationPlugin{} }, true},
		PluginRouterReplay:        {func() any { return &RouterReplayPlugin{} }, true},
		PluginMemory:              {func() any { return &MemoryPlugin{} }, true},
		PluginResponseJailbreak:   {func() any { return &ResponseJailbreakPlugin{} }, true},
		PluginRAG:                 {func() any { return &RAGPlugin{} }, true},
		PluginImageGen:            {func() any { return &ImageGenPlugin{} }, true},
		PluginProviderPromptCache: {func() any { return &GenericPlugin{} }, false},
	}
}

// Plugin is a per-decision plugin. Configuration holds a pointer to the
// typed configuration of Type (e.g. *SystemPromptPlugin), or
// *GenericPlugin when Type is unknown (validation reports it).
type Plugin struct {
	Type          string
	Configuration any
}

// GenericPlugin keeps the configuration of a plugin type semrouter has no
// schema for, as written.
type GenericPlugin struct {
	Fields map[string]any `yaml:",inline"`
}

func (p *Plugin) unmarshalNode(d *decoder, n *yaml.Node, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(path, n.Line, "expected a mapping, got %s", describeNode(n))
		return
	}
	var cfgNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kp := joinKey(path, k.Value)
		d.lines[kp] = k.Line
		switch k.Value {
		case "type":
			d.decode(v, reflect.ValueOf(&p.Type).Elem(), kp)
		case "configuration":
			cfgNode = v
		default:
			if d.lenient {
				d.warnf(kp, k.Line, "dropped: not part of the v0.3 schema")
				continue
			}
			d.errorf(kp, k.Line, "unknown field")
		}
	}
	kind, ok := pluginKinds()[p.Type]
	cfg := any(&GenericPlugin{})
	if ok {
		cfg = kind.newConfig()
	}
	if cfgNode != nil {
		d.decode(cfgNode, reflect.ValueOf(cfg).Elem(), joinKey(path, "configuration"))
	}
	p.Configuration = cfg
}

func (p Plugin) marshalNode(e *encoder) *yaml.Node {
	m := mapNode()
	addPair(m, "type", strNode(p.Type))
	if p.Configuration != nil {
		n := e.encode(reflect.ValueOf(p.Configuration))
		if n == nil {
			n = mapNode()
			n.Style = yaml.FlowStyle
		}
		addPair(m, "configuration", n)
	}
	return m
}

// SystemPrompt returns the typed configuration when Type is system_prompt.
func (p Plugin) SystemPrompt() *SystemPromptPlugin {
	c, _ := p.Configuration.(*SystemPromptPlugin)
	return c
}

// HeaderMutation returns the typed configuration when Type is header_mutation.
func (p Plugin) HeaderMutation() *HeaderMutationPlugin {
	c, _ := p.Configuration.(*HeaderMutationPlugin)
	return c
}

// RequestParams returns the typed configuration when Type is request_params.
func (p Plugin) RequestParams() *RequestParamsPlugin {
	c, _ := p.Configuration.(*RequestParamsPlugin)
	return c
}

// FastResponse returns the typed configuration when Type is fast_response.
func (p Plugin) FastResponse() *FastResponsePlugin {
	c, _ := p.Configuration.(*FastResponsePlugin)
	return c
}

// ResponseCache returns the typed configuration when Type is response_cache
// or a legacy semantic-cache name.
func (p Plugin) ResponseCache() *ResponseCachePlugin {
	c, _ := p.Configuration.(*ResponseCachePlugin)
	return c
}

// SystemPromptPlugin injects a system prompt. Mode is replace (default) or insert.
type SystemPromptPlugin struct {
	Enabled      *bool  `yaml:"enabled"`
	Mode         string `yaml:"mode"`
	SystemPrompt string `yaml:"system_prompt"`
}

// IsEnabled reports whether the plugin is on (default true).
func (s *SystemPromptPlugin) IsEnabled() bool { return boolOr(s.Enabled, true) }

// HeaderMutationPlugin adds, updates and deletes request headers.
type HeaderMutationPlugin struct {
	Add    []HeaderValue `yaml:"add"`
	Update []HeaderValue `yaml:"update"`
	Delete []string      `yaml:"delete"`
}

// HeaderValue is a header name and value.
type HeaderValue struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// RequestParamsPlugin restricts request parameters.
type RequestParamsPlugin struct {
	BlockedParams  []string `yaml:"blocked_params"`
	MaxTokensLimit int      `yaml:"max_tokens_limit"`
	MaxN           int      `yaml:"max_n"`
	StripUnknown   *bool    `yaml:"strip_unknown" sr:"unimplemented"`
}

// FastResponsePlugin answers immediately with Message.
type FastResponsePlugin struct {
	Message string `yaml:"message"`
}

// ResponseCachePlugin is the per-decision cache policy. Mode is exact,
// semantic or exact_then_semantic; Scope is global, decision or user.
type ResponseCachePlugin struct {
	Enabled *bool  `yaml:"enabled"`
	Mode    string `yaml:"mode"`
	Scope   string `yaml:"scope"`
	// SimilarityThreshold is the legacy flat form of Semantic.SimilarityThreshold.
	SimilarityThreshold *float64              `yaml:"similarity_threshold"`
	Semantic            *CacheSemantic        `yaml:"semantic"`
	TTLSeconds          int                   `yaml:"ttl_seconds"`
	RequestControls     *CacheRequestControls `yaml:"request_controls"`
	Personalized        *CachePersonalized    `yaml:"personalized" sr:"unimplemented"`
	Revision            *CacheRevision        `yaml:"revision"`
}

// IsEnabled reports whether the plugin is on (default true).
func (r *ResponseCachePlugin) IsEnabled() bool { return boolOr(r.Enabled, true) }

// Threshold returns the semantic similarity threshold, or nil when unset.
func (r *ResponseCachePlugin) Threshold() *float64 {
	if r.Semantic != nil && r.Semantic.SimilarityThreshold != nil {
		return r.Semantic.SimilarityThreshold
	}
	return r.SimilarityThreshold
}

// CacheSemantic tunes semantic lookups.
type CacheSemantic struct {
	SimilarityThreshold *float64 `yaml:"similarity_threshold"`
}

// CacheRequestControls lets clients steer caching with a header.
type CacheRequestControls struct {
	Enabled       bool     `yaml:"enabled"`
	Header        string   `yaml:"header"`
	Allowed       []string `yaml:"allowed"`
	MaxTTLSeconds int      `yaml:"max_ttl_seconds"`
}

// CachePersonalized controls per-user personalisation of cached answers.
type CachePersonalized struct {
	Mode string `yaml:"mode"`
}

// CacheRevision partitions the cache by revision labels.
type CacheRevision struct {
	CacheEpoch     string `yaml:"cache_epoch"`
	ModelRevision  string `yaml:"model_revision"`
	PromptRevision string `yaml:"prompt_revision"`
	PolicyRevision string `yaml:"policy_revision"`
}
