// Package engine is the classifier's decision engine: it evaluates
// projections (partitions, scores, mappings) over a request's signal.Set,
// evaluates every decision's rule tree, ranks the matching decisions and
// chooses a model among the winner's modelRefs.
//
// The input is a Spec, plain Go structs that mirror the v0.3 YAML keys under
// `routing.projections`, `routing.decisions`, `routing.strategy`,
// `entrypoints` and `recipes`. Compile turns it into an immutable Engine in
// which every condition is resolved to a slot, so evaluating a request walks
// flat slices and allocates nothing in steady state.
package engine

import (
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// Spec is everything the engine compiles.
type Spec struct {
	// Routing is the top-level `routing` block.
	Routing Routing
	// Recipes are `recipes[*]`; each carries its own routing.
	Recipes []Recipe
	// Entrypoints map virtual model names to recipes (`entrypoints[*]`).
	// The recipe name "default" means the top-level routing.
	Entrypoints []Entrypoint
	// DefaultModel is `providers.defaults.default_model`, used when no
	// decision matches.
	DefaultModel string
	// Models describes the models modelRefs can name: `routing.modelCards`
	// merged with `providers.models[*].pricing`. Used by multi_factor.
	Models []ModelInfo
}

// Routing mirrors one `routing` block (top level or a recipe's).
type Routing struct {
	// Strategy is `routing.strategy`: "priority" (default) or "confidence".
	Strategy string
	// Signals lists the declared signal rules (`routing.signals.*`), used to
	// validate conditions, resolve partition members to their family and
	// expand domain conditions to their mmlu_categories. A recipe's list is
	// merged over the top-level one.
	Signals     []SignalDecl
	Projections Projections
	Decisions   []Decision
}

// SignalDecl is one declared signal rule.
type SignalDecl struct {
	Family signal.Family
	Name   string
	// MMLUCategories is `domains[*].mmlu_categories`: a `domain: Name`
	// condition also matches when the domain family reports any of these.
	MMLUCategories []string
}

// Projections mirrors `routing.projections`.
type Projections struct {
	Partitions []Partition
	Scores     []Score
	Mappings   []Mapping
}

// Partition mirrors `projections.partitions[*]`.
type Partition struct {
	Name        string
	Semantics   string // "exclusive" | "softmax_exclusive"
	Temperature float64
	Members     []string // declared signal names (one family)
	Default     string
}

// Score mirrors `projections.scores[*]`.
type Score struct {
	Name   string
	Method string // "weighted_sum"
	Inputs []ScoreInput
}

// ScoreInput mirrors `projections.scores[*].inputs[*]`.
type ScoreInput struct {
	// Type is a signal family, "projection" (an earlier score or a
	// partition member) or "kb_metric" (read as the raw value the kb family
	// reports under the name "<kb>:<metric>").
	Type   string
	Name   string
	KB     string // kb_metric only
	Metric string // kb_metric only
	Weight float64
	// ValueSource is "binary" (default; also "match"), "confidence" or
	// "raw" (the family's raw measurement, matched or not).
	ValueSource string
	Match       *float64 // binary value when matched; default 1
	Miss        float64  // binary value when not matched
}

// Mapping mirrors `projections.mappings[*]`.
type Mapping struct {
	Name   string
	Source string // a score name
	// Method is "threshold_bands" (first matching band, the default) or
	// "multi_emit" (every matching band).
	Method string
	// MultiEmit forces multi_emit behaviour whatever Method says.
	MultiEmit   bool
	Calibration *Calibration
	Outputs     []Band
}

// Calibration mirrors `mappings[*].calibration`.
type Calibration struct {
	Method string  // "sigmoid_distance"
	Slope  float64 // default 12
}

// Band mirrors `mappings[*].outputs[*]`.
type Band struct {
	Name             string
	GT, GTE, LT, LTE *float64
}

// Decision mirrors `routing.decisions[*]`.
type Decision struct {
	Name        string
	Description string
	Priority    int
	Tier        int
	Rules       Rule
	ModelRefs   []ModelRef
	Algorithm   *Algorithm
	Plugins     []Plugin
}

// Rule is one node of a decision's rule tree: either an operator node
// (Operator + Conditions) or a leaf condition (Type + Name).
type Rule struct {
	Operator   string // "AND" | "OR" | "NOT"; empty on leaves
	Conditions []Rule
	Type       string // signal family or "projection"
	Name       string
	// Label selects one label of a classifier-family rule; the engine looks
	// the rule up as "Name:Label".
	Label string
	// Predicate, when set, matches on the rule's raw value (Set.Score)
	// instead of on the family's own match.
	Predicate *Predicate
	// OnError (leaf) decides a leaf whose family failed: "match",
	// "no_match", or "fail" (the leaf stays unknown and, when that leaves
	// the decision unknown, the request fails as with on_unknown:
	// fail_request); empty leaves it unknown.
	OnError string
	// OnUnknown (root only) decides a decision whose tree is unknown
	// because a family failed: "no_match" (default), "match",
	// "fail_request".
	OnUnknown string
}

// Predicate is a numeric range; nil bounds are open.
type Predicate struct {
	GT, GTE, LT, LTE *float64
}

// ModelRef mirrors `decisions[*].modelRefs[*]`.
type ModelRef struct {
	Model           string
	UseReasoning    bool
	ReasoningEffort string
	LoRAName        string
	Weight          float64
}

// Plugin is carried opaque: the engine only hands it to the caller.
type Plugin struct {
	Type          string
	Configuration map[string]any
}

// Algorithm mirrors `decisions[*].algorithm`.
type Algorithm struct {
	Type         string
	LatencyAware *selection.LatencyAwareConfig
	MultiFactor  *selection.MultiFactorConfig
	RouterDC     *selection.RouterDCConfig
	// KNN carries the pretrained data and knobs of knn selection; nil
	// (or a nil Bank) makes every knn decision use its first modelRef.
	KNN *selection.KNNConfig
	// Hybrid carries the weights, gap and experience data of hybrid
	// selection (the decision's block, else the global defaults); nil
	// when the type is not hybrid.
	Hybrid *selection.HybridConfig
}

// Recipe mirrors `recipes[*]`.
type Recipe struct {
	Name    string
	Routing Routing
}

// Entrypoint mirrors `entrypoints[*]`.
type Entrypoint struct {
	ModelNames []string
	Recipe     string
}

// ModelInfo is what multi_factor knows about a model.
type ModelInfo struct {
	Name         string
	QualityScore *float64
	// Pricing per million tokens; HasPricing false when not configured.
	PromptPer1M     float64
	CompletionPer1M float64
	HasPricing      bool
}
