package config

// The plugin configurations below are accepted, typed and kept; which of
// them semrouter runs is said by pluginKinds (types_plugins.go), and
// Validate warns about the others.

// ContextCompressionPlugin compresses long contexts (run by the gateway,
// package compress; validate_compression.go lists what has effect).
type ContextCompressionPlugin struct {
	Enabled         bool                         `yaml:"enabled"`
	Mode            string                       `yaml:"mode"`
	Budget          *CompressionBudget           `yaml:"budget"`
	Targets         map[string]CompressionTarget `yaml:"targets"`
	Scoring         *CompressionScoring          `yaml:"scoring"`
	Recovery        *CompressionRecovery         `yaml:"recovery"`
	RequestControls *CompressionRequestControls  `yaml:"request_controls"`
	FailureMode     string                       `yaml:"failure_mode"`
}

// CompressionBudget sets token budgets ("auto" or a number, kept as text).
type CompressionBudget struct {
	TriggerTokens       string `yaml:"trigger_tokens"`
	TargetTokens        string `yaml:"target_tokens"`
	ReserveOutputTokens string `yaml:"reserve_output_tokens"`
}

// CompressionTarget tunes compression of one part of the context.
type CompressionTarget struct {
	Mode         string `yaml:"mode"`
	MinTokens    int    `yaml:"min_tokens"`
	TargetTokens int    `yaml:"target_tokens"`
}

// CompressionScoring picks the relevance scorer.
type CompressionScoring struct {
	Method            string `yaml:"method"`
	EmbeddingModelRef string `yaml:"embedding_model_ref"`
}

// CompressionRecovery stores removed context for later retrieval.
type CompressionRecovery struct {
	Enabled            bool   `yaml:"enabled"`
	Store              string `yaml:"store"`
	TTLSeconds         int    `yaml:"ttl_seconds"`
	MaxBytesPerRequest int64  `yaml:"max_bytes_per_request"`
	MaxTotalBytes      int64  `yaml:"max_total_bytes"`
	MaxRetrievals      int    `yaml:"max_retrievals"`
}

// CompressionRequestControls lets clients steer compression.
type CompressionRequestControls struct {
	Enabled         bool     `yaml:"enabled"`
	Header          string   `yaml:"header"`
	Allowed         []string `yaml:"allowed"`
	MaxTargetTokens int      `yaml:"max_target_tokens"`
}

// ToolsPlugin filters the tools of a request (run by the gateway):
// mode passthrough (default) leaves them, filtered keeps allow_tools (all
// when empty) minus block_tools (block wins) and, with semantic_selection,
// only the 5 most similar to the query; none removes tools and
// tool_choice. strip_tool_history removes earlier tool calls and results
// from the conversation.
type ToolsPlugin struct {
	Enabled           bool     `yaml:"enabled"`
	Mode              string   `yaml:"mode"`
	SemanticSelection bool     `yaml:"semantic_selection"`
	AllowTools        []string `yaml:"allow_tools"`
	BlockTools        []string `yaml:"block_tools"`
	StripToolHistory  bool     `yaml:"strip_tool_history"`
}

// ToolSelectionPlugin adds or filters tools by similarity to the query
// (run by the gateway): mode filter keeps the request's tools scoring at
// least relevance_threshold (and the preserve_count best); mode add adds
// up to top_k tools of the JSON database at tools_db_path scoring at least
// similarity_threshold. See docs/operations.md for the database format.
type ToolSelectionPlugin struct {
	Enabled             bool               `yaml:"enabled"`
	Mode                string             `yaml:"mode"`
	ToolsDBPath         string             `yaml:"tools_db_path"`
	TopK                int                `yaml:"top_k"`
	SimilarityThreshold float64            `yaml:"similarity_threshold"`
	Strategy            string             `yaml:"strategy"`
	FallbackToEmpty     bool               `yaml:"fallback_to_empty"`
	AdvancedFiltering   *AdvancedFiltering `yaml:"advanced_filtering"`
	RelevanceThreshold  float64            `yaml:"relevance_threshold"`
	PreserveCount       int                `yaml:"preserve_count"`
}

// HallucinationPlugin checks answers against the request's context
// (validate_hallucination.go).
type HallucinationPlugin struct {
	Enabled                     bool   `yaml:"enabled"`
	UseNLI                      bool   `yaml:"use_nli"`
	HallucinationAction         string `yaml:"hallucination_action"`
	UnverifiedFactualAction     string `yaml:"unverified_factual_action"`
	IncludeHallucinationDetails bool   `yaml:"include_hallucination_details"`
}

