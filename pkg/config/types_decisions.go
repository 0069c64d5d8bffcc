package config

// Decision routes requests whose Rules match to one of its ModelRefs.
type Decision struct {
	Name               string              `yaml:"name"`
	Description        string              `yaml:"description"`
	Priority           int                 `yaml:"priority"`
	Tier               int                 `yaml:"tier"`
	OutputContract     string              `yaml:"output_contract" sr:"unimplemented"`
	OutputContractSpec *OutputContractSpec `yaml:"output_contract_spec" sr:"unimplemented"`
	Annotations        map[string]string   `yaml:"annotations"`
	Rules              RuleNode            `yaml:"rules"`
	ModelRefs          []ModelRef          `yaml:"modelRefs"`
	// CandidateIterations is DSL authoring sugar that expands into model refs.
	CandidateIterations []CandidateIteration `yaml:"candidateIterations" sr:"unimplemented"`
	Algorithm           *Algorithm           `yaml:"algorithm"`
	Adaptations         *Adaptations         `yaml:"adaptations" sr:"unimplemented"`
	Plugins             []Plugin             `yaml:"plugins"`
	Emits               []Emit               `yaml:"emits" sr:"unimplemented"`
}

// RuleNode is a boolean expression over signals: a leaf has Type and Name;
// an inner node has Operator (AND, OR, NOT) and Conditions. An AND node
// without conditions always matches.
type RuleNode struct {
	Operator   string     `yaml:"operator"`
	Conditions []RuleNode `yaml:"conditions"`
	Type       string     `yaml:"type"`
	Name       string     `yaml:"name"`
	// Label, Predicate and OnError apply to classifier leaves.
	Label     string            `yaml:"label"`
	Predicate *NumericPredicate `yaml:"predicate"`
	OnError   string            `yaml:"on_error"`
}

// IsLeaf reports whether the node references a signal.
func (r RuleNode) IsLeaf() bool { return r.Operator == "" && r.Type != "" }

// ModelRef is a candidate model of a decision.
type ModelRef struct {
	Model                string  `yaml:"model"`
	LoRAName             string  `yaml:"lora_name"`
	UseReasoning         *bool   `yaml:"use_reasoning"`
	ReasoningDescription string  `yaml:"reasoning_description"`
	ReasoningEffort      string  `yaml:"reasoning_effort"`
	Weight               float64 `yaml:"weight"`
}

// CandidateIteration expands a variable over a list of models.
type CandidateIteration struct {
	Variable string            `yaml:"variable"`
	Source   string            `yaml:"source"`
	Models   []ModelRef        `yaml:"models"`
	Outputs  []IterationOutput `yaml:"outputs"`
}

// IterationOutput binds an iteration variable to an output slot.
type IterationOutput struct {
	Type  string `yaml:"type"`
	Value string `yaml:"value"`
}

// OutputContractSpec describes how a decision's output is post-processed.
type OutputContractSpec struct {
	Type        string                   `yaml:"type"`
	Reference   *OutputContractReference `yaml:"reference"`
	Extract     *OutputContractExtract   `yaml:"extract"`
	Postprocess []OutputContractStep     `yaml:"postprocess"`
}

// OutputContractReference says where references come from.
type OutputContractReference struct {
	Source   string `yaml:"source"`
	IDFormat string `yaml:"id_format"`
}

// OutputContractExtract says how a selection is extracted.
type OutputContractExtract struct {
	Mode    string   `yaml:"mode"`
	Sources []string `yaml:"sources"`
}

// OutputContractStep is one post-processing step.
type OutputContractStep struct {
	Type string `yaml:"type"`
}

// Adaptations configures router-learning adaptation for a decision.
type Adaptations struct {
	Mode       string                `yaml:"mode"`
	Adaptation *AdaptationMode       `yaml:"adaptation"`
	Protection *AdaptationProtection `yaml:"protection"`
}

// AdaptationMode is observe, apply or bypass.
type AdaptationMode struct {
	Mode string `yaml:"mode"`
}

// AdaptationProtection tunes model-switch damping.
type AdaptationProtection struct {
	StabilityWeight float64 `yaml:"stability_weight"`
	SwitchMargin    float64 `yaml:"switch_margin"`
}

// Emit is a side output of a decision.
type Emit struct {
	Kind      string         `yaml:"kind"`
	Retention *RetentionEmit `yaml:"retention"`
}

// RetentionEmit tunes conversation retention.
type RetentionEmit struct {
	Drop                  bool `yaml:"drop"`
	TTLTurns              int  `yaml:"ttl_turns"`
	KeepCurrentModel      bool `yaml:"keep_current_model"`
	PreferPrefixRetention bool `yaml:"prefer_prefix_retention"`
}

