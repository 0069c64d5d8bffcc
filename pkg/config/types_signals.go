package config

// Signals are the named detectors a routing profile declares, one list per
// family. Families tagged `sr:"signal"` are accepted and kept but not
// evaluated by semrouter: conditions on them never match.
type Signals struct {
	Keywords      []KeywordSignal      `yaml:"keywords"`
	Embeddings    []EmbeddingSignal    `yaml:"embeddings"`
	Domains       []DomainSignal       `yaml:"domains"`
	FactCheck     []DescribedSignal    `yaml:"fact_check"`
	UserFeedbacks []DescribedSignal    `yaml:"user_feedbacks"`
	Reasks        []ReaskSignal        `yaml:"reasks"`
	Preferences   []PreferenceSignal   `yaml:"preferences"`
	Language      []LanguageSignal     `yaml:"language"`
	Context       []ContextSignal      `yaml:"context"`
	Structure     []StructureSignal    `yaml:"structure"`
	Complexity    []ComplexitySignal   `yaml:"complexity"`
	Modality      []DescribedSignal    `yaml:"modality"`
	RoleBindings  []RoleBindingSignal  `yaml:"role_bindings"`
	Jailbreak     []JailbreakSignal    `yaml:"jailbreak"`
	PII           []PIISignal          `yaml:"pii"`
	KB            []KBSignal           `yaml:"kb"`
	Conversation  []ConversationSignal `yaml:"conversation"`
	Events        []EventSignal        `yaml:"events" sr:"signal"`
	Metadata      []MetadataSignal     `yaml:"metadata"`
	Classifiers   []ClassifierSignal   `yaml:"classifiers"`
	InputModality []GenericSignal      `yaml:"input_modality" sr:"signal"`
}

// KeywordSignal matches keywords: Method is regex (default), bm25, ngram or
// fuzzy; Operator is AND, OR or NOR.
type KeywordSignal struct {
	Name           string   `yaml:"name"`
	Operator       string   `yaml:"operator"`
	Method         string   `yaml:"method"`
	Keywords       []string `yaml:"keywords"`
	CaseSensitive  bool     `yaml:"case_sensitive"`
	BM25Threshold  float64  `yaml:"bm25_threshold"`
	NgramThreshold float64  `yaml:"ngram_threshold"`
	NgramArity     int      `yaml:"ngram_arity"`
	FuzzyMatch     bool     `yaml:"fuzzy_match"`
	// FuzzyThreshold is a 0-100 similarity score.
	FuzzyThreshold float64 `yaml:"fuzzy_threshold"`
}

// EmbeddingSignal matches when the query is similar to its candidates.
type EmbeddingSignal struct {
	Name              string   `yaml:"name"`
	Threshold         float64  `yaml:"threshold"`
	AggregationMethod string   `yaml:"aggregation_method"`
	TopK              int      `yaml:"top_k"`
	Model             string   `yaml:"model" sr:"unimplemented" srnote:"every embedding signal uses the default semantic embedding model"`
	QueryModality     string   `yaml:"query_modality"`
	Candidates        []string `yaml:"candidates"`
	Description       string   `yaml:"description"`
}

// DomainSignal is a domain (category) of the domain classifier.
type DomainSignal struct {
	Name           string       `yaml:"name"`
	Description    string       `yaml:"description"`
	MMLUCategories []string     `yaml:"mmlu_categories"`
	ModelScores    []ModelScore `yaml:"model_scores" sr:"unimplemented"`
}

// ModelScore is a legacy per-domain model preference.
type ModelScore struct {
	Model        string  `yaml:"model"`
	Score        float64 `yaml:"score"`
	UseReasoning *bool   `yaml:"use_reasoning"`
}

// DescribedSignal is a signal declared by name and description (modality,
// fact_check, user_feedbacks). The classifier knows the usual fact_check and
// user_feedbacks names; for any other name it compares the request with the
// description.
type DescribedSignal struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}

// GenericSignal is a signal of a family whose fields are kept as written.
type GenericSignal struct {
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	Extra       map[string]any `yaml:",inline"`
}

