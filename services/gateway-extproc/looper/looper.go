// Package looper runs the decision algorithms that answer one request with
// several upstream calls (the "looper" algorithms of the v0.3 contract):
//
//   - confidence: a cascade over the decision's models, cheapest first; each
//     answer is scored from its token logprobs and the next model is asked
//     only while the score stays below the threshold.
//   - automix: the same cascade scored by logprob self-verification, bounded
//     by max_escalations, and with cost-aware choice among the answers when
//     none passes.
//   - fusion: a panel of analysis models answers concurrently, then the
//     fusion model writes the final answer from their analyses.
//   - remom: rounds of parallel answers (breadth_schedule), each round
//     seeing the previous round's compacted answers, then a synthesis
//     model writes the final answer.
//   - ratings: every modelRef answers concurrently and the client gets
//     one chat.completion with one choice per model (side-by-side
//     answers for A/B and arena rating UIs).
//
// The package knows nothing about HTTP backends: every call goes through a
// Caller (API mode implements it with its failover path, so credentials,
// api_version, Anthropic translation, failover and outlier ejection apply
// to each sub-call). Every call is non-streaming; the caller streams the
// final answer to a streaming client (AppendStream renders a ratings
// answer with all its choices).
//
// Only API mode runs these algorithms: behind Envoy (ext_proc) the gateway
// cannot make several upstream calls, so the request goes to the
// classifier's choice (the first modelRef) and config validation warns
// that the algorithm runs in API mode only.
package looper

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/semrouter/semrouter/pkg/config"
)

// Algorithm names handled here (decisions[].algorithm.type).
const (
	Confidence = "confidence"
	AutoMix    = "automix"
	Fusion     = "fusion"
	ReMoM      = "remom"
	Ratings    = "ratings"
)

// on_error values.
const (
	OnErrorSkip     = "skip"
	OnErrorFallback = "fallback"
	OnErrorFail     = "fail"
)

// Outcomes of one sub-call (Observer.LooperCall).
const (
	OutcomeOK     = "ok"
	OutcomeFailed = "failed"
)

// Handles reports whether a is an algorithm this package runs.
func Handles(a *config.Algorithm) bool {
	if a == nil {
		return false
	}
	switch a.Type {
	case Confidence, AutoMix, Fusion, ReMoM, Ratings:
		return true
	}
	return false
}

// Candidate is one model a plan may call: its name (providers.models[].name)
// and price (prompt + completion per 1M tokens; 0: unknown).
type Candidate struct {
	Name  string
	Price float64
}

// Reply is the answer of one non-streaming call: a chat.completion body
// for a 2xx status, else the error answer of the backend.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// OK reports whether r is a 2xx answer.
func (r Reply) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Caller sends one non-streaming chat completion to a model: the client's
// request as routed for that model, changed by e. An error means no
// backend answered; a backend's error answer is a Reply with its status.
type Caller interface {
	Call(ctx context.Context, model string, e Edit) (Reply, error)
}

// Observer counts sub-calls and escalations (*metrics.Gateway implements
// it; nil counts nothing).
type Observer interface {
	LooperCall(algorithm, model, outcome string)
	LooperEscalation(algorithm string)
}

// Result is the outcome of a plan. With Err == nil, Reply is the 2xx
// answer of Model to serve. With Err != nil, Reply (when Status != 0) is
// the failed answer to relay, else nothing answered.
type Result struct {
	Model string
	Reply Reply
	// Called lists the models called, in call order (fusion: the
	// analysis models, then the fusion model; ratings: the modelRefs).
	Called []string
	// Score is the confidence (confidence) or verification score
	// (automix) of the served answer, when HasScore.
	Score    float64
	HasScore bool
	Err      error
}

// ErrNoAnswer: no model gave a usable answer.
var ErrNoAnswer = errors.New("no model of the decision answered")

// Plan is a compiled looper algorithm of one decision. It is immutable and
// safe for concurrent use.
type Plan struct {
	algorithm string
	cfg       *config.Algorithm
	refs      []Candidate
	price     func(string) float64
}

// NewPlan compiles a for a decision whose modelRefs are refs (in config
// order); price gives the price of any model the algorithm names (fusion
// models outside modelRefs). It reports false when a is not handled here.
func NewPlan(a *config.Algorithm, refs []Candidate, price func(string) float64) (*Plan, bool) {
	if !Handles(a) {
		return nil, false
	}
	if price == nil {
		price = func(string) float64 { return 0 }
	}
	return &Plan{algorithm: a.Type, cfg: a, refs: refs, price: price}, true
}

// Algorithm is the plan's algorithm type.
func (p *Plan) Algorithm() string { return p.algorithm }

// Run executes the plan: every call goes through c, and obs (may be nil)
// counts them.
func (p *Plan) Run(ctx context.Context, c Caller, obs Observer, log *slog.Logger) Result {
	r := &run{p: p, c: c, obs: obs, log: log}
	switch p.algorithm {
	case Confidence:
		return r.confidence(ctx)
	case AutoMix:
		return r.automix(ctx)
	case ReMoM:
		return r.remom(ctx)
	case Ratings:
		return r.ratings(ctx)
	default:
		return r.fusion(ctx)
	}
}

// run is one execution of a plan.
type run struct {
	p   *Plan
	c   Caller
	obs Observer
	log *slog.Logger
}

// call sends one sub-call and counts it; a non-2xx answer is returned with
// an error.
func (r *run) call(ctx context.Context, model string, e Edit) (Reply, error) {
	rep, err := r.c.Call(ctx, model, e)
	if err == nil && !rep.OK() {
		err = &StatusError{Model: model, Status: rep.Status}
	}
	outcome := OutcomeOK
	if err != nil {
		outcome = OutcomeFailed
		r.log.Warn("looper sub-call", slog.String("algorithm", r.p.algorithm), slog.String("model", model), slog.Any("error", err))
	}
	if r.obs != nil {
		r.obs.LooperCall(r.p.algorithm, model, outcome)
	}
	return rep, err
}

func (r *run) escalated() {
	if r.obs != nil {
		r.obs.LooperEscalation(r.p.algorithm)
	}
}

// StatusError is a sub-call answered with a non-2xx status.
type StatusError struct {
	Model  string
	Status int
}

func (e *StatusError) Error() string {
	return "model " + e.Model + " answered " + http.StatusText(e.Status)
}

// onError is the effective on_error: the block's own, then the
// algorithm's, then skip.
func onError(block, algorithm string) string {
	for _, v := range []string{block, algorithm} {
		switch v = strings.TrimSpace(v); v {
		case OnErrorSkip, OnErrorFallback, OnErrorFail:
			return v
		}
	}
	return OnErrorSkip
}
