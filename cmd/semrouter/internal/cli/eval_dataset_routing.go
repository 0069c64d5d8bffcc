package cli

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/domain"
	"github.com/semrouter/semrouter/services/classifier/quality"
)

// routeCase is one item of the routing task: its embedding, whether each
// model answers it, and its true domain when known (-1 otherwise).
type routeCase struct {
	vec          []float32
	text         string
	weak, strong bool
	// others are the outcomes of every other model the data has, in a
	// fixed order (the Rasch fit of irt-gain uses them).
	others         []bool
	category       int
	probs          []float64 // the domain head's posterior
	predictedLabel int
}

// policySummary are the figures of one routing policy.
type policySummary struct {
	Name string `json:"name"`
	// At50 is the accuracy with 50% of the calls sent to the strong model.
	At50  float64 `json:"accuracy_at_50pct_strong"`
	PGR50 float64 `json:"gap_recovered_at_50pct_strong"`
	APGR  float64 `json:"apgr"`
	// CPT50 and CPT80 are the smallest strong-call fractions recovering
	// 50% and 80% of the gap.
	CPT50 float64 `json:"strong_fraction_for_50pct_gap"`
	CPT80 float64 `json:"strong_fraction_for_80pct_gap"`
	// Threshold50 is the policy score cut-off for a 50% budget.
	Threshold50 float64 `json:"threshold_at_50pct_strong"`
	// Deciles is the accuracy at 0%, 10%, …, 100% strong calls.
	Deciles []float64            `json:"accuracy_at_strong_deciles"`
	Curve   []quality.RoutePoint `json:"-"`
}

// routingSummary is the --json output of the routing task.
type routingSummary struct {
	Task         string          `json:"task"`
	Data         string          `json:"data"`
	Split        string          `json:"split"`
	Model        string          `json:"model"`
	Weak         string          `json:"weak"`
	Strong       string          `json:"strong"`
	TrainN       int             `json:"train_n"`
	N            int             `json:"n"`
	WeakAccuracy float64         `json:"always_weak_accuracy"`
	StrongAcc    float64         `json:"always_strong_accuracy"`
	OracleAcc    float64         `json:"oracle_accuracy"`
	OracleStrong float64         `json:"oracle_strong_fraction"`
	Random50     float64         `json:"random_accuracy_at_50pct_strong"`
	Primary      string          `json:"primary_policy"`
	Policies     []policySummary `json:"policies"`
	Note         string          `json:"note,omitempty"`
	// Config is the operating point of the --config decisions.
	Config *configPoint `json:"config,omitempty"`
}

// routingPrimary is the policy reported first. Its knobs come from 5-fold
// cross-validation within the MMLU-Pro train split; it was chosen among
// the three best cross-validated policies by the gap recovered at 50%
// strong calls pooled over train cross-validation and the dev split (see
// docs/quality.md).
const routingPrimary = "kernel-ridge"

