package selection

import (
	"fmt"
	"math"
)

// MultiFactorConfig mirrors `algorithm.multi_factor`.
type MultiFactorConfig struct {
	Weights           FactorWeights
	SLO               SLO
	LatencyPercentile float64 // default 95
	// LatencyMetric is "ttft", "tpot" or "" (TPOT, falling back to TTFT
	// when a candidate has no TPOT observation).
	LatencyMetric string
	// OnNoCandidates is "cheapest" (default), "first" or "fail".
	OnNoCandidates string
}

// FactorWeights weights the four factors. They are normalised to sum to 1;
// all zero means equal weights.
type FactorWeights struct {
	Quality, Latency, Cost, Load float64
}

// SLO ceilings; a zero ceiling is not enforced, and a ceiling is only
// enforced for a candidate whose corresponding observation is available.
type SLO struct {
	MaxTPOTms, MaxTTFTms float64
	MaxCostPer1M         float64
	MaxInflight          int
}

// Candidate describes one modelRef for multi_factor.
type Candidate struct {
	Model           string
	Quality         float64 // modelCards quality_score
	HasQuality      bool
	PromptPer1M     float64 // pricing
	CompletionPer1M float64 // pricing, completion per 1M tokens
	HasPricing      bool
}

// MultiFactorSelector scores candidates on quality (higher is better),
// latency, cost and load (lower is better). Candidates breaking an SLO
// ceiling are excluded first; each factor is min-max normalised over the
// survivors and S = wQ·Q + wT·(1−T) + wC·(1−C) + wL·(1−L). A factor that is
// unknown for any survivor is left out of the comparison for all of them.
// Ties go to the earlier modelRef. A survivor's score (Choice.Score,
// Choice.Scores) is S, in [0,1]; a candidate excluded by an SLO has none
// (NaN in Choice.Scores).
type MultiFactorSelector struct {
	cfg   MultiFactorConfig
	cands []Candidate
	stats LatencyStats
	load  LoadSource
}

var _ Selector = (*MultiFactorSelector)(nil)

// NewMultiFactorSelector validates cfg and builds the selector.
func NewMultiFactorSelector(cfg MultiFactorConfig, cands []Candidate, stats LatencyStats, load LoadSource) (*MultiFactorSelector, error) {
	switch cfg.OnNoCandidates {
	case "":
		cfg.OnNoCandidates = "cheapest"
	case "cheapest", "first", "fail":
	default:
		return nil, fmt.Errorf("on_no_candidates %q: want cheapest, first or fail", cfg.OnNoCandidates)
	}
	switch cfg.LatencyMetric {
	case "", "ttft", "tpot":
	default:
		return nil, fmt.Errorf("latency_metric %q: want ttft or tpot", cfg.LatencyMetric)
	}
	w := cfg.Weights
	if w.Quality < 0 || w.Latency < 0 || w.Cost < 0 || w.Load < 0 {
		return nil, fmt.Errorf("weights must not be negative")
	}
	sum := w.Quality + w.Latency + w.Cost + w.Load
	if sum == 0 {
		w = FactorWeights{0.25, 0.25, 0.25, 0.25}
	} else {
		w = FactorWeights{w.Quality / sum, w.Latency / sum, w.Cost / sum, w.Load / sum}
	}
	cfg.Weights = w
	if cfg.LatencyPercentile <= 0 {
		cfg.LatencyPercentile = 95
	}
	return &MultiFactorSelector{cfg: cfg, cands: cands, stats: stats, load: load}, nil
}

// factor values for one candidate; negative means unknown.
type facts struct {
	quality, latency, cost, load float64
	tpot, ttft                   float64
}

const (
	reasonNoneCheapest = "multi_factor: every candidate broke an SLO; used the cheapest"
	reasonNoneFirst    = "multi_factor: every candidate broke an SLO; used the first modelRef"
)

