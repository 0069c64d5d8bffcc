package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/jailbreak"
)

// Run parses args, cross-validates the grid on the training split, fits the
// best configuration on the whole split and writes the head.
func Run(ctx context.Context, args []string, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	fs := flag.NewFlagSet("train-jailbreak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	root := fs.String("root", "", "repository root (default: the folder holding go.work above the working directory)")
	guardDir := fs.String("guard", "", "llm_guardrail package folder (default: <root>/.cache/npm/"+jailbreak.GuardPackage+"/package)")
	trainPath := fs.String("train", "", "training JSONL (default: <root>/../shared/datasets/jailbreak/warden_train.jsonl)")
	out := fs.String("out", "", "head JSON to write (default: <root>/services/classifier/jailbreak/weights/head.json; \"-\": skip the head)")
	folds := fs.Int("folds", 5, "cross-validation folds")
	iters := fs.Int("iters", 400, "gradient steps per fit")
	bits := fs.Int("bits", 16, "char n-gram hash bits")
	lambdas := fs.String("lambdas", "1e-4,3e-4,1e-3,3e-3", "comma-separated L2 penalties to try")
	budget := fs.Float64("fpr-budget", 0.02, "benign false-positive rate allowed at the head's 0.5, chosen on out-of-fold predictions")
	ranges := fs.String("ngrams", "2-4,3-5,1-5", "comma-separated char n-gram ranges to try")
	noGuard := fs.Bool("no-guard", false, "ablation: char n-grams only, without the llm_guardrail logits")
	guardBudget := fs.Float64("union-fpr-budget", 0.03, "out-of-fold benign false-positive rate allowed to the union of the head, the gibberish detector and the guard override: the override gets what the other two leave (0: no override)")
	gibOut := fs.String("gibberish-out", "", "gibberish detector JSON to write (default: <root>/services/classifier/jailbreak/weights/gibberish.json; \"-\": skip)")
	gibBudget := fs.Float64("gibberish-budget", 0.01, "benign false-positive rate allowed to the gibberish detector, chosen on out-of-fold scores")
	gibOrders := fs.String("gibberish-orders", "2,3", "comma-separated character n-gram orders to try (1…3)")
	gibWindows := fs.String("gibberish-windows", "32,48,64", "comma-separated window lengths (symbols) to try")
	gibModes := fs.String("gibberish-modes", "absolute,relative", "window scores to try: absolute (the most improbable window) and/or relative (minus the most probable one)")
	harmOut := fs.String("harm-out", "", "harmful-request detector JSON to write (default: <root>/services/classifier/jailbreak/weights/harm.json; \"-\": skip)")
	harmWarden := fs.Float64("harm-warden-budget", jailbreak.DefaultHarmBudgets.Warden, "share of warden_train's benign prompts the harmful-request detector may flag")
	harmMMLU := fs.Float64("harm-mmlu-budget", jailbreak.DefaultHarmBudgets.MMLU, "share of the MMLU-Pro train questions the harmful-request detector may flag")
	harmCode := fs.Float64("harm-code-budget", jailbreak.DefaultHarmBudgets.Code, "share of each language's code prompts the harmful-request detector may flag")
	harmUnion := fs.Float64("harm-union-budget", 0.04, "out-of-fold benign false-positive rate on warden_train allowed to the union of all four parts (needs the head: not checked with -out -)")
	pyDir := fs.String("python-dir", jailbreak.HarmPythonDir, "Python standard library the code prompts are built from")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" {
		r, err := findRoot()
		if err != nil {
			return err
		}
		*root = r
	}
	if *guardDir == "" {
		*guardDir = jailbreak.GuardDir(*root)
	}
	if *trainPath == "" {
		*trainPath = filepath.Join(filepath.Dir(*root), "shared", "datasets", "jailbreak", "warden_train.jsonl")
	}
	if *out == "" {
		*out = filepath.Join(*root, "services", "classifier", "jailbreak", "weights", "head.json")
	}
	if *harmOut == "" {
		*harmOut = filepath.Join(*root, "services", "classifier", "jailbreak", "weights", "harm.json")
	}
	if *gibOut == "" {
		*gibOut = filepath.Join(*root, "services", "classifier", "jailbreak", "weights", "gibberish.json")
	}
	if strings.Contains(filepath.Base(*trainPath), "test") {
		return fmt.Errorf("refuse to train on %q: test splits are for evaluation only", *trainPath)
	}
	grid, err := parseGrid(*lambdas, *ranges, *bits, *iters)
	if err != nil {
		return err
	}
	gibGrid, err := parseGibberishGrid(*gibOrders, *gibWindows, *gibModes)
	if err != nil {
		return err
	}
	var budgetErrs []error
	for _, b := range []struct {
		flag string
		v    float64
	}{{"-harm-warden-budget", *harmWarden}, {"-harm-mmlu-budget", *harmMMLU}, {"-harm-code-budget", *harmCode}, {"-harm-union-budget", *harmUnion}} {
		if !(b.v >= 0 && b.v <= 1) {
			budgetErrs = append(budgetErrs, fmt.Errorf("%s: want a share in [0, 1], got %v", b.flag, b.v))
		}
	}
	if err := errors.Join(budgetErrs...); err != nil {
		return err
	}
	for i := range grid {
		grid[i].NoGuard = *noGuard
	}

	examples, err := jailbreak.ReadExamples(*trainPath)
	if err != nil {
		return err
	}
	var gib *jailbreak.GibberishCV
	if *gibOut != "-" {
		bg, err := jailbreak.LoadBackground(filepath.Dir(filepath.Dir(*trainPath)))
		if err != nil {
			return err
		}
		if gib, err = trainGibberish(ctx, log, examples, bg, gibGrid, *folds, *gibBudget, *gibOut); err != nil {
			return err
		}
	}
	harm := harmTrainer{log: log, examples: examples, datasets: filepath.Dir(filepath.Dir(*trainPath)), pyDir: *pyDir, out: *harmOut,
		budgets: jailbreak.HarmBudgets{Warden: *harmWarden, MMLU: *harmMMLU, Code: *harmCode}, unionBudget: *harmUnion}
	if *out == "-" {
		return harm.run(ctx, nil)
	}
	tr, err := jailbreak.NewTrainer(*guardDir, examples)
	if err != nil {
		return err
	}
	base := jailbreak.Evaluate(tr.GuardProbabilities(), tr.Labels(), 0.5)
	log.Info("guard (max of the three llm_guardrail models) on the training split", slog.String("metrics", base.String()))

	var best *jailbreak.CVResult
	cv := map[string]float64{}
	for _, cfg := range grid {
		res, err := tr.CrossValidate(ctx, cfg, *folds)
		if err != nil {
			return err
		}
		log.Info("cross-validation", slog.String("config", cfg.String()),
			slog.String("metrics", res.Metrics.String()), slog.Float64("logloss", res.LogLoss))
		cv[cfg.String()+" f1"] = round4(res.Metrics.F1)
		cv[cfg.String()+" logloss"] = round4(res.LogLoss)
		if best == nil || better(res, *best) {
			r := res
			best = &r
		}
	}
	log.Info("selected", slog.String("config", best.Config.String()), slog.String("metrics", best.Metrics.String()))
	op := jailbreak.ChooseOperatingPoint(best.OOF, tr.Labels(), *budget)
	log.Info("operating point", slog.Float64("threshold", op.Threshold), slog.Float64("cv_fpr", op.CVFPR),
		slog.Float64("cv_recall", op.CVRecall), slog.Float64("cv_f1", op.CVF1))
	h, err := tr.Fit(ctx, best.Config, nil)
	if err != nil {
		return err
	}
	h.ShiftBias(op.Threshold)
	h.Training = &jailbreak.TrainingInfo{
		Data:           "warden_train.jsonl (" + fmt.Sprint(len(examples)) + " rows)",
		Lambda:         best.Config.Lambda,
		Iters:          best.Config.Iters,
		Folds:          *folds,
		CV:             cv,
		Selected:       best.Config.String(),
		NoGuard:        *noGuard,
		OperatingPoint: &op,
	}
	if *guardBudget > 0 {
		// The prompts the other detectors already flag out of fold.
		headPos := make([]bool, len(best.OOF))
		for i, p := range best.OOF {
			headPos[i] = p >= op.Threshold || (gib != nil && gib.OOF[i] >= gib.Threshold)
		}
		h.GuardOverride = jailbreak.ChooseGuardOverride(tr.GuardProbabilities(), headPos, tr.Labels(), *guardBudget)
		if o := h.GuardOverride; o != nil {
			log.Info("guard override", slog.Float64("threshold", o.Threshold), slog.Float64("union_cv_fpr", o.CVFPR),
				slog.Float64("union_cv_recall", o.CVRecall), slog.Float64("guard_fpr", o.GuardFPR))
		} else {
			log.Info("no guard override: the head and the gibberish detector use up the union budget")
		}
	}
	raw, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode head: %w", err)
	}
	if err := os.WriteFile(*out, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("write head: %w", err)
	}
	log.Info("wrote head", slog.String("path", *out), slog.Int("bytes", len(raw)+1))

	var gibOOF []float64
	var gibThr float64
	if gib != nil {
		gibOOF, gibThr = gib.OOF, gib.Threshold
	}
	covered := jailbreak.WardenCovered(examples, best.OOF, op.Threshold, gibOOF, gibThr, tr.GuardProbabilities(), h.GuardOverride)
	return harm.run(ctx, covered)
}

