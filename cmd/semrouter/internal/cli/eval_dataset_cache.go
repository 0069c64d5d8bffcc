package cli

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/classifier/quality"
)

// defaultCachePairs is the QQP sample size when --limit is not given.
const defaultCachePairs = 4000

// cacheSummary is the --json output of the cache task.
type cacheSummary struct {
	Task       string  `json:"task"`
	Model      string  `json:"model"`
	Pairs      int     `json:"pairs"`
	Duplicates int     `json:"duplicates"`
	AP         float64 `json:"average_precision"`
	// TargetPrecision is the precision the threshold search aims at.
	TargetPrecision float64 `json:"target_precision"`
	// AtTarget is the lowest threshold reaching TargetPrecision on the
	// whole sample; Reached is false when none does.
	Reached  bool           `json:"reached"`
	AtTarget quality.Binary `json:"at_target"`
	// HeldOut is the threshold chosen on the calibration half (hash of the
	// pair id) and measured on the other half.
	HeldOut quality.Binary `json:"held_out"`
	// Default is the figures at the config's default similarity threshold.
	Default quality.Binary `json:"at_default_threshold"`
	BestF1  quality.Binary `json:"best_f1"`
	// Targets is the highest-recall threshold for several precisions.
	Targets []precisionTarget `json:"targets"`
	// Curve is precision/recall at thresholds 0.50, 0.55, … 1.00.
	Curve []quality.Binary `json:"curve"`
	// Guard says whether the figures above include the semantic tier's
	// lexical guard (cache.SameQuestion), as the router serves hits.
	Guard bool `json:"guard"`
	// Shipped is the figures at the thresholds config/quickstart.yaml ships.
	Shipped []quality.Binary `json:"at_shipped_thresholds"`
	// CosineOnly is the same figures for the bare cosine (no guard).
	CosineOnly *cacheSummary `json:"cosine_only,omitempty"`
	// LabelCeiling is the precision the labels allow a cache that serves
	// only same-word rewordings, on the whole file and on the sample.
	LabelCeiling []labelCeiling `json:"label_ceiling,omitempty"`

	dup   []bool
	curve []quality.Binary
}

// shippedCacheThresholds are the semantic similarity thresholds of the
// decisions in config/quickstart.yaml (general 0.92, coding 0.97).
var shippedCacheThresholds = [...]float64{0.92, 0.97}

// precisionTarget is the operating point for one precision target.
type precisionTarget struct {
	Precision float64        `json:"precision_target"`
	Reached   bool           `json:"reached"`
	Point     quality.Binary `json:"point"`
}

// pairHash orders pairs for the deterministic sample and the
// calibration/held-out halves.
func pairHash(id int) uint64 {
	h := fnv.New64a()
	h.Write([]byte("qqp-sample-v1:" + strconv.Itoa(id)))
	return h.Sum64()
}

