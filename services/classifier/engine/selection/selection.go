// Package selection holds the algorithms that choose one model among a
// decision's modelRefs once the decision engine has picked the decision:
// static, weighted, latency_aware, multi_factor, router_dc, knn and hybrid.
//
// Every selector is built once per decision at config compile time with the
// candidates already resolved (quality, pricing, description embeddings),
// so a request only supplies what varies per request (Input).
package selection

import (
	"errors"
	"time"
)

// Algorithm names as they appear under a decision's `algorithm.type`.
const (
	Static       = "static"
	Weighted     = "weighted"
	LatencyAware = "latency_aware"
	MultiFactor  = "multi_factor"
	RouterDC     = "router_dc"
)

// ErrNoCandidates is returned when a selector's policy refuses to pick any
// model (multi_factor with on_no_candidates: fail).
var ErrNoCandidates = errors.New("no eligible model candidates")

// Input is the per-request information a selector may use.
type Input struct {
	// Hash is a stable hash of the request (or an explicit seed); weighted
	// selection is a deterministic function of it.
	Hash uint64
	// Query is the request embedding (router_dc, knn); nil when not computed.
	Query []float32
	// Now is the evaluation time used to read sliding latency windows.
	Now time.Time
	// InputTokens and OutputTokens are estimates used to blend pricing
	// (multi_factor); zero when unknown.
	InputTokens, OutputTokens int
	// Scores, when its capacity has room for every candidate, receives
	// the score the algorithm gave each candidate (modelRefs order) and
	// Choice.Scores is then Scores[:n]. The caller owns it and reuses it
	// across requests; a nil or short Scores costs nothing and reports
	// none.
	Scores []float64
}

// Choice is the outcome of a selection.
type Choice struct {
	Index     int     // index into the decision's modelRefs
	Algorithm string  // algorithm that actually chose
	Fallback  string  // why a simpler rule chose instead; empty when none
	Score     float64 // the winning score when the algorithm computes one
	// Detail says what the choice was based on where an algorithm blends
	// several inputs (hybrid: the components that scored, e.g.
	// "experience+cost"); empty otherwise.
	Detail string
	// Scores is Input.Scores[:n] filled with every candidate's score on
	// the scale the algorithm compares them, higher is better (see each
	// selector for what its score means); NaN for a candidate it could not
	// score. Nil when Input.Scores had no room, the algorithm computes no
	// per-candidate scores (static, weighted), there was one candidate, or
	// it did not choose by score (a Fallback to the first modelRef or the
	// cheapest; hybrid reports scores when it blended the components left).
	Scores []float64
}

// scoresOut returns in.Scores[:n] when it has room for n candidates, nil
// otherwise: the destination of a selector's per-candidate scores.
func scoresOut(in Input, n int) []float64 {
	if cap(in.Scores) < n {
		return nil
	}
	return in.Scores[:n]
}

// Selector chooses one of the candidates it was built with.
type Selector interface {
	Select(in Input) (Choice, error)
}

// StaticSelector always picks the first candidate.
type StaticSelector struct {
	// Reason, when set, is reported as the fallback reason (used when a
	// configured algorithm is not supported and static stands in).
	Reason string
}

var _ Selector = StaticSelector{}

// Select returns the first candidate.
func (s StaticSelector) Select(Input) (Choice, error) {
	return Choice{Index: 0, Algorithm: Static, Fallback: s.Reason}, nil
}

// Metric names a latency measurement.
type Metric uint8

// Latency metrics.
const (
	TTFT Metric = iota // time to first token
	TPOT               // time per output token
)

// LatencyStats answers latency percentiles per model. Implementations read a
// sliding window ending at now; ok is false when no observation is in it.
type LatencyStats interface {
	Percentile(model string, m Metric, p float64, now time.Time) (d time.Duration, ok bool)
}

// LoadSource reports the number of requests currently in flight per model.
type LoadSource interface {
	InFlight(model string) (n int, ok bool)
}