// Algorithm selects among a decision's ModelRefs. Type names the algorithm;
// its settings live in the block named after it.
type Algorithm struct {
	Type         string                 `yaml:"type"`
	OnError      string                 `yaml:"on_error"`
	Confidence   *ConfidenceAlgorithm   `yaml:"confidence"`
	Ratings      *RatingsAlgorithm      `yaml:"ratings"`
	ReMoM        *ReMoMAlgorithm        `yaml:"remom"`
	Fusion       *FusionAlgorithm       `yaml:"fusion"`
	Workflows    *WorkflowsAlgorithm    `yaml:"workflows"`
	RouterDC     *RouterDCConfig        `yaml:"router_dc"`
	AutoMix      *AutoMixConfig         `yaml:"automix"`
	Hybrid       *HybridConfig          `yaml:"hybrid"`
	LatencyAware *LatencyAwareAlgorithm `yaml:"latency_aware"`
	MultiFactor  *MultiFactorAlgorithm  `yaml:"multi_factor"`
	Prompt       *PromptAlgorithm       `yaml:"prompt"`
	Extra        map[string]any         `yaml:",inline"`
}

// ConfidenceAlgorithm escalates through models until confidence is reached.
type ConfidenceAlgorithm struct {
	ConfidenceMethod       string         `yaml:"confidence_method"`
	Threshold              float64        `yaml:"threshold"`
	HybridWeights          *HybridWeights `yaml:"hybrid_weights"`
	OnError                string         `yaml:"on_error"`
	EscalationOrder        string         `yaml:"escalation_order"`
	CostQualityTradeoff    float64        `yaml:"cost_quality_tradeoff"`
	TokenFilter            string         `yaml:"token_filter"`
	VerifierServerURL      string         `yaml:"verifier_server_url"`
	VerifierTimeoutSeconds int            `yaml:"verifier_timeout_seconds"`
}

// HybridWeights weighs logprob and margin confidence.
type HybridWeights struct {
	LogprobWeight float64 `yaml:"logprob_weight"`
	MarginWeight  float64 `yaml:"margin_weight"`
}

// RatingsAlgorithm runs models concurrently and rates them.
type RatingsAlgorithm struct {
	MaxConcurrent int    `yaml:"max_concurrent"`
	OnError       string `yaml:"on_error"`
}

// ReMoMAlgorithm is multi-round mixture-of-models.
type ReMoMAlgorithm struct {
	BreadthSchedule              []int   `yaml:"breadth_schedule"`
	ModelDistribution            string  `yaml:"model_distribution"`
	Temperature                  float64 `yaml:"temperature"`
	IncludeReasoning             bool    `yaml:"include_reasoning"`
	CompactionStrategy           string  `yaml:"compaction_strategy"`
	CompactionTokens             int     `yaml:"compaction_tokens"`
	SynthesisTemplate            string  `yaml:"synthesis_template"`
	SynthesisModel               string  `yaml:"synthesis_model"`
	MaxConcurrent                int     `yaml:"max_concurrent"`
	MaxCompletionTokens          int     `yaml:"max_completion_tokens"`
	RoundTimeoutSeconds          int     `yaml:"round_timeout_seconds"`
	MinSuccessfulResponses       int     `yaml:"min_successful_responses"`
	OnError                      string  `yaml:"on_error"`
	ShuffleSeed                  int     `yaml:"shuffle_seed"`
	IncludeIntermediateResponses bool    `yaml:"include_intermediate_responses"`
	MaxResponsesPerRound         int     `yaml:"max_responses_per_round"`
}

// FusionAlgorithm fuses a panel of analyses with a judge model.
type FusionAlgorithm struct {
	Model                        string           `yaml:"model"`
	AnalysisModels               []string         `yaml:"analysis_models"`
	AnalysisOverrides            []FusionOverride `yaml:"analysis_overrides"`
	MaxConcurrent                int              `yaml:"max_concurrent"`
	MaxCompletionTokens          int              `yaml:"max_completion_tokens"`
	RoundTimeoutSeconds          int              `yaml:"round_timeout_seconds"`
	MinSuccessfulResponses       int              `yaml:"min_successful_responses"`
	Temperature                  float64          `yaml:"temperature"`
	IncludeAnalysis              bool             `yaml:"include_analysis"`
	IncludeIntermediateResponses bool             `yaml:"include_intermediate_responses"`
	OnError                      string           `yaml:"on_error"`
	AnalysisTemplate             string           `yaml:"analysis_template"`
	SynthesisTemplate            string           `yaml:"synthesis_template"`
	JudgePromptVersion           string           `yaml:"judge_prompt_version"`
	Grounding                    *FusionGrounding `yaml:"grounding"`
}

// FusionOverride tunes one analysis model.
type FusionOverride struct {
	Model               string  `yaml:"model"`
	Temperature         float64 `yaml:"temperature"`
	MaxCompletionTokens int     `yaml:"max_completion_tokens"`
}

