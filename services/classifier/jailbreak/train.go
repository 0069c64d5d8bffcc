package jailbreak

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
)

// TrainConfig is one head configuration.
type TrainConfig struct {
	Bits   int     // char n-gram hash buckets = 2^Bits
	MinN   int     // shortest char n-gram
	MaxN   int     // longest char n-gram
	Lambda float64 // L2 penalty on all weights but the bias
	Iters  int     // accelerated gradient steps
	// NoGuard leaves the guard logits out (char n-grams only): an ablation
	// that shows what the head learns from warden_train alone.
	NoGuard bool
}

// String names the configuration in reports.
func (c TrainConfig) String() string {
	s := fmt.Sprintf("bits=%d n=%d-%d lambda=%g iters=%d", c.Bits, c.MinN, c.MaxN, c.Lambda, c.Iters)
	if c.NoGuard {
		s += " no-guard"
	}
	return s
}

// denseClip bounds standardised dense inputs while training and scoring.
const denseClip = 5

// Trainer fits heads on a fixed set of examples. Training is deterministic:
// full-batch accelerated gradient descent from zero weights with a fixed
// step and a fixed number of steps, and folds chosen by a hash of the text
// (so repeated prompts always share a fold).
type Trainer struct {
	guard    *guard
	examples []Example
	logits   [][numTasks]float64
	grams    map[charGrams][]sparseVec
}

type sparseVec struct {
	idx []uint32
	val []float32 // L2-normalised
}

// NewTrainer loads the guard models from guardDir and computes their logits
// for every example.
func NewTrainer(guardDir string, examples []Example) (*Trainer, error) {
	if len(examples) == 0 {
		return nil, errors.New("train jailbreak head: no examples")
	}
	g, err := loadGuard(guardDir)
	if err != nil {
		return nil, err
	}
	return newTrainer(g, examples), nil
}

func newTrainer(g *guard, examples []Example) *Trainer {
	tr := &Trainer{guard: g, examples: examples, grams: map[charGrams][]sparseVec{}}
	c := g.newCounts()
	tr.logits = make([][numTasks]float64, len(examples))
	for i, ex := range examples {
		g.countTerms(c, ex.Text)
		tr.logits[i] = g.logits(c)
	}
	return tr
}

func (tr *Trainer) gramVectors(cg charGrams) []sparseVec {
	if v, ok := tr.grams[cg]; ok {
		return v
	}
	s := cg.newScratch()
	out := make([]sparseVec, len(tr.examples))
	for i, ex := range tr.examples {
		cg.count(s, ex.Text)
		out[i] = s.vector()
	}
	tr.grams[cg] = out
	return out
}

// Fit trains a head on the examples at indices idx (all when idx is nil).
func (tr *Trainer) Fit(ctx context.Context, cfg TrainConfig, idx []int) (*Head, error) {
	cg := charGrams{Bits: cfg.Bits, MinN: cfg.MinN, MaxN: cfg.MaxN}
	h := &Head{Version: 1, Guard: GuardPackage, CharGrams: cg}
	if err := validateConfig(cfg); err != nil {
		return nil, err
	}
	if idx == nil {
		idx = make([]int, len(tr.examples))
		for i := range idx {
			idx[i] = i
		}
	}
	vecs := tr.gramVectors(cg)

	// Standardise the clipped guard logits over the training rows.
	h.DenseMean = make([]float64, numDense)
	h.DenseScale = make([]float64, numDense)
	for t := range numDense {
		var sum, sumsq float64
		for _, i := range idx {
			v := max(-logitClip, min(logitClip, tr.logits[i][t]))
			sum += v
			sumsq += v * v
		}
		n := float64(len(idx))
		mean := sum / n
		h.DenseMean[t] = mean
		h.DenseScale[t] = math.Sqrt(max(sumsq/n-mean*mean, 0)) + 1e-6
	}
	dense := make([][numDense]float64, len(idx))
	if cfg.NoGuard {
		for t := range numDense {
			h.DenseMean[t], h.DenseScale[t] = 0, 1
		}
	} else {
		for k, i := range idx {
			dense[k] = h.clippedDense(tr.logits[i])
		}
	}

	// Step 1/L with L bounding the Hessian of the mean log-loss:
	// 0.25·max‖x‖² (+ the bias's 1) + λ.
	maxSq := 0.0
	for k := range idx {
		sq := 2.0 // bias + unit-norm gram vector
		for _, v := range dense[k] {
			sq += v * v
		}
		maxSq = max(maxSq, sq)
	}
	step := 1 / (0.25*maxSq + cfg.Lambda)

	nb := cg.buckets()
	// Parameters: [bias, dense…, grams…]; y is the look-ahead point.
	dim := 1 + numDense + nb
	x := make([]float64, dim) // the last gradient step
	y := make([]float64, dim)
	grad := make([]float64, dim)
	n := float64(len(idx))
	for it := 1; it <= cfg.Iters; it++ {
		if it%50 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		clear(grad)
		for k, i := range idx {
			z := y[0]
			for t, v := range dense[k] {
				z += y[1+t] * v
			}
			sv := vecs[i]
			for j, b := range sv.idx {
				z += y[1+numDense+int(b)] * float64(sv.val[j])
			}
			label := 0.0
			if tr.examples[i].Attack {
				label = 1
			}
			r := (sigmoid(z) - label) / n
			grad[0] += r
			for t, v := range dense[k] {
				grad[1+t] += r * v
			}
			for j, b := range sv.idx {
				grad[1+numDense+int(b)] += r * float64(sv.val[j])
			}
		}
		for j := 1; j < dim; j++ {
			grad[j] += cfg.Lambda * y[j]
		}
		momentum := float64(it-1) / float64(it+2)
		for j := range dim {
			next := y[j] - step*grad[j]
			y[j] = next + momentum*(next-x[j])
			x[j] = next
		}
	}
	h.Bias = x[0]
	h.DenseWeights = append([]float64(nil), x[1:1+numDense]...)
	if cfg.NoGuard {
		clear(h.DenseWeights)
	}
	h.GramWeights = make([]float32, nb)
	for j := range nb {
		h.GramWeights[j] = roundSig(x[1+numDense+j], 4)
	}
	return h, nil
}

