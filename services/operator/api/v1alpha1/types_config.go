package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime"
)

// ConfigSpec is the router configuration of a SemanticRouter. The canonical v0.3
// sections pass through unchanged; the legacy flat keys of the upstream operator
// are migrated to v0.3 by pkg/config. Both may be combined: the canonical sections
// win where they overlap.
type ConfigSpec struct {
	// Version of the canonical config (v0.3). Optional: the operator writes v0.3.
	// +optional
	Version string `json:"version,omitempty"`
	// Listeners is the canonical v0.3 listeners section.
	// +optional
	Listeners []runtime.RawExtension `json:"listeners,omitempty"`
	// Providers is the canonical v0.3 providers section (defaults, models with backend_refs).
	// +optional
	Providers *runtime.RawExtension `json:"providers,omitempty"`
	// Routing is the canonical v0.3 routing section (modelCards, signals, decisions).
	// +optional
	Routing *runtime.RawExtension `json:"routing,omitempty"`
	// Global is the canonical v0.3 global section (stores, services, model catalog).
	// +optional
	Global *runtime.RawExtension `json:"global,omitempty"`
	// Entrypoints maps entrypoint model names to recipes (canonical v0.3).
	// +optional
	Entrypoints []runtime.RawExtension `json:"entrypoints,omitempty"`
	// Recipes are recipe-local routing blocks (canonical v0.3).
	// +optional
	Recipes []runtime.RawExtension `json:"recipes,omitempty"`

	// PromptGuard is the legacy jailbreak-detection block.
	// +optional
	PromptGuard *PromptGuardConfig `json:"prompt_guard,omitempty"`
	// ResponseCache is the legacy semantic response cache block.
	// +optional
	ResponseCache *ResponseCacheConfig `json:"response_cache,omitempty"`
	// SemanticCache is the deprecated name of response_cache.
	// +optional
	SemanticCache *ResponseCacheConfig `json:"semantic_cache,omitempty"`
	// Tools is the legacy tool-selection block.
	// +optional
	Tools *ToolsConfig `json:"tools,omitempty"`
	// Classifier is the legacy classifier block (category_model, pii_model).
	// +optional
	Classifier *runtime.RawExtension `json:"classifier,omitempty"`
	// EmbeddingModels is the legacy embedding-model block (qwen3, gemma, mmbert paths).
	// +optional
	EmbeddingModels *runtime.RawExtension `json:"embedding_models,omitempty"`
	// BertModel is the legacy similarity model block.
	// +optional
	BertModel *runtime.RawExtension `json:"bert_model,omitempty"`
	// ReasoningFamilies maps a family name to how reasoning is switched on ({type, parameter}).
	// +optional
	ReasoningFamilies map[string]ReasoningFamily `json:"reasoning_families,omitempty"`
	// DefaultReasoningEffort of reasoning-capable models.
	// +kubebuilder:validation:Enum=low;medium;high
	// +optional
	DefaultReasoningEffort string `json:"default_reasoning_effort,omitempty"`
	// DefaultModel is the model used when no decision matches.
	// +optional
	DefaultModel string `json:"default_model,omitempty"`
	// ComplexityRules are legacy complexity signals (moved to routing.signals).
	// +optional
	ComplexityRules []runtime.RawExtension `json:"complexity_rules,omitempty"`
	// Decisions are legacy top-level decisions (moved to routing.decisions).
	// +optional
	Decisions []runtime.RawExtension `json:"decisions,omitempty"`
	// Strategy of decision matching.
	// +kubebuilder:validation:Enum=priority;confidence
	// +optional
	Strategy string `json:"strategy,omitempty"`
	// Observability is the legacy tracing/metrics block.
	// +optional
	Observability *runtime.RawExtension `json:"observability,omitempty"`
	// API is the legacy HTTP API block (batch classification).
	// +optional
	API *runtime.RawExtension `json:"api,omitempty"`
}

