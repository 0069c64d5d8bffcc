// Package classifier assembles every signal family, the projections, the
// decisions and the model-selection algorithms of one config revision into
// an immutable Classifier, and evaluates requests against it.
//
// Compile is the adapter from the v0.3 config types (pkg/config) to the
// parts: heuristic rules, embedding banks (candidates embedded once per
// revision through the consumer-owned Embedder, in one batched call), the
// domain head, and the decision engine's Spec. Classify runs the families
// over one request (heuristics and embedding families, each bounded by a
// deadline; complexity last so its composers see the other families), then
// the engine's projections, decisions and model selection.
//
// A Service holds the active Classifier behind an atomic pointer: a new
// revision swaps in atomically and requests already running keep the
// revision they started with.
package classifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/domain"
	"github.com/semrouter/semrouter/services/classifier/engine"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/signal"
)

// Embedder turns texts into embedding vectors with one model. The
// classifier uses it at compile time only, to embed candidate phrases,
// examples and model descriptions (one batched call per revision).
type Embedder interface {
	// Embed returns one vector per text, in order.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Model names the embedding model; query embeddings are looked up under
	// this name and domain heads are chosen by it.
	Model() string
}

// ErrNoCandidateEmbeddings is the family error of embedding-based families
// when the candidate phrases could not be embedded at compile time (no
// Embedder, or the Embedder failed): their rules do not match.
var ErrNoCandidateEmbeddings = errors.New("candidate embeddings unavailable for this revision")

// Request is one chat request as the classifier sees it.
type Request struct {
	// Messages are the chat messages, text parts joined.
	Messages []heuristic.Message
	// Model is the requested model (an auto name or an entrypoint name
	// selecting a recipe).
	Model string
	// ToolDefinitions and ToolChoice describe the request's tools.
	ToolDefinitions int
	ToolChoice      string
	// User and Groups are the caller identity.
	User   string
	Groups []string
	// Metadata is the request metadata.
	Metadata map[string]string
	// Query is the embedding of the current user turn by the compile-time
	// Embedder's model. nil means the embedder was missing or late: the
	// embedding families report an error and their rules do not match.
	Query []float32
	// History holds embeddings of earlier user turns, newest first (for
	// re-ask rules); optional.
	History [][]float32
	// Hash is a stable hash of the request for weighted selection; 0 lets
	// the classifier hash the current user turn.
	Hash uint64
	// Now is the time latency windows are read at; zero means time.Now().
	Now time.Time
	// IncludeUnmatched asks for the raw values of rules that did not match.
	IncludeUnmatched bool
}

// SignalResult is one rule of one family.
type SignalResult struct {
	Family     signal.Family
	Name       string
	Matched    bool
	Confidence float64
	Value      float64
}

// Degradation is a family (or stage) that could not run fully.
type Degradation struct {
	Stage  string // "signals" or "selection"
	Family signal.Family
	Err    string
}

// StageTiming is the time spent in one stage.
type StageTiming struct {
	Stage    string
	Duration time.Duration
}

// Result is the classification of one request.
type Result struct {
	Revision int64
	Recipe   string

	Signals     []SignalResult
	Projections []engine.ProjectionHit
	Scores      []engine.ScoreValue

	// Decision is empty when no decision matched (IsDefault).
	Decision    string
	Description string
	Annotations map[string]string
	Confidence  float64
	Tier        int
	Priority    int
	IsDefault   bool
	// MatchedConditions lists "type:name" of what made the decision match.
	MatchedConditions []string

	Model           string
	ProviderModelID string
	Provider        string
	Algorithm       string
	// SelectionFallback says why a simpler rule chose the model (hybrid:
	// which components were left out and why).
	SelectionFallback string
	// SelectionDetail is what the algorithm based the choice on (hybrid:
	// the components that scored, e.g. "experience+router_dc+cost").
	SelectionDetail string
	// ModelScores are the selection algorithm's scores of the decision's
	// modelRefs (engine.Result.ModelScores): empty when it computes none.
	ModelScores []engine.ModelScore

	UseReasoning    bool
	ReasoningEffort string
	ReasoningFamily string
	LoRAName        string
	Plugins         []engine.Plugin

	// Domain is the domain head's prediction (empty Label when not run).
	Domain domain.Prediction

	Degraded []Degradation
	Timings  []StageTiming
}