func validateConfig(cfg TrainConfig) error {
	var errs []error
	if cfg.Bits < 8 || cfg.Bits > 22 {
		errs = append(errs, fmt.Errorf("bits: want 8…22, got %d", cfg.Bits))
	}
	if cfg.MinN < 1 || cfg.MaxN < cfg.MinN || cfg.MaxN > maxCharN {
		errs = append(errs, fmt.Errorf("n-gram range: want 1 ≤ min ≤ max ≤ %d, got %d…%d", maxCharN, cfg.MinN, cfg.MaxN))
	}
	if cfg.Lambda < 0 || cfg.Iters < 1 {
		errs = append(errs, fmt.Errorf("want lambda ≥ 0 and iters ≥ 1, got %g and %d", cfg.Lambda, cfg.Iters))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("train config: %w", err)
	}
	return nil
}

// roundSig rounds v to sig significant digits, so the committed weights
// stay small.
func roundSig(v float64, sig int) float32 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', sig, 64), 32)
	return float32(f)
}

// predict returns the head's probabilities for the examples at idx.
func (tr *Trainer) predict(h *Head, idx []int) []float64 {
	vecs := tr.gramVectors(h.CharGrams)
	out := make([]float64, len(idx))
	for k, i := range idx {
		z := h.Bias
		for t, v := range h.clippedDense(tr.logits[i]) {
			z += h.DenseWeights[t] * v
		}
		sv := vecs[i]
		for j, b := range sv.idx {
			z += float64(h.GramWeights[b]) * float64(sv.val[j])
		}
		out[k] = sigmoid(z)
	}
	return out
}

// FoldOf returns the cross-validation fold of a text.
func FoldOf(text string, folds int) int {
	h := fnv.New64a()
	h.Write([]byte(text))
	return int(h.Sum64() % uint64(folds))
}

// CVResult is the pooled out-of-fold result of one configuration.
type CVResult struct {
	Config  TrainConfig
	Metrics Metrics // at threshold 0.5
	LogLoss float64
	OOF     []float64 // out-of-fold probability of every example
}

// CrossValidate trains one head per fold on the other folds and scores the
// held-out fold.
func (tr *Trainer) CrossValidate(ctx context.Context, cfg TrainConfig, folds int) (CVResult, error) {
	res := CVResult{Config: cfg, OOF: make([]float64, len(tr.examples))}
	fold := make([]int, len(tr.examples))
	for i, ex := range tr.examples {
		fold[i] = FoldOf(ex.Text, folds)
	}
	for f := range folds {
		var trainIdx, testIdx []int
		for i := range tr.examples {
			if fold[i] == f {
				testIdx = append(testIdx, i)
			} else {
				trainIdx = append(trainIdx, i)
			}
		}
		h, err := tr.Fit(ctx, cfg, trainIdx)
		if err != nil {
			return res, err
		}
		for k, p := range tr.predict(h, testIdx) {
			res.OOF[testIdx[k]] = p
		}
	}
	labels := tr.Labels()
	res.Metrics = Evaluate(res.OOF, labels, 0.5)
	for i, p := range res.OOF {
		p = min(max(p, 1e-12), 1-1e-12)
		if labels[i] {
			res.LogLoss -= math.Log(p)
		} else {
			res.LogLoss -= math.Log(1 - p)
		}
	}
	res.LogLoss /= float64(len(res.OOF))
	return res, nil
}

// ChooseOperatingPoint returns the lowest threshold, at most 0.5, at which
// the out-of-fold false-positive rate on benign examples stays within
// budget: the midpoint (in log-odds) between the highest benign probability
// it lets through and the next one, which it does not.
func ChooseOperatingPoint(oof []float64, attack []bool, budget float64) OperatingPoint {
	var benign []float64
	for i, p := range oof {
		if !attack[i] {
			benign = append(benign, p)
		}
	}
	slices.SortFunc(benign, func(a, b float64) int { return cmp.Compare(b, a) })
	allowed := int(budget * float64(len(benign)))
	thr := 0.5
	if allowed < len(benign) {
		lo := logit(benign[allowed])
		hi := lo + 1
		if allowed > 0 {
			hi = logit(benign[allowed-1])
		}
		thr = min(0.5, sigmoid((lo+hi)/2))
	}
	m := Evaluate(oof, attack, thr)
	return OperatingPoint{FPRBudget: budget, Threshold: thr, CVFPR: m.FPR, CVRecall: m.Recall, CVF1: m.F1}
}

// ShiftBias moves h's decision point: after it, h scores 0.5 where it
// scored thr before.
func (h *Head) ShiftBias(thr float64) { h.Bias -= logit(thr) }

func logit(p float64) float64 {
	p = min(max(p, 1e-12), 1-1e-12)
	return math.Log(p / (1 - p))
}

// Labels returns the attack flag of every example.
func (tr *Trainer) Labels() []bool {
	out := make([]bool, len(tr.examples))
	for i, ex := range tr.examples {
		out[i] = ex.Attack
	}
	return out
}

// GuardProbabilities returns the guard's combined (max) probability of every
// example.
func (tr *Trainer) GuardProbabilities() []float64 {
	out := make([]float64, len(tr.examples))
	for i, z := range tr.logits {
		out[i] = sigmoid(max(z[0], z[1], z[2]))
	}
	return out
}