// PromptGuardConfig is the legacy jailbreak-detection block.
type PromptGuardConfig struct {
	// Enabled turns jailbreak detection on.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// ModelID of the detector.
	// +optional
	ModelID string `json:"model_id,omitempty"`
	// Threshold (0.0-1.0, a string as upstream stores it).
	// +kubebuilder:validation:Pattern=`^0(\.[0-9]+)?$|^1(\.0+)?$`
	// +optional
	Threshold string `json:"threshold,omitempty"`
	// UseCPU runs the detector on CPU.
	// +optional
	UseCPU *bool `json:"use_cpu,omitempty"`
	// JailbreakMappingPath is the label mapping file.
	// +optional
	JailbreakMappingPath string `json:"jailbreak_mapping_path,omitempty"`
	// OnError says whether a detector failure allows or blocks the request.
	// +kubebuilder:validation:Enum=allow;block
	// +optional
	OnError string `json:"on_error,omitempty"`
	// PositiveLabels are the labels that count as a jailbreak.
	// +optional
	PositiveLabels []string `json:"positive_labels,omitempty"`
	// Protocol of a remote detector.
	// +kubebuilder:validation:Enum=http_chat;http_classify
	// +optional
	Protocol string `json:"protocol,omitempty"`
	// Variant of a local detector.
	// +kubebuilder:validation:Enum=candle;mmbert32k
	// +optional
	Variant string `json:"variant,omitempty"`
}

// ResponseCacheConfig is the legacy semantic response cache block.
type ResponseCacheConfig struct {
	// Enabled turns the cache on.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// BackendType of the cache store.
	// +kubebuilder:validation:Enum=memory;redis;valkey;milvus;qdrant;hybrid
	// +optional
	BackendType string `json:"backend_type,omitempty"`
	// SimilarityThreshold for a hit (0.0-1.0, a string).
	// +kubebuilder:validation:Pattern=`^0(\.[0-9]+)?$|^1(\.0+)?$`
	// +optional
	SimilarityThreshold string `json:"similarity_threshold,omitempty"`
	// MaxEntries of the in-memory store.
	// +kubebuilder:validation:Minimum=0
	// +optional
	MaxEntries *int64 `json:"max_entries,omitempty"`
	// TTLSeconds of an entry.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TTLSeconds *int64 `json:"ttl_seconds,omitempty"`
	// EvictionPolicy of the in-memory store.
	// +kubebuilder:validation:Enum=fifo;lru;lfu
	// +optional
	EvictionPolicy string `json:"eviction_policy,omitempty"`
	// EmbeddingModel used for similarity.
	// +kubebuilder:validation:Enum=bert;qwen3;gemma;mmbert
	// +optional
	EmbeddingModel string `json:"embedding_model,omitempty"`
	// HNSW index settings.
	// +optional
	HNSW *runtime.RawExtension `json:"hnsw,omitempty"`
	// Redis store settings.
	// +optional
	Redis *runtime.RawExtension `json:"redis,omitempty"`
	// Valkey store settings.
	// +optional
	Valkey *runtime.RawExtension `json:"valkey,omitempty"`
	// Milvus store settings.
	// +optional
	Milvus *runtime.RawExtension `json:"milvus,omitempty"`
	// Qdrant store settings.
	// +optional
	Qdrant *runtime.RawExtension `json:"qdrant,omitempty"`
}

// ToolsConfig is the legacy tool-selection block.
type ToolsConfig struct {
	// Enabled turns tool selection on.
	// +optional
	Enabled *bool `json:"enabled,omitempty"`
	// TopK tools are attached.
	// +kubebuilder:validation:Minimum=0
	// +optional
	TopK *int32 `json:"top_k,omitempty"`
	// SimilarityThreshold for a tool (0.0-1.0, a string).
	// +kubebuilder:validation:Pattern=`^0(\.[0-9]+)?$|^1(\.0+)?$`
	// +optional
	SimilarityThreshold string `json:"similarity_threshold,omitempty"`
	// ToolsDBPath is the tool catalogue file.
	// +optional
	ToolsDBPath string `json:"tools_db_path,omitempty"`
	// FallbackToEmpty sends no tools when none matches.
	// +optional
	FallbackToEmpty *bool `json:"fallback_to_empty,omitempty"`
}

