package selection

import (
	"math"
	"time"
)

// LatencyAwareConfig mirrors `algorithm.latency_aware`.
type LatencyAwareConfig struct {
	TTFTPercentile float64 // default 50
	TPOTPercentile float64 // default 50
}

// LatencyAwareSelector picks the model with the best observed latency. Each
// candidate's TPOT and TTFT percentiles are divided by the best value among
// the candidates for that metric; a candidate's score is the mean of its
// available ratios (1 is best) and the lowest score wins. Candidates with no
// observation in the window are skipped while any other candidate has one;
// when none has, the first candidate is used and the result says why.
// Score is the winner's mean ratio; Scores are each candidate's inverse,
// 1/mean ratio in (0,1] (1: as fast as the fastest, 0.5: twice as slow),
// so that higher is better (NaN for a candidate without observations).
type LatencyAwareSelector struct {
	cfg    LatencyAwareConfig
	models []string
	stats  LatencyStats
}

var _ Selector = (*LatencyAwareSelector)(nil)

// NewLatencyAwareSelector builds a selector over the candidate models.
func NewLatencyAwareSelector(cfg LatencyAwareConfig, models []string, stats LatencyStats) *LatencyAwareSelector {
	if cfg.TTFTPercentile <= 0 {
		cfg.TTFTPercentile = 50
	}
	if cfg.TPOTPercentile <= 0 {
		cfg.TPOTPercentile = 50
	}
	return &LatencyAwareSelector{cfg: cfg, models: models, stats: stats}
}

const reasonNoLatency = "latency_aware: no latency observations in the window; used the first modelRef"

// Select reads the window at in.Now.
func (s *LatencyAwareSelector) Select(in Input) (Choice, error) {
	if len(s.models) == 0 {
		return Choice{}, ErrNoCandidates
	}
	if s.stats == nil {
		return Choice{Index: 0, Algorithm: Static, Fallback: reasonNoLatency}, nil
	}
	const maxStack = 16
	var tpotBuf, ttftBuf [maxStack]float64
	var tpot, ttft []float64
	if len(s.models) <= maxStack {
		tpot, ttft = tpotBuf[:len(s.models)], ttftBuf[:len(s.models)]
	} else {
		tpot, ttft = make([]float64, len(s.models)), make([]float64, len(s.models))
	}
	bestTPOT, bestTTFT := -1.0, -1.0
	for i, m := range s.models {
		tpot[i], ttft[i] = -1, -1
		if d, ok := s.stats.Percentile(m, TPOT, s.cfg.TPOTPercentile, in.Now); ok {
			tpot[i] = ms(d)
			if bestTPOT < 0 || tpot[i] < bestTPOT {
				bestTPOT = tpot[i]
			}
		}
		if d, ok := s.stats.Percentile(m, TTFT, s.cfg.TTFTPercentile, in.Now); ok {
			ttft[i] = ms(d)
			if bestTTFT < 0 || ttft[i] < bestTTFT {
				bestTTFT = ttft[i]
			}
		}
	}
	best, bestScore := -1, 0.0
	out := scoresOut(in, len(s.models))
	for i := range s.models {
		if out != nil {
			out[i] = math.NaN()
		}
		sum, n := 0.0, 0
		if tpot[i] >= 0 {
			sum += ratio(tpot[i], bestTPOT)
			n++
		}
		if ttft[i] >= 0 {
			sum += ratio(ttft[i], bestTTFT)
			n++
		}
		if n == 0 {
			continue
		}
		score := sum / float64(n)
		if out != nil {
			out[i] = 1 / score
		}
		if best < 0 || score < bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return Choice{Index: 0, Algorithm: Static, Fallback: reasonNoLatency}, nil
	}
	return Choice{Index: best, Algorithm: LatencyAware, Score: bestScore, Scores: out}, nil
}

func ratio(v, best float64) float64 {
	if best <= 0 {
		if v <= 0 {
			return 1
		}
		return 1 + v
	}
	return v / best
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