// Select scores the candidates at in.Now.
func (s *MultiFactorSelector) Select(in Input) (Choice, error) {
	n := len(s.cands)
	if n == 0 {
		return Choice{}, ErrNoCandidates
	}
	const maxStack = 16
	var fb [maxStack]facts
	var ob [maxStack]bool
	f, ok := fb[:0], ob[:0]
	if n > maxStack {
		f, ok = make([]facts, 0, n), make([]bool, 0, n)
	}
	survivors := 0
	for _, c := range s.cands {
		x := s.facts(c, in)
		f = append(f, x)
		eligible := s.eligible(x)
		ok = append(ok, eligible)
		if eligible {
			survivors++
		}
	}
	if survivors == 0 {
		switch s.cfg.OnNoCandidates {
		case "fail":
			return Choice{}, fmt.Errorf("multi_factor: every candidate broke an SLO: %w", ErrNoCandidates)
		case "first":
			return Choice{Index: 0, Algorithm: MultiFactor, Fallback: reasonNoneFirst}, nil
		default:
			best := 0
			for i := range f {
				if f[i].cost >= 0 && (f[best].cost < 0 || f[i].cost < f[best].cost) {
					best = i
				}
			}
			return Choice{Index: best, Algorithm: MultiFactor, Fallback: reasonNoneCheapest}, nil
		}
	}
	q := span(f, ok, func(x facts) float64 { return x.quality })
	t := span(f, ok, func(x facts) float64 { return x.latency })
	c := span(f, ok, func(x facts) float64 { return x.cost })
	l := span(f, ok, func(x facts) float64 { return x.load })
	w := s.cfg.Weights
	best, bestScore := -1, 0.0
	out := scoresOut(in, n)
	for i := range f {
		if !ok[i] {
			if out != nil {
				out[i] = math.NaN()
			}
			continue
		}
		score := 0.0
		if q.known {
			score += w.Quality * q.norm(f[i].quality)
		}
		if t.known {
			score += w.Latency * (1 - t.norm(f[i].latency))
		}
		if c.known {
			score += w.Cost * (1 - c.norm(f[i].cost))
		}
		if l.known {
			score += w.Load * (1 - l.norm(f[i].load))
		}
		if out != nil {
			out[i] = score
		}
		if best < 0 || score > bestScore {
			best, bestScore = i, score
		}
	}
	return Choice{Index: best, Algorithm: MultiFactor, Score: bestScore, Scores: out}, nil
}

func (s *MultiFactorSelector) facts(c Candidate, in Input) facts {
	x := facts{quality: -1, latency: -1, cost: -1, load: -1, tpot: -1, ttft: -1}
	if c.HasQuality {
		x.quality = c.Quality
	}
	if c.HasPricing {
		x.cost = blendedPer1M(c, in)
	}
	if s.stats != nil {
		if d, ok := s.stats.Percentile(c.Model, TPOT, s.cfg.LatencyPercentile, in.Now); ok {
			x.tpot = ms(d)
		}
		if d, ok := s.stats.Percentile(c.Model, TTFT, s.cfg.LatencyPercentile, in.Now); ok {
			x.ttft = ms(d)
		}
	}
	switch s.cfg.LatencyMetric {
	case "ttft":
		x.latency = x.ttft
	case "tpot":
		x.latency = x.tpot
	default:
		x.latency = x.tpot
		if x.latency < 0 {
			x.latency = x.ttft
		}
	}
	if s.load != nil {
		if v, ok := s.load.InFlight(c.Model); ok {
			x.load = float64(v)
		}
	}
	return x
}

func (s *MultiFactorSelector) eligible(x facts) bool {
	slo := s.cfg.SLO
	if slo.MaxTPOTms > 0 && x.tpot >= 0 && x.tpot > slo.MaxTPOTms {
		return false
	}
	if slo.MaxTTFTms > 0 && x.ttft >= 0 && x.ttft > slo.MaxTTFTms {
		return false
	}
	if slo.MaxCostPer1M > 0 && x.cost >= 0 && x.cost > slo.MaxCostPer1M {
		return false
	}
	if slo.MaxInflight > 0 && x.load >= 0 && x.load > float64(slo.MaxInflight) {
		return false
	}
	return true
}

// blendedPer1M is the per-million-token price blended by the request's token
// estimates, or the mean of prompt and completion prices when unknown.
func blendedPer1M(c Candidate, in Input) float64 {
	tin, tout := float64(in.InputTokens), float64(in.OutputTokens)
	if tin+tout <= 0 {
		return (c.PromptPer1M + c.CompletionPer1M) / 2
	}
	return (c.PromptPer1M*tin + c.CompletionPer1M*tout) / (tin + tout)
}

type factorSpan struct {
	known    bool
	min, max float64
}

func (f factorSpan) norm(v float64) float64 {
	if f.max <= f.min {
		return 0
	}
	return (v - f.min) / (f.max - f.min)
}

// span computes the min/max of one factor over survivors; known is false
// when any survivor lacks the factor.
func span(f []facts, ok []bool, get func(facts) float64) factorSpan {
	out := factorSpan{known: true, min: math.Inf(1), max: math.Inf(-1)}
	for i := range f {
		if !ok[i] {
			continue
		}
		v := get(f[i])
		if v < 0 {
			return factorSpan{}
		}
		out.min = math.Min(out.min, v)
		out.max = math.Max(out.max, v)
	}
	return out
}