func evalCache(ctx context.Context, env *Env, q *qualityEnv, o evalOptions) (any, *quality.Report, error) {
	path := q.dataPath(o, "qqp", "pairs.jsonl")
	if isDir(path) {
		path = filepath.Join(path, "pairs.jsonl")
	}
	pairs, err := quality.ReadPairs(path)
	if err != nil {
		return nil, nil, err
	}
	ceiling := []labelCeiling{measureLabelCeiling("file", pairs)}
	n := o.limit
	if n == 0 {
		n = defaultCachePairs
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairHash(pairs[i].ID) < pairHash(pairs[j].ID) })
	if n < len(pairs) {
		pairs = pairs[:n]
	}
	lm, err := loadModel(ctx, env.Logger, o.model)
	if err != nil {
		return nil, nil, err
	}
	defer lm.Close()
	texts := make([]string, 0, 2*len(pairs))
	for _, p := range pairs {
		texts = append(texts, p.Q1, p.Q2)
	}
	vecs, err := embedTexts(ctx, env, q, lm, texts, fmt.Sprintf("embed %d pairs", len(pairs)))
	if err != nil {
		return nil, nil, err
	}
	cos := make([]float64, len(pairs))
	guarded := make([]float64, len(pairs))
	for i, p := range pairs {
		cos[i] = cosine(vecs[2*i], vecs[2*i+1])
		guarded[i] = cos[i]
		if !cache.SameQuestion(p.Q1, p.Q2) {
			// The router never serves this candidate, whatever its cosine.
			guarded[i] = -1
		}
	}
	s := cacheFigures(pairs, guarded, lm.Model())
	s.Guard = true
	s.LabelCeiling = append(ceiling, measureLabelCeiling("sample", pairs))
	bare := cacheFigures(pairs, cos, lm.Model())
	s.CosineOnly = &bare
	var thr, prec, rec []float64
	for _, b := range s.Curve {
		if b.TP+b.FP > 0 { // precision is undefined without hits
			thr, prec, rec = append(thr, b.Threshold), append(prec, b.Precision), append(rec, b.Recall)
		}
	}

	rep := quality.NewReport(fmt.Sprintf("Semantic cache: QQP duplicates by cosine, %s", lm.Model()))
	rep.Para("Deterministic sample of %d QQP pairs (%d duplicates; FNV-64a of `qqp-sample-v1:<id>`). "+
		"QQP is for internal evaluation only (non-commercial licence): no shipped threshold is tuned on it. "+
		"A pair counts as a hit when its cosine reaches the threshold **and** the semantic tier's lexical guard "+
		"(same numbers in the same order, same number of negations, no opposite directions or reversed conversions) lets it through, as the router serves hits. "+
		"Average precision %.4f (cosine alone: %.4f).", s.Pairs, s.Duplicates, s.AP, bare.AP)
	for _, f := range []*cacheSummary{&s, &bare} {
		name := "With the guard"
		if f == &bare {
			name = "Cosine alone"
		}
		if f.Reached {
			rep.Para("%s, the lowest threshold reaching precision ≥ %.2f is **%.4f** (precision %.4f, recall %.4f). "+
				"Chosen on one half of the sample and measured on the other: precision %.4f, recall %.4f at %.4f.",
				name, f.TargetPrecision, f.AtTarget.Threshold, f.AtTarget.Precision, f.AtTarget.Recall, f.HeldOut.Precision, f.HeldOut.Recall, f.HeldOut.Threshold)
		} else {
			rep.Para("%s, no threshold reaches precision %.2f with this model.", name, f.TargetPrecision)
		}
	}
	rep.Para("At the config default similarity_threshold %.2f: precision %.4f, recall %.4f (cosine alone %.4f / %.4f). Best F1 %.4f at %.4f.",
		config.DefaultCacheSimilarity, s.Default.Precision, s.Default.Recall, bare.Default.Precision, bare.Default.Recall, s.BestF1.F1, s.BestF1.Threshold)
	for _, c := range s.LabelCeiling {
		rep.Para("Label ceiling (%s): %d pairs are the same words in the same order (case and punctuation folded); %d of them (%.4f) are labelled duplicate, "+
			"%d of the %d the guard lets through (%.4f). No cache serving rewordings can be more precise than the labels allow.",
			c.Scope, c.Pairs, c.Duplicates, c.Precision, c.GuardedDuplicates, c.GuardedPairs, c.GuardedPrecision)
	}
	var srows [][]string
	for i, b := range s.Shipped {
		c := bare.Shipped[i]
		srows = append(srows, []string{fmt.Sprintf("%.2f", b.Threshold), quality.F(b.Precision), quality.F(b.Recall), quality.F(c.Precision), quality.F(c.Recall)})
	}
	rep.Table([]string{"quickstart threshold", "precision", "recall", "cosine-only precision", "cosine-only recall"}, srows)
	var trows [][]string
	for _, t := range s.Targets {
		if t.Reached {
			trows = append(trows, []string{fmt.Sprintf("%.2f", t.Precision), fmt.Sprintf("%.4f", t.Point.Threshold), quality.F(t.Point.Recall), fmt.Sprint(t.Point.TP)})
		} else {
			trows = append(trows, []string{fmt.Sprintf("%.2f", t.Precision), "not reached", "-", "-"})
		}
	}
	rep.Table([]string{"precision target", "threshold", "recall", "true hits"}, trows)
	var rows [][]string
	for i, b := range s.Curve {
		c := bare.Curve[i]
		rows = append(rows, []string{fmt.Sprintf("%.2f", b.Threshold), quality.F(b.Precision), quality.F(b.Recall), fmt.Sprint(b.TP + b.FP),
			quality.F(c.Precision), quality.F(c.Recall)})
	}
	rep.Table([]string{"threshold", "precision", "recall", "hits", "cosine-only precision", "cosine-only recall"}, rows)
	rep.Image("cache_pr.png", "precision-recall curve", quality.LineChart{
		Title: "CACHE HITS ON QQP: PRECISION-RECALL (" + lm.Model() + ")", XLabel: "RECALL", YLabel: "PRECISION",
		XMin: 0, XMax: 1, YMin: 0, YMax: 1,
		Series: []quality.Series{prSeries("cosine + guard", s.curve, 0, false), prSeries("cosine alone", bare.curve, 1, false)}, LegendLeft: true,
	}.Render(800, 560))
	rep.Image("cache_threshold.png", "precision and recall vs threshold", quality.LineChart{
		Title: "CACHE: PRECISION AND RECALL VS THRESHOLD", XLabel: "COSINE THRESHOLD", YLabel: "VALUE",
		XMin: 0.5, XMax: 1, YMin: 0, YMax: 1, LegendLeft: true,
		Series: []quality.Series{
			{Name: "precision", X: thr, Y: prec, Color: quality.Palette()[0], Markers: true},
			{Name: "recall", X: thr, Y: rec, Color: quality.Palette()[1], Markers: true},
		},
	}.Render(800, 560))
	return s, rep, nil
}