// FusionGrounding scores panel responses for faithfulness.
type FusionGrounding struct {
	Enabled                 bool    `yaml:"enabled"`
	Reference               string  `yaml:"reference"`
	Policy                  string  `yaml:"policy"`
	MinScore                float64 `yaml:"min_score"`
	MinKeep                 int     `yaml:"min_keep"`
	NLIContradictionPenalty float64 `yaml:"nli_contradiction_penalty"`
	OnError                 string  `yaml:"on_error"`
}

// WorkflowsAlgorithm runs a bounded micro-agent workflow.
type WorkflowsAlgorithm struct {
	Mode                         string           `yaml:"mode"`
	Template                     string           `yaml:"template"`
	Planner                      *WorkflowPlanner `yaml:"planner"`
	MaxSteps                     int              `yaml:"max_steps"`
	MaxParallel                  int              `yaml:"max_parallel"`
	MaxCompletionTokens          int              `yaml:"max_completion_tokens"`
	RoundTimeoutSeconds          int              `yaml:"round_timeout_seconds"`
	MinSuccessfulResponses       int              `yaml:"min_successful_responses"`
	Temperature                  float64          `yaml:"temperature"`
	IncludeIntermediateResponses bool             `yaml:"include_intermediate_responses"`
	OnError                      string           `yaml:"on_error"`
}

// WorkflowPlanner names the planning model.
type WorkflowPlanner struct {
	Model string `yaml:"model"`
}

// RouterDCConfig is dual-contrastive query/model embedding selection.
type RouterDCConfig struct {
	Temperature         float64 `yaml:"temperature"`
	DimensionSize       int     `yaml:"dimension_size" sr:"unimplemented"`
	MinSimilarity       float64 `yaml:"min_similarity"`
	UseQueryContrastive bool    `yaml:"use_query_contrastive" sr:"unimplemented"`
	UseModelContrastive bool    `yaml:"use_model_contrastive" sr:"unimplemented"`
	RequireDescriptions bool    `yaml:"require_descriptions"`
	UseCapabilities     bool    `yaml:"use_capabilities" sr:"unimplemented"`
}

// AutoMixConfig is self-verification with cost-aware escalation.
type AutoMixConfig struct {
	VerificationThreshold  float64 `yaml:"verification_threshold"`
	MaxEscalations         int     `yaml:"max_escalations"`
	CostAwareRouting       bool    `yaml:"cost_aware_routing"`
	CostQualityTradeoff    float64 `yaml:"cost_quality_tradeoff"`
	DiscountFactor         float64 `yaml:"discount_factor"`
	UseLogprobVerification bool    `yaml:"use_logprob_verification"`
}

// HybridConfig blends several selection methods.
type HybridConfig struct {
	ExperienceWeight    float64 `yaml:"experience_weight"`
	RouterDCWeight      float64 `yaml:"router_dc_weight"`
	AutoMixWeight       float64 `yaml:"automix_weight"`
	CostWeight          float64 `yaml:"cost_weight"`
	QualityGapThreshold float64 `yaml:"quality_gap_threshold"`
	NormalizeScores     bool    `yaml:"normalize_scores"`
}

// LatencyAwareAlgorithm prefers models with low observed TPOT/TTFT percentiles.
type LatencyAwareAlgorithm struct {
	TPOTPercentile int    `yaml:"tpot_percentile"`
	TTFTPercentile int    `yaml:"ttft_percentile"`
	Description    string `yaml:"description"`
}

// MultiFactorAlgorithm scores quality, latency, cost and load with optional SLOs.
type MultiFactorAlgorithm struct {
	Weights           MultiFactorWeights `yaml:"weights"`
	SLO               *MultiFactorSLO    `yaml:"slo"`
	LatencyPercentile int                `yaml:"latency_percentile"`
	OnNoCandidates    string             `yaml:"on_no_candidates"`
}

// MultiFactorWeights weighs the factors of MultiFactorAlgorithm.
type MultiFactorWeights struct {
	Quality float64 `yaml:"quality"`
	Latency float64 `yaml:"latency"`
	Cost    float64 `yaml:"cost"`
	Load    float64 `yaml:"load"`
}

// MultiFactorSLO are hard ceilings; candidates above them are dropped.
type MultiFactorSLO struct {
	MaxTPOTMs    float64 `yaml:"max_tpot_ms"`
	MaxTTFTMs    float64 `yaml:"max_ttft_ms"`
	MaxCostPer1M float64 `yaml:"max_cost_per_1m"`
	MaxInflight  int     `yaml:"max_inflight"`
}

// PromptAlgorithm asks a model to choose among the candidates.
type PromptAlgorithm struct {
	Model          string `yaml:"model"`
	Instructions   string `yaml:"instructions"`
	TimeoutSeconds int    `yaml:"timeout_seconds"`
}