// harmTrainer chooses the harmful-request detector's operating point.
type harmTrainer struct {
	log         *slog.Logger
	examples    []jailbreak.Example
	datasets    string
	pyDir       string
	out         string
	budgets     jailbreak.HarmBudgets
	unionBudget float64
}

// run chooses the threshold on the benign sets and writes the detector.
// covered, when not nil, says which of warden_train's benign prompts the
// other parts already flag out of fold: the union of all four parts must
// then stay within the union budget.
func (t harmTrainer) run(ctx context.Context, covered []bool) error {
	if t.out == "-" {
		return nil
	}
	goDir, goVersion, err := jailbreak.GoSourceDir(ctx)
	if err != nil {
		return err
	}
	sets, err := jailbreak.HarmBenignSets(t.examples, t.datasets, t.pyDir, goDir, t.budgets)
	if err != nil {
		return err
	}
	var union func([]float64, float64) float64
	if covered != nil {
		union = jailbreak.UnionRate(covered)
		t.log.Info("union of head, gibberish detector and guard override on warden_train benign (out of fold)",
			slog.Float64("fpr", union(make([]float64, len(covered)), 2)))
	}
	var attacks []string
	for _, ex := range t.examples {
		if ex.Attack {
			attacks = append(attacks, ex.Text)
		}
	}
	h, err := jailbreak.FitHarm(sets, union, t.unionBudget, attacks)
	if err != nil {
		return err
	}
	// The Go version is logged, not recorded: a toolchain update must not
	// change the file unless it changes the rates.
	h.Training.Sources = []string{"python_code: " + t.pyDir, "go_code: the go command's standard library (go env GOROOT)"}
	t.log.Info("code prompts", slog.String("python", t.pyDir), slog.String("go", goVersion))
	raw, err := jailbreak.MarshalHarm(h)
	if err != nil {
		return err
	}
	if err := os.WriteFile(t.out, raw, 0o644); err != nil {
		return fmt.Errorf("write harm detector: %w", err)
	}
	t.log.Info("wrote harm detector", slog.Float64("threshold", h.Threshold), slog.Any("rates", h.Training.Rates),
		slog.Float64("union_fpr", h.Training.UnionFPR), slog.Float64("warden_jailbreak_recall", h.Training.WardenJailbreakRecall),
		slog.String("path", t.out))
	return nil
}