// Matched reports whether family/name matched.
func (r *Result) Matched(f signal.Family, name string) (SignalResult, bool) {
	for _, s := range r.Signals {
		if s.Family == f && s.Name == name && s.Matched {
			return s, true
		}
	}
	return SignalResult{}, false
}

// DegradedFamily reports whether family could not be evaluated.
func (r *Result) DegradedFamily(f signal.Family) bool {
	for _, d := range r.Degraded {
		if d.Family == f {
			return true
		}
	}
	return false
}

// Classifier is one compiled config revision. It is immutable and safe for
// concurrent use.
type Classifier struct {
	revision int64
	// candidatesMissing: the candidate phrases could not be embedded when
	// this revision compiled (the embedder was down), so the Service
	// recompiles it in the background until they can.
	candidatesMissing bool
	embedModel        string
	dims              int
	// needsQueryForSelection: a decision selects its model from the query
	// embedding (knn, router_dc).
	needsQueryForSelection bool
	def                    *profile
	byModel                map[string]*profile
	engine                 *engine.Engine
	models                 map[string]modelFacts
	decisions              map[string]decisionFacts
	projOwners             map[string]ProjectionOwner
	head                   *domain.Head
	// jailbreakRules: the top-level routing has jailbreak rules.
	jailbreakRules bool
	defaultModel   string
	defEffort      string
	timeout        time.Duration
	logger         *slog.Logger
	// Warnings are compile-time problems that did not reject the revision
	// (e.g. candidate embeddings unavailable).
	warnings []string
	// api is global.services.api of the revision (see api.go).
	api *config.APIService
}

// modelFacts is what the result needs about a provider model.
type modelFacts struct {
	providerID      string
	provider        string
	reasoningFamily string
}

// decisionFacts is what the result needs about a decision.
type decisionFacts struct {
	description string
	annotations map[string]string
}

// ProjectionOwner says which partition or mapping a projection output
// (a partition member or a mapping band) belongs to.
type ProjectionOwner struct {
	Kind   string // "partition" or "mapping"
	Name   string // partition or mapping name
	Source string // the mapping's source score
}

// ProjectionOwner returns the owner of the projection output name in the
// routing profile of recipe ("" for the top level).
func (c *Classifier) ProjectionOwner(recipe, name string) (ProjectionOwner, bool) {
	o, ok := c.projOwners[decisionKey(recipe, name)]
	return o, ok
}

// Revision is the config revision the classifier was compiled from.
func (c *Classifier) Revision() int64 { return c.revision }

// EmbeddingModel is the model query embeddings must come from ("" when the
// revision was compiled without an Embedder).
func (c *Classifier) EmbeddingModel() string { return c.embedModel }

// Warnings lists compile-time problems that degrade but do not reject the
// revision.
func (c *Classifier) Warnings() []string { return append([]string(nil), c.warnings...) }

// NeedsQuery reports whether any routing profile has embedding-based rules
// or a decision selects its model from the query embedding (knn,
// router_dc), i.e. whether a caller should compute a query embedding.
func (c *Classifier) NeedsQuery() bool {
	if c.needsQueryForSelection || c.def.needsQuery() {
		return true
	}
	for _, p := range c.byModel {
		if p.needsQuery() {
			return true
		}
	}
	return false
}

func (c *Classifier) profileFor(model string) *profile {
	if p, ok := c.byModel[model]; ok {
		return p
	}
	return c.def
}

