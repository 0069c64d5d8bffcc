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
	// GuardOverrideThreshold is the shipped head's second threshold on the
	// guard maximum (0: none).
	GuardOverrideThreshold float64 `json:"guard_override_threshold"`
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
	// Components are the same figures for each part of the score alone:
	// "head" (the trained head at Threshold), "gibberish" (the
	// adversarial-suffix detector at Threshold), "guard_override" (the
	// guard maximum at the override threshold, when the head has one),
	// "harm" (the harmful-request lexicon at Threshold) and "guard_0.5"
	// (the guard maximum at 0.5, llm_guardrail's own decision).
	Components map[string]jailbreakFigures `json:"components"`
	// GuardOnly repeats Components["guard_0.5"] (kept for older readers).
	GuardOnly struct {
		Precision float64 `json:"precision"`
		Recall    float64 `json:"recall"`
		F1        float64 `json:"f1"`
		FPR       float64 `json:"fpr"`
		JBBRecall float64 `json:"jbb_recall"`
	} `json:"guard_only"`
}

// jailbreakFigures are one decision rule's figures.
type jailbreakFigures struct {
	Precision      float64            `json:"precision"`
	Recall         float64            `json:"recall"`
	F1             float64            `json:"f1"`
	FPR            float64            `json:"fpr"`
	JBBRecall      float64            `json:"jbb_recall"`
	JBBRecallBy    map[string]float64 `json:"jbb_recall_by_method"`
	JBBGoalsRecall float64            `json:"jbb_goals_recall"`
}

// jailbreakRule is one decision rule over a prompt's scores.
type jailbreakRule struct {
	name string
	fire func(jailbreak.Scores) bool
}

