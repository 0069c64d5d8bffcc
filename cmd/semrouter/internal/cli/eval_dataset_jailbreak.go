package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/semrouter/semrouter/services/classifier/jailbreak"
	"github.com/semrouter/semrouter/services/classifier/quality"
)

// jailbreakSummary is the --json output of the jailbreak task.
type jailbreakSummary struct {
	Task      string  `json:"task"`
	Scorer    string  `json:"scorer"`
	Threshold float64 `json:"threshold"`
	// Warden is warden_test without the prompts that also occur in
	// warden_train (a strict held-out set).
	WardenN       int            `json:"warden_n"`
	WardenDropped int            `json:"warden_dropped_overlap"`
	Precision     float64        `json:"precision"`
	Recall        float64        `json:"recall"`
	F1            float64        `json:"f1"`
	FPR           float64        `json:"fpr"`
	AP            float64        `json:"average_precision"`
	BestF1        quality.Binary `json:"best_f1_point"`
	// JBB is the recall on jbb_attacks (every row an attack); JBBGoals the
	// recall on their plain harmful goals.
	JBBN           int                `json:"jbb_n"`
	JBBRecall      float64            `json:"jbb_recall"`
	JBBRecallBy    map[string]float64 `json:"jbb_recall_by_method"`
	JBBGoalsN      int                `json:"jbb_goals_n"`
	JBBGoalsRecall float64            `json:"jbb_goals_recall"`
	// GuardOnly are the same figures for llm_guardrail's maximum
	// probability alone (no trained head) at 0.5.
	GuardOnly struct {
		Precision float64 `json:"precision"`
		Recall    float64 `json:"recall"`
		F1        float64 `json:"f1"`
		FPR       float64 `json:"fpr"`
		JBBRecall float64 `json:"jbb_recall"`
	} `json:"guard_only"`
}

