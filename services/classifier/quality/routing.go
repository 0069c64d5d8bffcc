package quality

import (
	"errors"
	"math"
	"sort"
)

// RoutePoint is one operating point of a strong/weak router: the fraction
// of calls it sends to the strong model and the accuracy it reaches.
type RoutePoint struct {
	StrongFraction float64 `json:"strong_fraction"`
	Accuracy       float64 `json:"accuracy"`
	// Threshold is the router score at and above which a call goes to the
	// strong model at this point (+Inf: nothing goes to strong).
	Threshold float64 `json:"threshold"`
}

// RouteCurve is a router's cost–quality curve, by increasing StrongFraction.
type RouteCurve struct {
	Name   string       `json:"name"`
	Points []RoutePoint `json:"points"`
}

// CostQuality traces the curve of a router that sends a call to the strong
// model when its score is at or above a threshold, for every threshold.
// weak[i] and strong[i] say whether each model answers item i correctly.
// Items with equal scores move together, so a tie group is one step and
// AccuracyAt interpolates linearly inside it (the expected accuracy when
// ties are broken at random).
func CostQuality(name string, scores []float64, weak, strong []bool) (RouteCurve, error) {
	n := len(scores)
	if n == 0 || len(weak) != n || len(strong) != n {
		return RouteCurve{}, errors.New("cost-quality: need as many weak and strong labels as scores, and at least one")
	}
	idx := make([]int, n)
	correct := 0
	for i := range idx {
		idx[i] = i
		if weak[i] {
			correct++
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	c := RouteCurve{Name: name, Points: []RoutePoint{{StrongFraction: 0, Accuracy: ratio(correct, n), Threshold: math.Inf(1)}}}
	for i := 0; i < n; {
		thr := scores[idx[i]]
		for i < n && scores[idx[i]] == thr {
			j := idx[i]
			if strong[j] && !weak[j] {
				correct++
			} else if weak[j] && !strong[j] {
				correct--
			}
			i++
		}
		c.Points = append(c.Points, RoutePoint{StrongFraction: ratio(i, n), Accuracy: ratio(correct, n), Threshold: thr})
	}
	return c, nil
}

// OracleCurve is the best any router can do: it sends to the strong model
// exactly the items only the strong model answers, first.
func OracleCurve(weak, strong []bool) RouteCurve {
	n := len(weak)
	base, gain := 0, 0
	for i := range weak {
		if weak[i] {
			base++
		}
		if strong[i] && !weak[i] {
			gain++
		}
	}
	return RouteCurve{Name: "oracle", Points: []RoutePoint{
		{StrongFraction: 0, Accuracy: ratio(base, n), Threshold: math.Inf(1)},
		{StrongFraction: ratio(gain, n), Accuracy: ratio(base+gain, n), Threshold: 1},
		{StrongFraction: 1, Accuracy: ratio(base+gain, n), Threshold: 0},
	}}
}

// RandomCurve is the router that sends a random fraction of calls to the
// strong model: a straight line between the two models' accuracies.
func RandomCurve(weakAcc, strongAcc float64) RouteCurve {
	return RouteCurve{Name: "random", Points: []RoutePoint{
		{StrongFraction: 0, Accuracy: weakAcc, Threshold: math.Inf(1)},
		{StrongFraction: 1, Accuracy: strongAcc, Threshold: math.Inf(-1)},
	}}
}

// AccuracyAt interpolates the curve's accuracy at a strong-call fraction.
func (c RouteCurve) AccuracyAt(f float64) float64 {
	p := c.Points
	if len(p) == 0 {
		return 0
	}
	if f <= p[0].StrongFraction {
		return p[0].Accuracy
	}
	for i := 1; i < len(p); i++ {
		if f <= p[i].StrongFraction {
			a, b := p[i-1], p[i]
			if b.StrongFraction == a.StrongFraction {
				return b.Accuracy
			}
			t := (f - a.StrongFraction) / (b.StrongFraction - a.StrongFraction)
			return a.Accuracy + t*(b.Accuracy-a.Accuracy)
		}
	}
	return p[len(p)-1].Accuracy
}

// ThresholdAt returns the threshold of the first point whose strong-call
// fraction reaches f (the score cut-off to configure for that budget).
func (c RouteCurve) ThresholdAt(f float64) float64 {
	for _, p := range c.Points {
		if p.StrongFraction >= f {
			return p.Threshold
		}
	}
	return math.Inf(-1)
}

// GapRecovered is the performance gap recovered, (acc − weak)/(strong − weak):
// 0 at the weak model's accuracy, 1 at the strong model's.
func GapRecovered(acc, weakAcc, strongAcc float64) float64 {
	if strongAcc == weakAcc {
		return 0
	}
	return (acc - weakAcc) / (strongAcc - weakAcc)
}

// APGR is the average performance gap recovered over strong-call fractions
// 0..1 (the trapezoid area under the PGR curve); random routing scores 0.5.
func (c RouteCurve) APGR(weakAcc, strongAcc float64) float64 {
	const steps = 1000
	var sum float64
	for i := 0; i <= steps; i++ {
		w := 1.0
		if i == 0 || i == steps {
			w = 0.5
		}
		sum += w * GapRecovered(c.AccuracyAt(float64(i)/steps), weakAcc, strongAcc)
	}
	return sum / steps
}

// MinFractionFor returns the smallest strong-call fraction at which the
// curve recovers at least pgr of the gap (the call–performance threshold),
// and false when it never does.
func (c RouteCurve) MinFractionFor(pgr, weakAcc, strongAcc float64) (float64, bool) {
	target := weakAcc + pgr*(strongAcc-weakAcc)
	p := c.Points
	for i := range p {
		if p[i].Accuracy >= target {
			if i == 0 {
				return p[0].StrongFraction, true
			}
			a, b := p[i-1], p[i]
			if b.Accuracy == a.Accuracy {
				return b.StrongFraction, true
			}
			t := (target - a.Accuracy) / (b.Accuracy - a.Accuracy)
			return a.StrongFraction + t*(b.StrongFraction-a.StrongFraction), true
		}
	}
	return 0, false
}