// jailbreakTally counts one rule's decisions.
type jailbreakTally struct {
	warden                []float64 // 1 when fired
	jbbHits, goalHits     int
	byMethod, methodTotal map[string]int
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
	s := jailbreakSummary{Task: "jailbreak", Scorer: jailbreak.GuardPackage + " + trained head + gibberish detector + harmful-request lexicon", Threshold: o.threshold}
	if ov := sc.Head().GuardOverride; ov != nil {
		s.GuardOverrideThreshold = ov.Threshold
	}
	// The components, then the combined score (what the router uses).
	rules := []jailbreakRule{
		{"head", func(x jailbreak.Scores) bool { return x.Head >= o.threshold }},
		{"gibberish", func(x jailbreak.Scores) bool { return x.Gibberish >= o.threshold }},
		{"guard_override", func(x jailbreak.Scores) bool { return x.GuardOverride >= o.threshold }},
		{"harm", func(x jailbreak.Scores) bool { return x.Harm >= o.threshold }},
		{"guard_0.5", func(x jailbreak.Scores) bool { return x.Guard >= 0.5 }},
		{"combined", func(x jailbreak.Scores) bool { return x.Probability >= o.threshold }},
	}
	tallies := make([]jailbreakTally, len(rules))
	for i := range tallies {
		tallies[i].byMethod, tallies[i].methodTotal = map[string]int{}, map[string]int{}
	}
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
		for i, r := range rules {
			tallies[i].warden = append(tallies[i].warden, boolFloat(r.fire(all)))
		}
	}
	s.WardenN = len(scores)
	curve := quality.PRCurve(scores, attack)
	s.AP = quality.AveragePrecision(curve)
	s.BestF1 = quality.BestF1(curve)

	bar := quality.NewProgress(env.Stderr, "score jbb_attacks")
	methodN := map[string]int{}
	for i, e := range jbb {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if o.limit > 0 && i >= o.limit {
			break
		}
		all := sc.Scores(e.Text)
		methodN[e.Method]++
		for k, r := range rules {
			if r.fire(all) {
				tallies[k].jbbHits++
				tallies[k].byMethod[e.Method]++
			}
		}
		s.JBBN++
		bar.Update(i+1, len(jbb))
	}
	for _, gl := range goals {
		all := sc.Scores(gl)
		for k, r := range rules {
			if r.fire(all) {
				tallies[k].goalHits++
			}
		}
	}
	s.JBBGoalsN = len(goals)
	s.Components = map[string]jailbreakFigures{}
	for k, r := range rules {
		t := tallies[k]
		at := quality.BinaryAt(t.warden, attack, 0.5)
		f := jailbreakFigures{Precision: at.Precision, Recall: at.Recall, F1: at.F1, FPR: at.FPR,
			JBBRecall: ratioOf(t.jbbHits, s.JBBN), JBBRecallBy: map[string]float64{}, JBBGoalsRecall: ratioOf(t.goalHits, len(goals))}
		for m, n := range methodN {
			f.JBBRecallBy[m] = ratioOf(t.byMethod[m], n)
		}
		if r.name == "combined" {
			s.Precision, s.Recall, s.F1, s.FPR = f.Precision, f.Recall, f.F1, f.FPR
			s.JBBRecall, s.JBBRecallBy, s.JBBGoalsRecall = f.JBBRecall, f.JBBRecallBy, f.JBBGoalsRecall
			continue
		}
		s.Components[r.name] = f
	}
	g := s.Components["guard_0.5"]
	s.GuardOnly.Precision, s.GuardOnly.Recall, s.GuardOnly.F1, s.GuardOnly.FPR, s.GuardOnly.JBBRecall = g.Precision, g.Recall, g.F1, g.FPR, g.JBBRecall

	rep := quality.NewReport("Jailbreak detection: " + s.Scorer)
	rep.Para("warden_test without the %d prompts that also occur in warden_train: %d prompts. "+
		"At threshold %.2f (guard override at guard maximum ≥ %.4f): precision **%.4f**, recall **%.4f**, F1 **%.4f**, FPR **%.4f** "+
		"(average precision %.4f; best F1 %.4f at threshold %.3f). jbb_attacks recall **%.4f** (%d attacks); their plain goals: recall %.4f (%d).",
		s.WardenDropped, s.WardenN, o.threshold, s.GuardOverrideThreshold, s.Precision, s.Recall, s.F1, s.FPR, s.AP, s.BestF1.F1, s.BestF1.Threshold,
		s.JBBRecall, s.JBBN, s.JBBGoalsRecall, s.JBBGoalsN)
	var methods []string
	for m := range methodN {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	header := []string{"rule", "precision", "recall", "F1", "FPR", "jbb recall"}
	header = append(header, methods...)
	header = append(header, "plain goals")
	row := func(name string, f jailbreakFigures) []string {
		r := []string{name, quality.F(f.Precision), quality.F(f.Recall), quality.F(f.F1), quality.F(f.FPR), quality.F(f.JBBRecall)}
		for _, m := range methods {
			r = append(r, quality.F(f.JBBRecallBy[m]))
		}
		return append(r, quality.F(f.JBBGoalsRecall))
	}
	rows := [][]string{row("combined (shipped score)", jailbreakFigures{Precision: s.Precision, Recall: s.Recall, F1: s.F1, FPR: s.FPR,
		JBBRecall: s.JBBRecall, JBBRecallBy: s.JBBRecallBy, JBBGoalsRecall: s.JBBGoalsRecall})}
	for _, name := range []string{"head", "gibberish", "guard_override", "harm", "guard_0.5"} {
		rows = append(rows, row(name, s.Components[name]))
	}
	rep.Table(header, rows)
	gcurve := quality.PRCurve(guard, attack)
	rep.Image("jailbreak_pr.png", "precision-recall curve", quality.LineChart{
		Title: "JAILBREAK PRECISION-RECALL (WARDEN TEST)", XLabel: "RECALL", YLabel: "PRECISION",
		XMin: 0, XMax: 1, YMin: 0, YMax: 1, LegendLeft: true,
		Series: []quality.Series{
			prSeries("combined score", curve, 0, false),
			prSeries("llm_guardrail max", gcurve, 1, true),
			{Name: fmt.Sprintf("combined at %.2f", o.threshold), X: []float64{s.Recall}, Y: []float64{s.Precision}, Color: quality.Palette()[2], Markers: true},
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