func evalJailbreak(ctx context.Context, env *Env, q *qualityEnv, o evalOptions) (any, *quality.Report, error) {
	if o.split != "test" {
		return nil, nil, usageErrorf("the jailbreak task has no dev split (warden_train trained the head): use --split test")
	}
	dir := q.dataPath(o, "jailbreak")
	if !isDir(dir) {
		dir = filepath.Dir(dir)
	}
	if q.root == "" {
		return nil, nil, fmt.Errorf("jailbreak scorer: run inside a semrouter checkout (the guard weights are under .cache/npm)")
	}
	sc, err := jailbreak.Load(jailbreak.GuardDir(q.root))
	if err != nil {
		return nil, nil, fmt.Errorf("load jailbreak scorer (run make setup): %w", err)
	}
	train, err := jailbreak.ReadExamples(filepath.Join(dir, "warden_train.jsonl"))
	if err != nil {
		return nil, nil, err
	}
	test, err := jailbreak.ReadExamples(filepath.Join(dir, "warden_test.jsonl"))
	if err != nil {
		return nil, nil, err
	}
	jbb, err := jailbreak.ReadExamples(filepath.Join(dir, "jbb_attacks.jsonl"))
	if err != nil {
		return nil, nil, err
	}
	goals, err := readGoals(filepath.Join(dir, "jbb_attacks.jsonl"))
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, e := range train {
		seen[e.Text] = true
	}
	s := jailbreakSummary{Task: "jailbreak", Scorer: jailbreak.GuardPackage + " + trained head", Threshold: o.threshold}
	var scores, guard []float64
	var attack []bool
	for _, e := range test {
		if seen[e.Text] {
			s.WardenDropped++
			continue
		}
		if o.limit > 0 && len(scores) >= o.limit {
			break
		}
		all := sc.Scores(e.Text)
		scores = append(scores, all.Probability)
		guard = append(guard, all.Guard)
		attack = append(attack, e.Attack)
	}
	s.WardenN = len(scores)
	at := quality.BinaryAt(scores, attack, o.threshold)
	s.Precision, s.Recall, s.F1, s.FPR = at.Precision, at.Recall, at.F1, at.FPR
	curve := quality.PRCurve(scores, attack)
	s.AP = quality.AveragePrecision(curve)
	s.BestF1 = quality.BestF1(curve)
	g := quality.BinaryAt(guard, attack, 0.5)
	s.GuardOnly.Precision, s.GuardOnly.Recall, s.GuardOnly.F1, s.GuardOnly.FPR = g.Precision, g.Recall, g.F1, g.FPR

	bar := quality.NewProgress(env.Stderr, "score jbb_attacks")
	hits, ghits := 0, 0
	byMethod, methodN := map[string]int{}, map[string]int{}
	for i, e := range jbb {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if o.limit > 0 && i >= o.limit {
			break
		}
		all := sc.Scores(e.Text)
		methodN[e.Method]++
		if all.Probability >= o.threshold {
			hits++
			byMethod[e.Method]++
		}
		if all.Guard >= 0.5 {
			ghits++
		}
		s.JBBN++
		bar.Update(i+1, len(jbb))
	}
	s.JBBRecall = ratioOf(hits, s.JBBN)
	s.GuardOnly.JBBRecall = ratioOf(ghits, s.JBBN)
	s.JBBRecallBy = map[string]float64{}
	for m, n := range methodN {
		s.JBBRecallBy[m] = ratioOf(byMethod[m], n)
	}
	ghit := 0
	for _, gl := range goals {
		if sc.Score(gl) >= o.threshold {
			ghit++
		}
	}
	s.JBBGoalsN, s.JBBGoalsRecall = len(goals), ratioOf(ghit, len(goals))

	rep := quality.NewReport("Jailbreak detection: " + s.Scorer)
	rep.Para("warden_test without the %d prompts that also occur in warden_train: %d prompts. "+
		"At threshold %.2f: precision **%.4f**, recall **%.4f**, F1 **%.4f**, FPR **%.4f** (average precision %.4f; "+
		"best F1 %.4f at threshold %.3f). jbb_attacks recall **%.4f** (%d attacks); their plain goals: recall %.4f (%d).",
		s.WardenDropped, s.WardenN, o.threshold, s.Precision, s.Recall, s.F1, s.FPR, s.AP, s.BestF1.F1, s.BestF1.Threshold,
		s.JBBRecall, s.JBBN, s.JBBGoalsRecall, s.JBBGoalsN)
	rep.Para("llm_guardrail alone (maximum of its three probabilities ≥ 0.5): precision %.4f, recall %.4f, F1 %.4f, FPR %.4f, jbb recall %.4f.",
		s.GuardOnly.Precision, s.GuardOnly.Recall, s.GuardOnly.F1, s.GuardOnly.FPR, s.GuardOnly.JBBRecall)
	var methods []string
	for m := range methodN {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	var rows [][]string
	for _, m := range methods {
		rows = append(rows, []string{m, fmt.Sprint(methodN[m]), quality.F(s.JBBRecallBy[m])})
	}
	rep.Table([]string{"jbb method", "attacks", "recall"}, rows)
	gcurve := quality.PRCurve(guard, attack)
	rep.Image("jailbreak_pr.png", "precision-recall curve", quality.LineChart{
		Title: "JAILBREAK PRECISION-RECALL (WARDEN TEST)", XLabel: "RECALL", YLabel: "PRECISION",
		XMin: 0, XMax: 1, YMin: 0, YMax: 1, LegendLeft: true,
		Series: []quality.Series{
			prSeries("trained head", curve, 0, false),
			prSeries("llm_guardrail max", gcurve, 1, true),
			{Name: fmt.Sprintf("head at %.2f", o.threshold), X: []float64{s.Recall}, Y: []float64{s.Precision}, Color: quality.Palette()[2], Markers: true},
		},
	}.Render(800, 560))
	return s, rep, nil
}

func prSeries(name string, curve []quality.Binary, colour int, dashed bool) quality.Series {
	s := quality.Series{Name: name, Color: quality.Palette()[colour], Dashed: dashed}
	for _, b := range curve {
		s.X = append(s.X, b.Recall)
		s.Y = append(s.Y, b.Precision)
	}
	return s
}

func ratioOf(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// readGoals reads the distinct "goal" strings of jbb_attacks.jsonl.
func readGoals(path string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	err := quality.ReadJSONL(path, func(row map[string]any) error {
		if g, ok := row["goal"].(string); ok && g != "" && !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
		return nil
	})
	return out, err
}