// ReasoningFamily says how a model family switches reasoning on.
type ReasoningFamily struct {
	// Type is chat_template_kwargs or reasoning_effort.
	// +optional
	Type string `json:"type,omitempty"`
	// Parameter name.
	// +optional
	Parameter string `json:"parameter,omitempty"`
}

// ToolEntry is one tool of the catalogue: either the full form (tool.function)
// or the short form the upstream samples also use (name, description, parameters).
type ToolEntry struct {
	// Tool is the OpenAI tool definition.
	// +optional
	Tool *Tool `json:"tool,omitempty"`
	// Name of the function (short form).
	// +optional
	Name string `json:"name,omitempty"`
	// Parameters is the JSON schema of the arguments (short form).
	// +optional
	Parameters *runtime.RawExtension `json:"parameters,omitempty"`
	// Description used for similarity.
	// +optional
	Description string `json:"description,omitempty"`
	// Category of the tool.
	// +optional
	Category string `json:"category,omitempty"`
	// Tags of the tool.
	// +optional
	Tags []string `json:"tags,omitempty"`
}

// Tool is an OpenAI tool definition.
type Tool struct {
	// Type is always function.
	// +kubebuilder:validation:Enum=function
	// +kubebuilder:default=function
	// +optional
	Type string `json:"type,omitempty"`
	// Function describes the function.
	Function ToolFunction `json:"function"`
}

// ToolFunction describes a tool function.
type ToolFunction struct {
	// Name of the function.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Description of the function.
	// +optional
	Description string `json:"description,omitempty"`
	// Parameters is the JSON schema of the arguments.
	// +optional
	Parameters *runtime.RawExtension `json:"parameters,omitempty"`
}

// VLLMEndpointSpec is one model backend, resolved to in-cluster Services.
type VLLMEndpointSpec struct {
	// Name of the backend ref written under providers.models[].backend_refs.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Model name as the backend reports it.
	// +kubebuilder:validation:MinLength=1
	Model string `json:"model"`
	// ReasoningFamily of the model (qwen3, deepseek, gpt, ...).
	// +optional
	ReasoningFamily string `json:"reasoningFamily,omitempty"`
	// Backend says how the Service is found.
	Backend BackendSpec `json:"backend"`
	// Weight of this backend among those serving the model.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	Weight *int32 `json:"weight,omitempty"`
	// LoRAs are adapters served by this model, written to routing.modelCards[].loras.
	// +optional
	LoRAs []LoRASpec `json:"loras,omitempty"`
}

// BackendSpec says how a backend's Service is found.
type BackendSpec struct {
	// Type: kserve ({inferenceServiceName}-predictor Service in the namespace),
	// llamastack (Services matching discoveryLabels) or service (an explicit Service).
	// +kubebuilder:validation:Enum=kserve;llamastack;service
	Type string `json:"type"`
	// InferenceServiceName for type kserve.
	// +optional
	InferenceServiceName string `json:"inferenceServiceName,omitempty"`
	// DiscoveryLabels for type llamastack.
	// +optional
	DiscoveryLabels map[string]string `json:"discoveryLabels,omitempty"`
	// Service for type service.
	// +optional
	Service *BackendService `json:"service,omitempty"`
}

// BackendService names a Service, possibly in another namespace.
type BackendService struct {
	// Name of the Service.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Namespace of the Service (default: the router's namespace).
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Port of the Service.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
}

// LoRASpec is one LoRA adapter.
type LoRASpec struct {
	// Name of the adapter, referenced by decisions.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	Name string `json:"name"`
	// Description of the adapter.
	// +kubebuilder:validation:MaxLength=500
	// +optional
	Description string `json:"description,omitempty"`
}