func evalRouting(ctx context.Context, env *Env, q *qualityEnv, o evalOptions) (any, *quality.Report, error) {
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
	path := q.dataPath(o, "mmlu_pro")
	var train, eval []routeCase
	s := routingSummary{Task: "routing", Split: o.split, Model: lm.Model(), Primary: routingPrimary}
	if isDir(path) {
		train, eval, err = mmluProCases(ctx, env, q, lm, h, path, o, &s)
	} else {
		train, eval, err = routeLLMCases(ctx, env, q, lm, path, o, &s)
	}
	if err != nil {
		return nil, nil, err
	}
	s.Data = path
	for _, set := range [][]routeCase{train, eval} {
		probs := make([]float64, len(h.Labels))
		for i := range set {
			p, err := h.Predict(set[i].vec, probs)
			if err != nil {
				return nil, nil, err
			}
			set[i].probs = append([]float64(nil), probs[:len(h.Labels)]...)
			set[i].predictedLabel = p.Index
		}
	}
	var scores []policyScores
	if o.split == string(quality.SplitTrain) {
		// cross-validation within train: the knob search, never dev or test
		eval = train
		s.Note = strings.TrimSpace(s.Note + fmt.Sprintf(" Split train: every train item is scored by policies learned on the other %d folds "+
			"(%d-fold cross-validation, fixed shuffle), with a grid of knobs. The domain posteriors of train items come from a head "+
			"trained on them, so the policies using them look better here than on unseen questions.", cvFolds-1, cvFolds))
		scores, err = crossValidatedPolicies(ctx, train, len(h.Labels))
	} else {
		scores, err = routingPolicies(ctx, train, eval, len(h.Labels), false)
	}
	if err != nil {
		return nil, nil, err
	}
	weak, strong := make([]bool, len(eval)), make([]bool, len(eval))
	for i, c := range eval {
		weak[i], strong[i] = c.weak, c.strong
	}
	s.TrainN, s.N = len(train), len(eval)
	oracle := quality.OracleCurve(weak, strong)
	s.WeakAccuracy, s.OracleAcc = oracle.Points[0].Accuracy, oracle.Points[1].Accuracy
	s.OracleStrong = oracle.Points[1].StrongFraction
	for _, v := range strong {
		if v {
			s.StrongAcc++
		}
	}
	s.StrongAcc /= float64(len(eval))
	random := quality.RandomCurve(s.WeakAccuracy, s.StrongAcc)
	s.Random50 = random.AccuracyAt(0.5)
	curves := []quality.RouteCurve{}
	for _, p := range scores {
		c, err := quality.CostQuality(p.name, p.scores, weak, strong)
		if err != nil {
			return nil, nil, err
		}
		curves = append(curves, c)
		ps := policySummary{Name: p.name, At50: c.AccuracyAt(0.5), APGR: c.APGR(s.WeakAccuracy, s.StrongAcc),
			Threshold50: c.ThresholdAt(0.5), Curve: c.Points}
		ps.PGR50 = quality.GapRecovered(ps.At50, s.WeakAccuracy, s.StrongAcc)
		for d := 0; d <= 10; d++ {
			ps.Deciles = append(ps.Deciles, c.AccuracyAt(float64(d)/10))
		}
		ps.CPT50, _ = c.MinFractionFor(0.5, s.WeakAccuracy, s.StrongAcc)
		ps.CPT80, _ = c.MinFractionFor(0.8, s.WeakAccuracy, s.StrongAcc)
		s.Policies = append(s.Policies, ps)
	}
	if o.config != "" {
		if s.Config, err = configRouting(ctx, env, q, lm, h, o, eval, &s); err != nil {
			return nil, nil, err
		}
	}
	return s, routingReport(s, curves, random, oracle), nil
}

