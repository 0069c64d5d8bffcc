package quality

import (
	"errors"
	"math"
	"sort"
	"time"
)

// ClassMetrics are the figures of one class of a multi-class evaluation.
type ClassMetrics struct {
	Label     string  `json:"label"`
	Support   int     `json:"support"` // true examples of the class
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// Classification summarises a multi-class evaluation.
type Classification struct {
	N        int            `json:"n"`
	Accuracy float64        `json:"accuracy"`
	MacroF1  float64        `json:"macro_f1"`
	Classes  []ClassMetrics `json:"per_category"`
	// Confusion[t][p] counts examples of true class t predicted as p.
	Confusion [][]int  `json:"confusion"`
	Labels    []string `json:"labels"`
}

// Classify computes accuracy, per-class precision/recall/F1, macro F1 (the
// unweighted mean over classes with support or predictions) and the
// confusion matrix. truth and pred are indices into labels.
func Classify(labels []string, truth, pred []int) (Classification, error) {
	if len(truth) != len(pred) {
		return Classification{}, errors.New("classify: truth and predictions differ in length")
	}
	k := len(labels)
	c := Classification{N: len(truth), Labels: append([]string(nil), labels...), Confusion: make([][]int, k)}
	for i := range c.Confusion {
		c.Confusion[i] = make([]int, k)
	}
	correct := 0
	for i, t := range truth {
		p := pred[i]
		if t < 0 || t >= k || p < 0 || p >= k {
			return Classification{}, errors.New("classify: label index out of range")
		}
		c.Confusion[t][p]++
		if t == p {
			correct++
		}
	}
	c.Accuracy = ratio(correct, len(truth))
	var sumF1 float64
	counted := 0
	for j := 0; j < k; j++ {
		tp := c.Confusion[j][j]
		support, predicted := 0, 0
		for i := 0; i < k; i++ {
			support += c.Confusion[j][i]
			predicted += c.Confusion[i][j]
		}
		m := ClassMetrics{Label: labels[j], Support: support, Precision: ratio(tp, predicted), Recall: ratio(tp, support)}
		m.F1 = harmonic(m.Precision, m.Recall)
		c.Classes = append(c.Classes, m)
		if support > 0 || predicted > 0 {
			sumF1 += m.F1
			counted++
		}
	}
	if counted > 0 {
		c.MacroF1 = sumF1 / float64(counted)
	}
	return c, nil
}

// Binary are the figures of a binary decision at one threshold.
type Binary struct {
	Threshold float64 `json:"threshold"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	TN        int     `json:"tn"`
	FN        int     `json:"fn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	FPR       float64 `json:"fpr"`
	Accuracy  float64 `json:"accuracy"`
}

// BinaryAt scores a binary decision (positive when score ≥ thr).
// Precision is 1 when nothing is predicted positive (no false positives).
func BinaryAt(scores []float64, positive []bool, thr float64) Binary {
	b := Binary{Threshold: thr}
	for i, s := range scores {
		switch p := s >= thr; {
		case p && positive[i]:
			b.TP++
		case p:
			b.FP++
		case positive[i]:
			b.FN++
		default:
			b.TN++
		}
	}
	b.fill()
	return b
}

func (b *Binary) fill() {
	if b.TP+b.FP == 0 {
		b.Precision = 1
	} else {
		b.Precision = ratio(b.TP, b.TP+b.FP)
	}
	b.Recall = ratio(b.TP, b.TP+b.FN)
	b.F1 = harmonic(b.Precision, b.Recall)
	if b.TP == 0 {
		b.F1 = 0
	}
	b.FPR = ratio(b.FP, b.FP+b.TN)
	b.Accuracy = ratio(b.TP+b.TN, b.TP+b.FP+b.TN+b.FN)
}

// PRCurve returns the binary figures at every distinct score used as the
// threshold, from the highest threshold (fewest positives) to the lowest.
// It sorts once, so it costs O(n log n).
func PRCurve(scores []float64, positive []bool) []Binary {
	idx := make([]int, len(scores))
	pos := 0
	for i := range idx {
		idx[i] = i
		if positive[i] {
			pos++
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	var out []Binary
	tp, fp := 0, 0
	for i := 0; i < len(idx); {
		thr := scores[idx[i]]
		for i < len(idx) && scores[idx[i]] == thr {
			if positive[idx[i]] {
				tp++
			} else {
				fp++
			}
			i++
		}
		b := Binary{Threshold: thr, TP: tp, FP: fp, FN: pos - tp, TN: len(idx) - pos - fp}
		b.fill()
		out = append(out, b)
	}
	return out
}

// ThresholdForPrecision returns the point of curve with the highest recall
// whose precision is at least target (among equal recalls, the highest
// threshold), and false when no threshold reaches it.
func ThresholdForPrecision(curve []Binary, target float64) (Binary, bool) {
	best, ok := Binary{}, false
	for _, b := range curve {
		if b.TP > 0 && b.Precision >= target && (!ok || b.Recall > best.Recall || (b.Recall == best.Recall && b.Threshold > best.Threshold)) {
			best, ok = b, true
		}
	}
	return best, ok
}

// BestF1 returns the point of curve with the highest F1.
func BestF1(curve []Binary) Binary {
	var best Binary
	for _, b := range curve {
		if b.F1 > best.F1 {
			best = b
		}
	}
	return best
}

// AveragePrecision is the area under the precision–recall curve by the
// step rule (Σ (R_i − R_{i−1})·P_i).
func AveragePrecision(curve []Binary) float64 {
	var ap, prevR float64
	for _, b := range curve {
		ap += (b.Recall - prevR) * b.Precision
		prevR = b.Recall
	}
	return ap
}

// Percentile returns the q-quantile (0..1) of durations by the nearest-rank
// rule; 0 for an empty slice. It sorts a copy.
func Percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func harmonic(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}