// ReaskSignal matches a user turn that repeats earlier user turns.
type ReaskSignal struct {
	Name          string  `yaml:"name"`
	Description   string  `yaml:"description"`
	Threshold     float64 `yaml:"threshold"`
	LookbackTurns int     `yaml:"lookback_turns"`
}

// PreferenceSignal matches requests similar to its examples.
type PreferenceSignal struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Examples    []string `yaml:"examples"`
	Threshold   float64  `yaml:"threshold"`
}

// LanguageSignal matches a detected language (Name is the code, e.g. "es").
// Threshold 0 means the detector's default confidence.
type LanguageSignal struct {
	Name        string  `yaml:"name"`
	Description string  `yaml:"description"`
	Threshold   float64 `yaml:"threshold"`
}

// ContextSignal matches requests whose token count is in [MinTokens, MaxTokens].
type ContextSignal struct {
	Name        string     `yaml:"name"`
	MinTokens   TokenCount `yaml:"min_tokens"`
	MaxTokens   TokenCount `yaml:"max_tokens"`
	Description string     `yaml:"description"`
}

// NumericPredicate bounds a value; unset bounds are open.
type NumericPredicate struct {
	GT  *float64 `yaml:"gt"`
	GTE *float64 `yaml:"gte"`
	LT  *float64 `yaml:"lt"`
	LTE *float64 `yaml:"lte"`
}

// Feature is a measurement of the request: Type is count, exists, density
// or sequence; Source says what is measured.
type Feature struct {
	Type   string        `yaml:"type"`
	Source FeatureSource `yaml:"source"`
}

// FeatureSource is what a Feature measures: regex (Pattern), keyword_set
// (Keywords), sequence (Sequences), text_bytes, message (Role),
// tool_definition, active_tool_loop, image_content.
type FeatureSource struct {
	Type          string     `yaml:"type"`
	Pattern       string     `yaml:"pattern"`
	Keywords      []string   `yaml:"keywords"`
	Sequences     [][]string `yaml:"sequences"`
	CaseSensitive bool       `yaml:"case_sensitive"`
	Role          string     `yaml:"role"`
}

// StructureSignal measures the shape of the current user turn.
type StructureSignal struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Feature     Feature           `yaml:"feature"`
	Predicate   *NumericPredicate `yaml:"predicate"`
}

// ConversationSignal measures the conversation (messages, tools).
type ConversationSignal struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Feature     Feature           `yaml:"feature"`
	Predicate   *NumericPredicate `yaml:"predicate"`
}

// ComplexitySignal classifies a request as easy, medium or hard by
// similarity to hard and easy examples. Conditions reference it as
// "name:easy", "name:medium" or "name:hard".
type ComplexitySignal struct {
	Name        string             `yaml:"name"`
	Threshold   float64            `yaml:"threshold"`
	Description string             `yaml:"description"`
	Hard        ComplexityExamples `yaml:"hard"`
	Easy        ComplexityExamples `yaml:"easy"`
	// Composer, when set, restricts the signal to requests matching it.
	Composer *RuleNode `yaml:"composer"`
}

// ComplexityExamples are example prompts of one difficulty level.
type ComplexityExamples struct {
	Candidates      []string `yaml:"candidates"`
	ImageCandidates []string `yaml:"image_candidates" sr:"unimplemented"`
}

// RoleBindingSignal matches callers bound to a role (condition type "authz").
type RoleBindingSignal struct {
	Name        string    `yaml:"name"`
	Description string    `yaml:"description"`
	Role        string    `yaml:"role"`
	Subjects    []Subject `yaml:"subjects"`
}

// Subject is a User or Group.
type Subject struct {
	Kind string `yaml:"kind"`
	Name string `yaml:"name"`
}

// JailbreakSignal detects prompt injection (Method classifier, pattern or hybrid).
type JailbreakSignal struct {
	Name              string   `yaml:"name"`
	Method            string   `yaml:"method"`
	Threshold         float64  `yaml:"threshold"`
	IncludeHistory    bool     `yaml:"include_history"`
	Description       string   `yaml:"description"`
	JailbreakPatterns []string `yaml:"jailbreak_patterns"`
	BenignPatterns    []string `yaml:"benign_patterns"`
}

