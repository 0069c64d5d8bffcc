package config

// ModelCatalog names the models the router itself runs.
type ModelCatalog struct {
	Embeddings *CatalogEmbeddings `yaml:"embeddings"`
	// System maps roles (prompt_guard, domain_classifier, pii_classifier,
	// fact_check_classifier, ...) to model paths; modules refer to them
	// through model_ref.
	System   map[string]string `yaml:"system" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	External []ExternalModel   `yaml:"external"`
	KBs      []KnowledgeBase   `yaml:"kbs"`
	Modules  *Modules          `yaml:"modules"`
}

// CatalogEmbeddings configures embedding models.
type CatalogEmbeddings struct {
	Semantic *SemanticEmbeddings `yaml:"semantic"`
}

// SemanticEmbeddings are the embedding models used by signals and the cache.
type SemanticEmbeddings struct {
	Qwen3ModelPath      string             `yaml:"qwen3_model_path"`
	GemmaModelPath      string             `yaml:"gemma_model_path"`
	MmBERTModelPath     string             `yaml:"mmbert_model_path"`
	MultimodalModelPath string             `yaml:"multimodal_model_path"`
	BERTModelPath       string             `yaml:"bert_model_path"`
	UseCPU              bool               `yaml:"use_cpu"`
	EmbeddingConfig     *EmbeddingSettings `yaml:"embedding_config"`
	Endpoint            *EmbeddingEndpoint `yaml:"endpoint"`
}

// EmbeddingSettings tunes how signals use embeddings.
type EmbeddingSettings struct {
	Backend            string            `yaml:"backend"`
	ModelType          string            `yaml:"model_type"`
	PreloadEmbeddings  bool              `yaml:"preload_embeddings"`
	TargetDimension    int               `yaml:"target_dimension"`
	TargetLayer        int               `yaml:"target_layer" sr:"unimplemented"`
	EnableSoftMatching bool              `yaml:"enable_soft_matching"`
	TopK               int               `yaml:"top_k"`
	MinScoreThreshold  float64           `yaml:"min_score_threshold"`
	PrototypeScoring   *PrototypeScoring `yaml:"prototype_scoring"`
}

// PrototypeScoring clusters candidates into prototypes.
type PrototypeScoring struct {
	Enabled                    bool    `yaml:"enabled"`
	ClusterSimilarityThreshold float64 `yaml:"cluster_similarity_threshold"`
	MaxPrototypes              int     `yaml:"max_prototypes"`
	BestWeight                 float64 `yaml:"best_weight"`
	TopM                       int     `yaml:"top_m"`
	MarginThreshold            float64 `yaml:"margin_threshold"`
}

// EmbeddingEndpoint is a remote OpenAI-compatible embedding service.
type EmbeddingEndpoint struct {
	BaseURL        string `yaml:"base_url"`
	Model          string `yaml:"model"`
	APIKeyEnv      string `yaml:"api_key_env"`
	TimeoutSeconds int    `yaml:"timeout_seconds"`
	MaxRetries     int    `yaml:"max_retries"`
	Dimensions     int    `yaml:"dimensions"`
}

// ExternalModel is an LLM the router calls for guardrails or classification.
type ExternalModel struct {
	Name              string       `yaml:"name"`
	LLMProvider       string       `yaml:"llm_provider"`
	ModelRole         string       `yaml:"model_role"`
	LLMEndpoint       *LLMEndpoint `yaml:"llm_endpoint"`
	LLMModelName      string       `yaml:"llm_model_name"`
	LLMTimeoutSeconds int          `yaml:"llm_timeout_seconds"`
	ParserType        string       `yaml:"parser_type"`
	Threshold         float64      `yaml:"threshold"`
	AccessKey         string       `yaml:"access_key"`
	MaxTokens         int          `yaml:"max_tokens"`
	Temperature       float64      `yaml:"temperature"`
}

// LLMEndpoint is where an external model is served.
type LLMEndpoint struct {
	Address         string `yaml:"address"`
	Port            int    `yaml:"port"`
	Protocol        string `yaml:"protocol"`
	Name            string `yaml:"name"`
	UseChatTemplate bool   `yaml:"use_chat_template"`
	PromptTemplate  string `yaml:"prompt_template"`
}

// KnowledgeBase is a labelled example set used by kb signals and
// kb_metric projection inputs. Source.Path is a directory whose manifest
// (default DefaultKBManifest) names the labels and their example files;
// the classifier reads it per revision (services/classifier/kb).
type KnowledgeBase struct {
	Name             string              `yaml:"name"`
	Source           *KBSource           `yaml:"source"`
	Threshold        float64             `yaml:"threshold"`
	PrototypeScoring *PrototypeScoring   `yaml:"prototype_scoring"`
	LabelThresholds  map[string]float64  `yaml:"label_thresholds"`
	Groups           map[string][]string `yaml:"groups"`
	Metrics          []KBMetric          `yaml:"metrics"`
}

// KBSource locates a knowledge base on disk.
type KBSource struct {
	Path     string `yaml:"path"`
	Manifest string `yaml:"manifest"`
}

// KBMetric derives a number from group scores.
type KBMetric struct {
	Name          string `yaml:"name"`
	Type          string `yaml:"type"`
	PositiveGroup string `yaml:"positive_group"`
	NegativeGroup string `yaml:"negative_group"`
}

// Modules configures the router's built-in classifier modules.
type Modules struct {
	PromptCompression       *PromptCompression       `yaml:"prompt_compression" sr:"unimplemented"`
	PromptGuard             *ClassifierModel         `yaml:"prompt_guard" sr:"unimplemented" srnote:"jailbreak signals use semrouter's built-in detector"`
	Classifier              *ClassifierModules       `yaml:"classifier"`
	Complexity              *ComplexityModule        `yaml:"complexity"`
	HallucinationMitigation *HallucinationMitigation `yaml:"hallucination_mitigation" sr:"unimplemented" srnote:"the hallucination plugin checks answers with semrouter's built-in lexical and embedding grounding check"`
	FeedbackDetector        *ClassifierModel         `yaml:"feedback_detector" sr:"unimplemented" srnote:"user_feedbacks signals use semrouter's built-in detector"`
	ModalityDetector        *ModalityDetection       `yaml:"modality_detector"`
}

// PromptCompression shortens long prompts before classification.
type PromptCompression struct {
	Enabled        bool     `yaml:"enabled"`
	Profile        string   `yaml:"profile"`
	MaxTokens      int      `yaml:"max_tokens"`
	MinLength      int      `yaml:"min_length"`
	SkipSignals    []string `yaml:"skip_signals"`
	TextRankWeight float64  `yaml:"textrank_weight"`
	PositionWeight float64  `yaml:"position_weight"`
	TFIDFWeight    float64  `yaml:"tfidf_weight"`
	NoveltyWeight  float64  `yaml:"novelty_weight"`
	PositionDepth  float64  `yaml:"position_depth"`
	PreserveFirstN int      `yaml:"preserve_first_n"`
	PreserveLastN  int      `yaml:"preserve_last_n"`
}

// ClassifierModel is a sequence/token classifier model (prompt guard,
// domain, PII, fact check, feedback).
type ClassifierModel struct {
	Enabled              *bool    `yaml:"enabled"`
	ModelRef             string   `yaml:"model_ref" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	ModelID              string   `yaml:"model_id" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	Threshold            float64  `yaml:"threshold"`
	UseCPU               bool     `yaml:"use_cpu" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	UseModernBERT        bool     `yaml:"use_modernbert" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	UseMmBERT32K         bool     `yaml:"use_mmbert_32k" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	Variant              string   `yaml:"variant" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	CategoryMappingPath  string   `yaml:"category_mapping_path" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	PIIMappingPath       string   `yaml:"pii_mapping_path" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	JailbreakMappingPath string   `yaml:"jailbreak_mapping_path" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	FeedbackMappingPath  string   `yaml:"feedback_mapping_path" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	FallbackCategory     string   `yaml:"fallback_category"`
	PositiveLabels       []string `yaml:"positive_labels" sr:"unimplemented" srnote:"semrouter runs its built-in models"`
	// OnError is allow (default) or block.
	OnError string `yaml:"on_error"`
}

// IsEnabled reports whether the module runs: an explicit flag wins,
// otherwise it runs when a model is configured.
func (c *ClassifierModel) IsEnabled() bool {
	if c == nil {
		return false
	}
	return boolOr(c.Enabled, c.ModelID != "" || c.ModelRef != "")
}

// ClassifierModules are the domain, MCP, PII and preference classifiers.
type ClassifierModules struct {
	Domain     *ClassifierModel      `yaml:"domain"`
	MCP        *MCPClassifier        `yaml:"mcp" sr:"unimplemented"`
	PII        *ClassifierModel      `yaml:"pii" sr:"unimplemented" srnote:"PII signals use semrouter's built-in detector"`
	Preference *PreferenceClassifier `yaml:"preference"`
}

// MCPClassifier classifies through an MCP tool.
type MCPClassifier struct {
	Enabled        bool              `yaml:"enabled"`
	TransportType  string            `yaml:"transport_type"`
	Command        string            `yaml:"command"`
	Args           []string          `yaml:"args"`
	Env            map[string]string `yaml:"env"`
	URL            string            `yaml:"url"`
	ToolName       string            `yaml:"tool_name"`
	Threshold      float64           `yaml:"threshold"`
	TimeoutSeconds int               `yaml:"timeout_seconds"`
}

// PreferenceClassifier configures preference signals.
type PreferenceClassifier struct {
	UseContrastive   bool              `yaml:"use_contrastive" sr:"unimplemented"`
	EmbeddingModel   string            `yaml:"embedding_model" sr:"unimplemented"`
	PrototypeScoring *PrototypeScoring `yaml:"prototype_scoring"`
}

// ComplexityModule configures complexity signals.
type ComplexityModule struct {
	PrototypeScoring *PrototypeScoring `yaml:"prototype_scoring"`
}

// HallucinationMitigation configures fact checking and hallucination detection.
type HallucinationMitigation struct {
	Enabled                 bool             `yaml:"enabled"`
	OnHallucinationDetected string           `yaml:"on_hallucination_detected"`
	FactCheck               *ClassifierModel `yaml:"fact_check"`
	Detector                *DetectorModel   `yaml:"detector"`
	Explainer               *ClassifierModel `yaml:"explainer"`
}

// DetectorModel is a token-level hallucination detector.
type DetectorModel struct {
	Backend                string  `yaml:"backend"`
	Endpoint               string  `yaml:"endpoint"`
	IncludeExplanation     bool    `yaml:"include_explanation"`
	ModelRef               string  `yaml:"model_ref"`
	ModelID                string  `yaml:"model_id"`
	Threshold              float64 `yaml:"threshold"`
	UseCPU                 bool    `yaml:"use_cpu"`
	MinSpanLength          int     `yaml:"min_span_length"`
	MinSpanConfidence      float64 `yaml:"min_span_confidence"`
	ContextWindowSize      int     `yaml:"context_window_size"`
	EnableNLIFiltering     bool    `yaml:"enable_nli_filtering"`
	NLIEntailmentThreshold float64 `yaml:"nli_entailment_threshold"`
}
