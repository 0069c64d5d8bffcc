package looper

import (
	"context"
	"errors"
	"log/slog"
	"slices"
)

// Defaults of the cascades when the config leaves a value at zero.
const (
	// DefaultThreshold is confidence.threshold when 0 or unset.
	DefaultThreshold = 0.7
	// DefaultVerificationThreshold is automix.verification_threshold when
	// 0 or unset.
	DefaultVerificationThreshold = 0.7
)

// Escalation orders (confidence.escalation_order).
const (
	SmallToLarge = "small_to_large"
	LargeToSmall = "large_to_small"
)

// order returns the cascade order of refs: by price ascending (or
// descending with descending) when every model has a price, else the
// modelRefs order (reversed with descending). The sort is stable, so
// equal prices keep the config order.
func order(refs []Candidate, descending bool) []Candidate {
	out := slices.Clone(refs)
	priced := len(out) > 0
	for _, c := range out {
		if c.Price <= 0 {
			priced = false
		}
	}
	switch {
	case priced && descending:
		slices.SortStableFunc(out, func(a, b Candidate) int { return cmpFloat(b.Price, a.Price) })
	case priced:
		slices.SortStableFunc(out, func(a, b Candidate) int { return cmpFloat(a.Price, b.Price) })
	case descending:
		slices.Reverse(out)
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// answer is one scored answer of a cascade.
type answer struct {
	model    string
	price    float64
	reply    Reply
	score    float64
	hasScore bool
}

// scored calls model with logprobs and scores its answer by method.
func (r *run) scored(ctx context.Context, c Candidate, method string, w Weights) (answer, error) {
	e := Edit{Logprobs: true}
	if needsTop(method) {
		e.TopLogprobs = 2
	}
	rep, err := r.call(ctx, c.Name, e)
	a := answer{model: c.Name, price: c.Price, reply: rep}
	if err != nil {
		return a, err
	}
	var buf [256]Token
	toks, ok := AppendTokens(buf[:0], rep.Body)
	if ok {
		a.score, a.hasScore = Score(method, w, toks), true
	}
	return a, nil
}

// confidence runs the confidence cascade: models in escalation order,
// each answer scored from its logprobs; the first answer at or above the
// threshold is served, else the last model's. An answer without logprobs
// (a backend that does not return them) never passes. A failed call is
// handled by on_error: fail answers with the failure, skip goes on to the
// next model (serving the best earlier answer if the last one fails),
// fallback serves the best earlier answer at once (or goes on when there
// is none).
func (r *run) confidence(ctx context.Context) Result {
	cfg := r.p.cfg
	method, threshold, w, orderName, blockOnError := MethodLogprob, DefaultThreshold, Weights{}, "", ""
	if c := cfg.Confidence; c != nil {
		if c.ConfidenceMethod != "" {
			method = c.ConfidenceMethod
		}
		if c.Threshold > 0 {
			threshold = c.Threshold
		}
		if hw := c.HybridWeights; hw != nil {
			w = Weights{Logprob: hw.LogprobWeight, Margin: hw.MarginWeight}
		}
		orderName, blockOnError = c.EscalationOrder, c.OnError
	}
	policy := onError(blockOnError, cfg.OnError)
	models := order(r.p.refs, orderName == LargeToSmall)
	return r.cascade(ctx, models, len(models)-1, threshold, policy, func(ctx context.Context, c Candidate) (answer, error) {
		return r.scored(ctx, c, method, w)
	}, lastAnswer)
}

// automix runs the AutoMix cascade: models cheapest first when
// cost_aware_routing is set (modelRefs order otherwise), each answer
// verified by its logprob score (exp of the mean token logprob), at most
// max_escalations escalations (0: up to the last model). The first answer
// at or above verification_threshold is served. When none passes, the
// answer with the best score is served, or, with cost_aware_routing, the
// one with the best score − cost_quality_tradeoff × (price / highest
// price): a cheaper answer wins when its score is close enough. Failed
// calls follow on_error like the confidence cascade.
func (r *run) automix(ctx context.Context) Result {
	cfg := r.p.cfg
	threshold, maxEsc, costAware, tradeoff := DefaultVerificationThreshold, 0, false, 0.0
	if c := cfg.AutoMix; c != nil {
		if c.VerificationThreshold > 0 {
			threshold = c.VerificationThreshold
		}
		maxEsc, costAware, tradeoff = c.MaxEscalations, c.CostAwareRouting, c.CostQualityTradeoff
	}
	models := r.p.refs
	if costAware {
		models = order(models, false)
	}
	if maxEsc <= 0 || maxEsc > len(models)-1 {
		maxEsc = len(models) - 1
	}
	pick := bestScore
	if costAware {
		pick = func(as []answer) int { return bestUtility(as, tradeoff) }
	}
	return r.cascade(ctx, models, maxEsc, threshold, onError("", cfg.OnError), func(ctx context.Context, c Candidate) (answer, error) {
		return r.scored(ctx, c, MethodLogprob, Weights{})
	}, pick)
}

// cascade calls models in order, at most 1+maxEsc of them, until an
// answer scores at least threshold; pick chooses among the answers when
// none does.
func (r *run) cascade(ctx context.Context, models []Candidate, maxEsc int, threshold float64, policy string,
	ask func(context.Context, Candidate) (answer, error), pick func([]answer) int) Result {
	var res Result
	var answers []answer
	var lastFail Reply
	var lastErr error
	for i, c := range models {
		if i > maxEsc || ctx.Err() != nil {
			break
		}
		if i > 0 {
			r.escalated()
		}
		res.Called = append(res.Called, c.Name)
		a, err := ask(ctx, c)
		if err != nil {
			lastFail, lastErr = a.reply, err
			if policy == OnErrorFail {
				res.Reply, res.Err = a.reply, err
				return res
			}
			if policy == OnErrorFallback && len(answers) > 0 {
				break
			}
			continue
		}
		r.log.Debug("looper answer scored", slog.String("algorithm", r.p.algorithm), slog.String("model", c.Name),
			slog.Float64("score", a.score), slog.Bool("has_score", a.hasScore))
		lastErr = nil
		answers = append(answers, a)
		if a.hasScore && a.score >= threshold {
			return served(res, a)
		}
	}
	if len(answers) == 0 {
		res.Reply, res.Err = lastFail, lastErr
		if res.Err == nil {
			res.Err = ctx.Err()
		}
		if res.Err == nil {
			res.Err = ErrNoAnswer
		}
		return res
	}
	if lastErr != nil && !errors.Is(lastErr, context.Canceled) {
		// A failed model after a weak answer: the best answer so far.
		return served(res, answers[bestScore(answers)])
	}
	return served(res, answers[pick(answers)])
}

func served(res Result, a answer) Result {
	res.Model, res.Reply, res.Score, res.HasScore = a.model, a.reply, a.score, a.hasScore
	return res
}

// lastAnswer picks the last answer (the confidence cascade serves the
// largest model's answer when none passes).
func lastAnswer(as []answer) int { return len(as) - 1 }

// bestScore picks the highest score (the latest on ties).
func bestScore(as []answer) int {
	best := 0
	for i := range as {
		if as[i].score >= as[best].score {
			best = i
		}
	}
	return best
}

// bestUtility picks the highest score − tradeoff × normalized price (the
// cheaper on ties).
func bestUtility(as []answer, tradeoff float64) int {
	top := 0.0
	for _, a := range as {
		top = max(top, a.price)
	}
	util := func(a answer) float64 {
		if top <= 0 {
			return a.score
		}
		return a.score - tradeoff*a.price/top
	}
	best := 0
	for i := 1; i < len(as); i++ {
		if u, b := util(as[i]), util(as[best]); u > b || (u == b && as[i].price < as[best].price) {
			best = i
		}
	}
	return best
}