// Classify evaluates every family, the projections and the decisions for
// req. It returns an error only when the engine refuses (a decision with
// on_unknown: fail_request, or a selector with on_no_candidates: fail) or
// ctx has ended before evaluation started.
func (c *Classifier) Classify(ctx context.Context, req *Request) (*Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	res := &Result{Revision: c.revision}
	p := c.profileFor(req.Model)
	set, query := c.evaluateSignals(ctx, p, req, res)

	t0 := time.Now()
	now := req.Now
	if now.IsZero() {
		now = t0
	}
	hash := req.Hash
	if hash == 0 {
		hash = hashText(currentText(req.Messages))
	}
	var er engine.Result
	ereq := engine.Request{Model: req.Model}
	ereq.Selection.Hash = hash
	ereq.Selection.Query = query
	ereq.Selection.Now = now
	ereq.Selection.InputTokens = estimateTokens(req.Messages)
	err := c.engine.Evaluate(set, ereq, &er)
	res.Timings = append(res.Timings, StageTiming{Stage: "decisions", Duration: time.Since(t0)})
	if err != nil {
		return nil, fmt.Errorf("classify: %w", err)
	}
	c.fillDecision(res, &er)
	return res, nil
}

func (c *Classifier) fillDecision(res *Result, er *engine.Result) {
	res.Recipe = er.Recipe
	res.Projections = append(res.Projections, er.Projections...)
	res.Scores = append(res.Scores, er.Scores...)
	res.IsDefault = !er.Matched
	if er.Matched {
		res.Decision = er.Decision
		res.Confidence = er.Confidence
		res.Tier, res.Priority = er.Tier, er.Priority
		res.MatchedConditions = append(res.MatchedConditions, er.MatchedConditions...)
		df := c.decisions[decisionKey(er.Recipe, er.Decision)]
		res.Description, res.Annotations = df.description, df.annotations
		res.Plugins = er.Plugins
		res.UseReasoning = er.UseReasoning
		res.ReasoningEffort = er.ReasoningEffort
		res.LoRAName = er.LoRAName
		res.Algorithm = er.Algorithm
		res.SelectionFallback = er.Fallback
		res.SelectionDetail = er.SelectionDetail
		res.ModelScores = append(res.ModelScores, er.ModelScores...)
		if er.Fallback != "" {
			res.Degraded = append(res.Degraded, Degradation{Stage: "selection", Err: er.Fallback})
		}
	}
	res.Model = er.Model
	if res.Model == "" {
		res.Model = c.defaultModel
	}
	mf, ok := c.models[res.Model]
	res.ProviderModelID = res.Model
	if ok {
		if mf.providerID != "" {
			res.ProviderModelID = mf.providerID
		}
		res.Provider = mf.provider
		res.ReasoningFamily = mf.reasoningFamily
	}
	if res.UseReasoning && res.ReasoningEffort == "" {
		res.ReasoningEffort = c.defEffort
	}
}

func decisionKey(recipe, name string) string { return recipe + "\x00" + name }

func currentText(msgs []heuristic.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == heuristic.RoleUser {
			return msgs[i].Text
		}
	}
	return ""
}

func estimateTokens(msgs []heuristic.Message) int {
	n := 0
	for i := range msgs {
		n += heuristic.EstimateTokens(msgs[i].Text)
	}
	return n
}

// hashText is FNV-1a over s.
func hashText(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// ErrNoDomainHead is returned by PredictDomain when the revision has no
// domain head for its embedding model.
var ErrNoDomainHead = domain.ErrNoHead

// PredictDomain runs the domain head on a query embedding and returns the
// prediction and every label's probability.
func (c *Classifier) PredictDomain(query []float32) (domain.Prediction, map[string]float64, error) {
	var h *domain.Head
	if c.def.dom != nil {
		h = c.def.dom.Head
	}
	if h == nil {
		h = c.head
	}
	if h == nil {
		return domain.Prediction{}, nil, ErrNoDomainHead
	}
	q, err := c.query(query)
	if err != nil {
		return domain.Prediction{}, nil, err
	}
	probs := make([]float64, len(h.Labels))
	p, err := h.Predict(q, probs)
	if err != nil {
		return p, nil, err
	}
	out := make(map[string]float64, len(h.Labels))
	for i, l := range h.Labels {
		out[l] = probs[i]
	}
	return p, out, nil
}

// HasJailbreakRules reports whether the top-level routing has jailbreak
// rules.
func (c *Classifier) HasJailbreakRules() bool { return c.jailbreakRules }