// PIISignal matches requests containing PII types not in PIITypesAllowed.
type PIISignal struct {
	Name            string   `yaml:"name"`
	Threshold       float64  `yaml:"threshold"`
	IncludeHistory  bool     `yaml:"include_history"`
	PIITypesAllowed []string `yaml:"pii_types_allowed"`
	Description     string   `yaml:"description"`
}

// KBSignal matches a knowledge-base label or group.
type KBSignal struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	KB          string   `yaml:"kb"`
	Target      KBTarget `yaml:"target"`
	Match       string   `yaml:"match"`
}

// KBTarget selects a label or group of a knowledge base.
type KBTarget struct {
	Kind  string `yaml:"kind"`
	Value string `yaml:"value"`
}

// EventSignal matches event payloads.
type EventSignal struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	EventTypes  []string `yaml:"event_types"`
	Severities  []string `yaml:"severities"`
	ActionCodes []string `yaml:"action_codes"`
	Temporal    bool     `yaml:"temporal"`
}

// MetadataSignal matches request metadata (a header-provided key).
type MetadataSignal struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Key         string            `yaml:"key"`
	Predicate   MetadataPredicate `yaml:"predicate"`
}

// MetadataPredicate tests a metadata value.
type MetadataPredicate struct {
	Equals    string   `yaml:"equals"`
	NotEquals string   `yaml:"not_equals"`
	In        []string `yaml:"in"`
	Exists    *bool    `yaml:"exists"`
}

// ClassifierSignal is a generic classifier head (local model or LLM).
type ClassifierSignal struct {
	Name         string   `yaml:"name"`
	Description  string   `yaml:"description"`
	Type         string   `yaml:"type"`
	ModelPath    string   `yaml:"model_path"`
	Model        string   `yaml:"model"`
	Labels       []string `yaml:"labels"`
	UseCPU       bool     `yaml:"use_cpu"`
	Instructions string   `yaml:"instructions"`
}

// Projections derive new routing inputs from signal results.
type Projections struct {
	Partitions []Partition `yaml:"partitions"`
	Scores     []Score     `yaml:"scores"`
	Mappings   []Mapping   `yaml:"mappings"`
}

// Partition makes its member signals (of one family) mutually exclusive.
type Partition struct {
	Name        string   `yaml:"name"`
	Semantics   string   `yaml:"semantics"`
	Temperature float64  `yaml:"temperature"`
	Members     []string `yaml:"members"`
	Default     string   `yaml:"default"`
}

// Score combines signal results into a number (Method weighted_sum).
type Score struct {
	Name   string       `yaml:"name"`
	Method string       `yaml:"method"`
	Inputs []ScoreInput `yaml:"inputs"`
}

// ScoreInput is one weighted term of a Score. ValueSource is binary
// (Match/Miss values), confidence or score.
type ScoreInput struct {
	Type        string   `yaml:"type"`
	Name        string   `yaml:"name"`
	KB          string   `yaml:"kb"`
	Metric      string   `yaml:"metric"`
	Weight      float64  `yaml:"weight"`
	ValueSource string   `yaml:"value_source"`
	Match       *float64 `yaml:"match"`
	Miss        *float64 `yaml:"miss"`
}

// Mapping turns a Score into named bands that conditions reference with
// type "projection".
type Mapping struct {
	Name        string          `yaml:"name"`
	Source      string          `yaml:"source"`
	Method      string          `yaml:"method"`
	Calibration *Calibration    `yaml:"calibration"`
	Outputs     []MappingOutput `yaml:"outputs"`
}

// Calibration turns a band distance into a confidence (sigmoid_distance).
type Calibration struct {
	Method string  `yaml:"method"`
	Slope  float64 `yaml:"slope"`
}

// MappingOutput is one band of a Mapping.
type MappingOutput struct {
	Name string   `yaml:"name"`
	GT   *float64 `yaml:"gt"`
	GTE  *float64 `yaml:"gte"`
	LT   *float64 `yaml:"lt"`
	LTE  *float64 `yaml:"lte"`
}