func routingReport(s routingSummary, curves []quality.RouteCurve, random, oracle quality.RouteCurve) *quality.Report {
	rep := quality.NewReport(fmt.Sprintf("Routing: %s vs %s (%s, %s)", s.Weak, s.Strong, filepath.Base(s.Data), s.Split))
	rep.Para("%d evaluation items; policies learned on %d train items. Always-weak accuracy %.4f, always-strong %.4f, "+
		"oracle %.4f (with %.1f%% strong calls). Random routing at 50%% strong calls: %.4f (recovers 50%% of the gap).",
		s.N, s.TrainN, s.WeakAccuracy, s.StrongAcc, s.OracleAcc, 100*s.OracleStrong, s.Random50)
	if s.Note != "" {
		rep.Para("%s", s.Note)
	}
	var rows [][]string
	for _, p := range s.Policies {
		name := p.Name
		if name == s.Primary {
			name += " (primary)"
		}
		rows = append(rows, []string{name, quality.F(p.At50), quality.F(p.PGR50), quality.F(p.APGR),
			fmtFrac(p.CPT50), fmtFrac(p.CPT80), fmt.Sprintf("%.4f", p.Threshold50)})
	}
	rows = append(rows, []string{"random", quality.F(s.Random50), "0.5000", "0.5000", "0.5000", "0.8000", "-"})
	rep.Table([]string{"policy", "acc @50% strong", "gap recovered @50%", "APGR", "strong share for 50% gap", "for 80% gap", "score threshold @50%"}, rows)
	series := []quality.Series{}
	for i, c := range curves {
		series = append(series, routeSeries(c, i, false))
	}
	series = append(series, routeSeries(random, len(curves), true), routeSeries(oracle, len(curves)+1, true),
		quality.Series{Name: "always weak", X: []float64{0}, Y: []float64{s.WeakAccuracy}, Color: quality.Palette()[6]},
		quality.Series{Name: "always strong", X: []float64{1}, Y: []float64{s.StrongAcc}, Color: quality.Palette()[6]})
	if c := s.Config; c != nil {
		series = append(series, quality.Series{Name: "config decisions", X: []float64{c.StrongFraction}, Y: []float64{c.Accuracy}, Color: quality.Palette()[4]})
		rep.Para("The decisions of `%s` (strong models: %s) send %.1f%% of the questions to a strong model and reach accuracy %.4f "+
			"(gap recovered %.3f; random routing at the same share: %.4f). Decisions: %v. Requests with a degraded family: %d.",
			c.Config, strings.Join(c.StrongModels, ", "), 100*c.StrongFraction, c.Accuracy, c.GapRecovered, c.RandomAtSame, c.Decisions, c.Degraded)
	}
	lo := math.Min(s.WeakAccuracy, s.StrongAcc) - 0.02
	hi := s.OracleAcc + 0.02
	rep.Image("routing_cost_quality.png", "cost-quality curve", quality.LineChart{
		Title:  strings.ToUpper(fmt.Sprintf("COST-QUALITY: %s / %s (%s)", shortModel(s.Weak), shortModel(s.Strong), s.Split)),
		XLabel: "FRACTION OF CALLS TO THE STRONG MODEL", YLabel: "ACCURACY",
		XMin: 0, XMax: 1, YMin: lo, YMax: hi, Series: series,
	}.Render(900, 620))
	return rep
}

func routeSeries(c quality.RouteCurve, colour int, dashed bool) quality.Series {
	s := quality.Series{Name: c.Name, Color: quality.Palette()[colour%len(quality.Palette())], Dashed: dashed}
	for _, p := range c.Points {
		s.X = append(s.X, p.StrongFraction)
		s.Y = append(s.Y, p.Accuracy)
	}
	return s
}

func fmtFrac(f float64) string { return fmt.Sprintf("%.3f", f) }

func shortModel(m string) string {
	if i := strings.LastIndex(m, "/"); i >= 0 {
		m = m[i+1:]
	}
	return m
}

// mmluProCases builds the train (policy learning) and eval cases from the
// MMLU-Pro folder: train is the train split, eval the --split.
func mmluProCases(ctx context.Context, env *Env, q *qualityEnv, lm *loadedModel, h *domain.Head, dir string, o evalOptions, s *routingSummary) ([]routeCase, []routeCase, error) {
	mp, err := quality.ReadMMLUPro(dir)
	if err != nil {
		return nil, nil, err
	}
	weakName, strongName := o.weak, o.strong
	if weakName == "" {
		weakName = "llama-3.1-8b"
	}
	if strongName == "" {
		strongName = "gpt-4o"
	}
	weak, wn, err := mp.Correct(weakName)
	if err != nil {
		return nil, nil, err
	}
	strong, sn, err := mp.Correct(strongName)
	if err != nil {
		return nil, nil, err
	}
	s.Weak, s.Strong = wn, sn
	names, err := mp.CorrectModels()
	if err != nil {
		return nil, nil, err
	}
	var others []map[int]bool
	for _, name := range names {
		if name == wn || name == sn {
			continue
		}
		c, _, err := mp.Correct(name)
		if err != nil {
			return nil, nil, err
		}
		others = append(others, c)
	}
	idx := categoryIndex(h.Labels)
	build := func(split quality.Split, limit int) ([]routeCase, error) {
		qs := mp.Split(split)
		if limit > 0 && limit < len(qs) {
			qs = qs[:limit]
		}
		x, err := embedQuestions(ctx, env, q, lm, qs, quality.TextRaw, string(split))
		if err != nil {
			return nil, err
		}
		out := make([]routeCase, len(qs))
		for i, qq := range qs {
			cat, ok := idx[qq.Category]
			if !ok {
				cat = -1
			}
			out[i] = routeCase{vec: x[i], text: qq.Question, weak: weak[qq.ID], strong: strong[qq.ID], category: cat,
				others: make([]bool, len(others))}
			for m, c := range others {
				out[i].others[m] = c[qq.ID]
			}
		}
		return out, nil
	}
	train, err := build(quality.SplitTrain, 0)
	if err != nil {
		return nil, nil, err
	}
	split, err := quality.ParseSplit(o.split)
	if err != nil {
		return nil, nil, usageErrorf("%v", err)
	}
	if split == quality.SplitTrain {
		return train, nil, nil // cross-validation within train
	}
	eval, err := build(split, o.limit)
	return train, eval, err
}