// trainGibberish cross-validates the gibberish grid, keeps the
// configuration with the highest out-of-fold recall on synthetic suffixes
// at the benign budget (the first in grid order on ties), fits it on all
// examples and writes it.
func trainGibberish(ctx context.Context, log *slog.Logger, examples []jailbreak.Example, bg *jailbreak.Background, grid []jailbreak.GibberishConfig, folds int, budget float64, out string) (*jailbreak.GibberishCV, error) {
	log.Info("gibberish background corpus", slog.Any("sources", bg.Sources), slog.String("digest", bg.Digest))
	var best *jailbreak.GibberishCV
	for _, cfg := range grid {
		res, err := jailbreak.CrossValidateGibberish(ctx, examples, bg.Texts, cfg, folds, budget)
		if err != nil {
			return nil, err
		}
		log.Info("gibberish cross-validation", slog.String("config", cfg.String()), slog.Float64("threshold", res.Threshold),
			slog.Float64("benign_fpr", res.BenignFPR), slog.Float64("suffix_recall", res.SuffixRecall))
		if best == nil || res.SuffixRecall > best.SuffixRecall {
			r := res
			best = &r
		}
	}
	g := jailbreak.FitGibberish(examples, bg.Texts, *best, jailbreak.GibberishTraining{
		Data: "warden_train.jsonl (" + fmt.Sprint(len(examples)) + " rows)", Folds: folds, FPRBudget: budget,
		Background: bg.Sources, BackgroundDigest: bg.Digest,
	})
	raw, err := json.Marshal(g)
	if err != nil {
		return nil, fmt.Errorf("encode gibberish detector: %w", err)
	}
	if err := os.WriteFile(out, append(raw, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("write gibberish detector: %w", err)
	}
	log.Info("wrote gibberish detector", slog.String("config", best.Config.String()), slog.Float64("threshold", g.Threshold),
		slog.String("path", out), slog.Int("bytes", len(raw)+1))
	return best, nil
}

func parseGibberishGrid(orders, windows, modes string) ([]jailbreak.GibberishConfig, error) {
	var grid []jailbreak.GibberishConfig
	var errs []error
	var relative []bool
	for m := range strings.SplitSeq(modes, ",") {
		switch strings.TrimSpace(m) {
		case "absolute":
			relative = append(relative, false)
		case "relative":
			relative = append(relative, true)
		default:
			errs = append(errs, fmt.Errorf("-gibberish-modes: %q is not absolute or relative", m))
		}
	}
	for o := range strings.SplitSeq(orders, ",") {
		var order int
		if _, err := fmt.Sscanf(strings.TrimSpace(o), "%d", &order); err != nil || order < 1 || order > 3 {
			errs = append(errs, fmt.Errorf("-gibberish-orders: %q is not an order 1…3", o))
			continue
		}
		for w := range strings.SplitSeq(windows, ",") {
			var win int
			if _, err := fmt.Sscanf(strings.TrimSpace(w), "%d", &win); err != nil || win < 1 {
				errs = append(errs, fmt.Errorf("-gibberish-windows: %q is not a positive length", w))
				continue
			}
			for _, rel := range relative {
				grid = append(grid, jailbreak.GibberishConfig{Order: order, Window: win, MinSymbols: jailbreak.GibberishMinSymbols, Relative: rel})
			}
		}
	}
	return grid, errors.Join(errs...)
}

// better prefers the higher cross-validated F1, then the lower log-loss.
func better(a, b jailbreak.CVResult) bool {
	if a.Metrics.F1 != b.Metrics.F1 {
		return a.Metrics.F1 > b.Metrics.F1
	}
	return a.LogLoss < b.LogLoss
}

func round4(v float64) float64 {
	return float64(int64(v*1e4+0.5)) / 1e4
}

func parseGrid(lambdas, ranges string, bits, iters int) ([]jailbreak.TrainConfig, error) {
	var grid []jailbreak.TrainConfig
	var errs []error
	for r := range strings.SplitSeq(ranges, ",") {
		var lo, hi int
		if _, err := fmt.Sscanf(strings.TrimSpace(r), "%d-%d", &lo, &hi); err != nil {
			errs = append(errs, fmt.Errorf("-ngrams: %q is not MIN-MAX", r))
			continue
		}
		for l := range strings.SplitSeq(lambdas, ",") {
			var lambda float64
			if _, err := fmt.Sscanf(strings.TrimSpace(l), "%g", &lambda); err != nil {
				errs = append(errs, fmt.Errorf("-lambdas: %q is not a number", l))
				continue
			}
			grid = append(grid, jailbreak.TrainConfig{Bits: bits, MinN: lo, MaxN: hi, Lambda: lambda, Iters: iters})
		}
	}
	return grid, errors.Join(errs...)
}

func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.work above the working directory; pass -root")
		}
		dir = parent
	}
}