// RouterReplayPlugin records requests for replay.
type RouterReplayPlugin struct {
	Enabled             bool  `yaml:"enabled"`
	MaxRecords          int   `yaml:"max_records"`
	CaptureRequestBody  bool  `yaml:"capture_request_body"`
	CaptureResponseBody bool  `yaml:"capture_response_body"`
	MaxBodyBytes        int64 `yaml:"max_body_bytes"`
	MaxToolTraceBytes   int64 `yaml:"max_tool_trace_bytes"`
	MaxToolTraceSteps   int   `yaml:"max_tool_trace_steps"`
}

// MemoryPlugin retrieves and stores agentic memory.
type MemoryPlugin struct {
	Enabled             bool              `yaml:"enabled"`
	RetrievalLimit      int               `yaml:"retrieval_limit"`
	SimilarityThreshold float64           `yaml:"similarity_threshold"`
	AutoStore           bool              `yaml:"auto_store"`
	HybridSearch        bool              `yaml:"hybrid_search"`
	HybridMode          string            `yaml:"hybrid_mode"`
	Reflection          *MemoryReflection `yaml:"reflection"`
}

// MemoryReflection tunes memory injection.
type MemoryReflection struct {
	Enabled          bool     `yaml:"enabled"`
	Algorithm        string   `yaml:"algorithm"`
	MaxInjectTokens  int      `yaml:"max_inject_tokens"`
	RecencyDecayDays int      `yaml:"recency_decay_days"`
	DedupThreshold   float64  `yaml:"dedup_threshold"`
	BlockPatterns    []string `yaml:"block_patterns"`
}

// ResponseJailbreakPlugin checks responses for jailbreak content.
type ResponseJailbreakPlugin struct {
	Enabled   bool    `yaml:"enabled"`
	Threshold float64 `yaml:"threshold"`
	Action    string  `yaml:"action"`
}

// RAGPlugin injects retrieved context. BackendConfig depends on Backend
// (milvus, external_api, mcp, openai, vectorstore, hybrid) and is kept as
// written; only external_api runs (validate_rag.go).
type RAGPlugin struct {
	Enabled                bool           `yaml:"enabled"`
	Backend                string         `yaml:"backend"`
	SimilarityThreshold    float64        `yaml:"similarity_threshold"`
	TopK                   int            `yaml:"top_k"`
	MaxContextLength       int            `yaml:"max_context_length"`
	InjectionMode          string         `yaml:"injection_mode"`
	OnFailure              string         `yaml:"on_failure"`
	CacheResults           bool           `yaml:"cache_results"`
	CacheTTLSeconds        int            `yaml:"cache_ttl_seconds"`
	MinConfidenceThreshold float64        `yaml:"min_confidence_threshold"`
	BackendConfig          map[string]any `yaml:"backend_config"`
}

// ImageGenPlugin routes image generation to a backend.
type ImageGenPlugin struct {
	Enabled           bool               `yaml:"enabled"`
	Backend           string             `yaml:"backend"`
	BackendConfig     map[string]any     `yaml:"backend_config"`
	ModalityDetection *ModalityDetection `yaml:"modality_detection"`
	DefaultWidth      int                `yaml:"default_width"`
	DefaultHeight     int                `yaml:"default_height"`
	MaxInferenceSteps int                `yaml:"max_inference_steps"`
	TimeoutSeconds    int                `yaml:"timeout_seconds"`
}

// ModalityDetection decides between text (AR), image (DIFFUSION) or BOTH.
type ModalityDetection struct {
	Enabled             *bool               `yaml:"enabled"`
	PromptPrefixes      []string            `yaml:"prompt_prefixes"`
	Method              string              `yaml:"method"`
	Classifier          *ModalityClassifier `yaml:"classifier" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	Keywords            []string            `yaml:"keywords"`
	BothKeywords        []string            `yaml:"both_keywords"`
	ConfidenceThreshold float64             `yaml:"confidence_threshold"`
	LowerThresholdRatio float64             `yaml:"lower_threshold_ratio"`
}

// ModalityClassifier is the local modality model.
type ModalityClassifier struct {
	ModelPath string `yaml:"model_path"`
	UseCPU    bool   `yaml:"use_cpu"`
}