// routeLLMCases builds the cases from a RouteLLM file: the rows are split
// by a hash of their id (50% train, 20% dev, 30% test); contaminated rows
// are dropped, MMLU-Pro test questions are kept out of train, and MMLU-Pro
// train/dev questions out of dev/test (the domain head saw them).
func routeLLMCases(ctx context.Context, env *Env, q *qualityEnv, lm *loadedModel, path string, o evalOptions, s *routingSummary) ([]routeCase, []routeCase, error) {
	items, err := quality.ReadRouteItems(path)
	if err != nil {
		return nil, nil, err
	}
	if len(items) == 0 {
		return nil, nil, fmt.Errorf("%s has no rows", path)
	}
	pick := func(flag, def string) (string, error) {
		want := flag
		if want == "" {
			want = def
		}
		var hits []string
		for name := range items[0].Correct {
			if name == want {
				return name, nil
			}
			if strings.Contains(name, want) {
				hits = append(hits, name)
			}
		}
		if len(hits) != 1 {
			return "", fmt.Errorf("model %q: %d matches among the file's models", want, len(hits))
		}
		return hits[0], nil
	}
	if s.Weak, err = pick(o.weak, "Mixtral"); err != nil {
		return nil, nil, err
	}
	if s.Strong, err = pick(o.strong, "gpt-4"); err != nil {
		return nil, nil, err
	}
	var otherModels []string
	for name := range items[0].Correct {
		if name != s.Weak && name != s.Strong {
			otherModels = append(otherModels, name)
		}
	}
	sort.Strings(otherModels)
	var trainItems, evalItems []quality.RouteItem
	for _, it := range items {
		if it.Contaminated {
			continue
		}
		b := pairHashString(it.ID) % 10
		switch {
		case b < 5:
			if it.MMLUProSplit != "test" {
				trainItems = append(trainItems, it)
			}
		case it.MMLUProSplit == "train" || it.MMLUProSplit == "dev":
		case b < 7 && o.split == "dev", b >= 7 && o.split == "test":
			evalItems = append(evalItems, it)
		}
	}
	if o.limit > 0 && o.limit < len(evalItems) {
		evalItems = evalItems[:o.limit]
	}
	s.Note = "RouteLLM rows split by FNV-64a of the id: 50% train (policy rates and difficulty head), 20% dev, 30% test. " +
		"Contaminated rows dropped; MMLU-Pro test questions kept out of train and MMLU-Pro train/dev questions out of dev/test. " +
		"Categories are the domain head's predictions (the file has no MMLU-Pro category)."
	build := func(its []quality.RouteItem, what string) ([]routeCase, error) {
		texts := make([]string, len(its))
		for i, it := range its {
			texts[i] = it.Prompt
		}
		x, err := embedTexts(ctx, env, q, lm, texts, "embed "+what)
		if err != nil {
			return nil, err
		}
		out := make([]routeCase, len(its))
		for i, it := range its {
			out[i] = routeCase{vec: x[i], text: it.Prompt, weak: it.Correct[s.Weak], strong: it.Correct[s.Strong], category: -1}
			for _, m := range otherModels {
				out[i].others = append(out[i].others, it.Correct[m])
			}
		}
		return out, nil
	}
	train, err := build(trainItems, "train rows")
	if err != nil {
		return nil, nil, err
	}
	if o.split == string(quality.SplitTrain) {
		return train, nil, nil // cross-validation within train
	}
	eval, err := build(evalItems, o.split+" rows")
	return train, eval, err
}

func pairHashString(id string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	return h
}