// cacheFigures measures scores (higher: more likely the same question)
// against the pairs' labels.
func cacheFigures(pairs []quality.Pair, scores []float64, model string) cacheSummary {
	dup := make([]bool, len(pairs))
	var calS, holdS []float64
	var calY, holdY []bool
	s := cacheSummary{Task: "cache", Model: model, Pairs: len(pairs), TargetPrecision: 0.95}
	for i, p := range pairs {
		dup[i] = p.Duplicate
		if p.Duplicate {
			s.Duplicates++
		}
		if pairHash(p.ID)&1 == 0 {
			calS, calY = append(calS, scores[i]), append(calY, dup[i])
		} else {
			holdS, holdY = append(holdS, scores[i]), append(holdY, dup[i])
		}
	}
	curve := quality.PRCurve(scores, dup)
	s.AP = quality.AveragePrecision(curve)
	s.AtTarget, s.Reached = quality.ThresholdForPrecision(curve, s.TargetPrecision)
	if cal, ok := quality.ThresholdForPrecision(quality.PRCurve(calS, calY), s.TargetPrecision); ok {
		s.HeldOut = quality.BinaryAt(holdS, holdY, cal.Threshold)
	}
	s.Default = quality.BinaryAt(scores, dup, config.DefaultCacheSimilarity)
	for _, t := range shippedCacheThresholds {
		s.Shipped = append(s.Shipped, quality.BinaryAt(scores, dup, t))
	}
	for _, target := range []float64{0.75, 0.80, 0.85, 0.90, 0.95} {
		b, ok := quality.ThresholdForPrecision(curve, target)
		s.Targets = append(s.Targets, precisionTarget{Precision: target, Reached: ok, Point: b})
	}
	s.BestF1 = quality.BestF1(curve)
	for t := 0.5; t <= 1.0001; t += 0.05 {
		s.Curve = append(s.Curve, quality.BinaryAt(scores, dup, t))
	}
	s.dup, s.curve = dup, curve
	return s
}

// cosine of two vectors (the models return unit vectors, but be exact).
func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / (math.Sqrt(na) * math.Sqrt(nb))
}
