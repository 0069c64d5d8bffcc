package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/semrouter/semrouter/services/classifier/domain"
	"github.com/semrouter/semrouter/services/classifier/quality"
)

// domainSummary is the --json output of the domain task.
type domainSummary struct {
	Task         string                 `json:"task"`
	Model        string                 `json:"model"`
	Head         string                 `json:"head"`
	Split        string                 `json:"split"`
	N            int                    `json:"n"`
	Accuracy     float64                `json:"accuracy"`
	MacroF1      float64                `json:"macro_f1"`
	PerCategory  map[string]float64     `json:"per_category_f1"`
	Classes      []quality.ClassMetrics `json:"per_category"`
	LatencyP50Ms float64                `json:"latency_p50_ms"`
	LatencyP99Ms float64                `json:"latency_p99_ms"`
	LatencyN     int                    `json:"latency_samples"`
	Provider     string                 `json:"provider"`
}

func evalDomain(ctx context.Context, env *Env, q *qualityEnv, o evalOptions) (any, *quality.Report, error) {
	mp, err := quality.ReadMMLUPro(q.dataPath(o, "mmlu_pro"))
	if err != nil {
		return nil, nil, err
	}
	split, err := quality.ParseSplit(o.split)
	if err != nil {
		return nil, nil, usageErrorf("%v", err)
	}
	qs := mp.Split(split)
	if o.limit > 0 && o.limit < len(qs) {
		qs = qs[:o.limit]
	}
	lm, err := loadModel(ctx, env.Logger, o.model)
	if err != nil {
		return nil, nil, err
	}
	defer lm.Close()
	headPath := o.head
	if headPath == "" {
		headPath = q.headPath(lm.Model())
	}
	h, err := readHead(headPath)
	if err != nil {
		return nil, nil, err
	}
	if h.Model != lm.Model() {
		return nil, nil, fmt.Errorf("domain head %s was trained on %q, not %q", headPath, h.Model, lm.Model())
	}
	idx := categoryIndex(h.Labels)
	truth, err := labelsOf(qs, idx)
	if err != nil {
		return nil, nil, err
	}
	x, err := embedQuestions(ctx, env, q, lm, qs, quality.TextRaw, o.split)
	if err != nil {
		return nil, nil, err
	}
	fallback := -1
	if o.domainThreshold > 0 {
		name := o.fallback
		if name == "" {
			name = "other"
		}
		k, ok := idx[name]
		if !ok {
			return nil, nil, fmt.Errorf("fallback category %q is not a head label", name)
		}
		fallback = k
	}
	pred := make([]int, len(x))
	probs := make([]float64, len(h.Labels))
	for i, v := range x {
		p, err := h.Predict(v, probs)
		if err != nil {
			return nil, nil, err
		}
		pred[i] = p.Index
		if fallback >= 0 && p.Prob < o.domainThreshold {
			pred[i] = fallback
		}
	}
	cls, err := quality.Classify(h.Labels, truth, pred)
	if err != nil {
		return nil, nil, err
	}
	lat, err := domainLatency(ctx, env, lm, h, qs, o.latencyN)
	if err != nil {
		return nil, nil, err
	}
	s := domainSummary{Task: "domain", Model: lm.Model(), Head: headPath, Split: o.split, N: cls.N,
		Accuracy: cls.Accuracy, MacroF1: cls.MacroF1, PerCategory: map[string]float64{}, Classes: cls.Classes,
		LatencyN: len(lat), Provider: lm.m.Provider()}
	for _, c := range cls.Classes {
		s.PerCategory[c.Label] = c.F1
	}
	s.LatencyP50Ms = ms(quality.Percentile(lat, 0.5))
	s.LatencyP99Ms = ms(quality.Percentile(lat, 0.99))

	rep := quality.NewReport(fmt.Sprintf("Domain classification: %s, MMLU-Pro %s", lm.Model(), o.split))
	rep.Para("Head `%s` (dev accuracy at training %.4f). %d questions; accuracy **%.4f**, macro-F1 **%.4f**. "+
		"Latency of one classification (embedding one question + head, %s, %d samples): p50 %.2f ms, p99 %.2f ms.",
		filepath.Base(headPath), h.Metrics["dev_accuracy"], cls.N, cls.Accuracy, cls.MacroF1, s.Provider, len(lat), s.LatencyP50Ms, s.LatencyP99Ms)
	var rows [][]string
	for _, c := range cls.Classes {
		rows = append(rows, []string{c.Label, fmt.Sprint(c.Support), quality.F(c.Precision), quality.F(c.Recall), quality.F(c.F1)})
	}
	rep.Table([]string{"category", "support", "precision", "recall", "F1"}, rows)
	rep.Image("domain_confusion.png", "confusion matrix", quality.ConfusionHeatmap(
		fmt.Sprintf("DOMAIN CONFUSION, %s, %s (ACC %.3f)", lm.Model(), o.split, cls.Accuracy), cls).Render())
	return s, rep, nil
}

// domainLatency times up to n classifications one by one (embedding of a
// single text plus the head), after a warm-up.
func domainLatency(ctx context.Context, env *Env, lm *loadedModel, h *domain.Head, qs []quality.Question, n int) ([]time.Duration, error) {
	n = min(n, len(qs))
	if n <= 0 {
		return nil, nil
	}
	if _, err := lm.Embed(ctx, []string{qs[0].Question}); err != nil {
		return nil, err
	}
	bar := quality.NewProgress(env.Stderr, "latency (one by one)")
	probs := make([]float64, len(h.Labels))
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		v, err := lm.Embed(ctx, []string{qs[i].Question})
		if err != nil {
			return nil, err
		}
		if _, err := h.Predict(v[0], probs); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
		bar.Update(i+1, n)
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
