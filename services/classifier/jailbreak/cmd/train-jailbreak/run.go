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
	out := fs.String("out", "", "head JSON to write (default: <root>/services/classifier/jailbreak/weights/head.json)")
	folds := fs.Int("folds", 5, "cross-validation folds")
	iters := fs.Int("iters", 400, "gradient steps per fit")
	bits := fs.Int("bits", 16, "char n-gram hash bits")
	lambdas := fs.String("lambdas", "1e-4,3e-4,1e-3,3e-3", "comma-separated L2 penalties to try")
	budget := fs.Float64("fpr-budget", 0.02, "benign false-positive rate allowed at the head's 0.5, chosen on out-of-fold predictions")
	ranges := fs.String("ngrams", "2-4,3-5,1-5", "comma-separated char n-gram ranges to try")
	noGuard := fs.Bool("no-guard", false, "ablation: char n-grams only, without the llm_guardrail logits")
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
	if strings.Contains(filepath.Base(*trainPath), "test") {
		return fmt.Errorf("refuse to train on %q: test splits are for evaluation only", *trainPath)
	}
	grid, err := parseGrid(*lambdas, *ranges, *bits, *iters)
	if err != nil {
		return err
	}
	for i := range grid {
		grid[i].NoGuard = *noGuard
	}

	examples, err := jailbreak.ReadExamples(*trainPath)
	if err != nil {
		return err
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
	raw, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode head: %w", err)
	}
	if err := os.WriteFile(*out, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("write head: %w", err)
	}
	log.Info("wrote head", slog.String("path", *out), slog.Int("bytes", len(raw)+1))
	return nil
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
