package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/semrouter/semrouter/services/classifier/domain"
	"github.com/semrouter/semrouter/services/classifier/quality"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
)

// trainCandidate is one hyper-parameter setting tried on the dev split.
type trainCandidate struct {
	Epochs      int     `json:"epochs"`
	L2          float64 `json:"l2"`
	LR          float64 `json:"lr"`
	Standardize bool    `json:"standardize"`
	DevAccuracy float64 `json:"dev_accuracy"`
	DevMacroF1  float64 `json:"dev_macro_f1"`
}

// trainSummary is the --json output of train domain.
type trainSummary struct {
	Model      string           `json:"model"`
	Text       string           `json:"text"`
	Out        string           `json:"out"`
	Train      int              `json:"train"`
	Dev        int              `json:"dev"`
	Selected   trainCandidate   `json:"selected"`
	Candidates []trainCandidate `json:"candidates"`
	Seconds    float64          `json:"seconds"`
}

func trainDomainCommand() *Command {
	c := &Command{Name: "train domain", Summary: "train the domain head on MMLU-Pro train, select on dev",
		Usage: "[--model use-lite|glove-sif-100d] [--out FILE] [--epochs LIST] [--l2 LIST] [--text raw|clean|tail] [--json]"}
	c.Run = func(ctx context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		model := fs.String("model", embedding.ModelUSELite, "embedding model (a folder under .cache/models)")
		out := fs.String("out", "", "head file to write (default services/classifier/domain/heads/<model>.json)")
		data := fs.String("data", "", "datasets folder (default $SEMROUTER_DATASETS or ../shared/datasets)")
		epochs := fs.String("epochs", "60,120,200", "comma-separated epoch counts to try")
		l2 := fs.String("l2", "0,1e-6,1e-5", "comma-separated L2 weights to try")
		lr := fs.String("lr", "0.01", "comma-separated Adam learning rates to try")
		std := fs.String("standardize", "false", "try standardised inputs (true), raw inputs (false) or both")
		text := fs.String("text", "raw", "text preprocessing: raw (what the router embeds), clean, tail, or a comma list to compare on dev")
		seed := fs.Uint64("seed", 1, "shuffle seed")
		asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
		pos, err := parseFlags(env, c, fs, args, "Embeds the MMLU-Pro train and dev questions (cached under .cache/eval/), trains\nthe softmax domain head for every hyper-parameter setting on train, keeps\nthe one with the best dev accuracy and writes it with its dev metrics.\nThe test split is never read; report it with 'semrouter eval dataset'.")
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usageErrorf("train domain takes no arguments")
		}
		grid, err := parseGrid(*epochs, *l2, *lr, *std)
		if err != nil {
			return err
		}
		var modes []quality.TextMode
		for _, s := range strings.Split(*text, ",") {
			m, err := quality.ParseTextMode(strings.TrimSpace(s))
			if err != nil {
				return usageErrorf("--text: %v", err)
			}
			modes = append(modes, m)
		}
		q, err := newQualityEnv(*data)
		if err != nil {
			return err
		}
		start := time.Now()
		mp, err := quality.ReadMMLUPro(filepath.Join(q.datasets, "mmlu_pro"))
		if err != nil {
			return err
		}
		lm, err := loadModel(ctx, env.Logger, *model)
		if err != nil {
			return err
		}
		defer lm.Close()
		labels := domain.Categories()
		idx := categoryIndex(labels)
		train, dev := mp.Split(quality.SplitTrain), mp.Split(quality.SplitDev)
		ytrain, err := labelsOf(train, idx)
		if err != nil {
			return err
		}
		ydev, err := labelsOf(dev, idx)
		if err != nil {
			return err
		}
		var best *domain.Head
		var sum trainSummary
		for _, mode := range modes {
			xtrain, err := embedQuestions(ctx, env, q, lm, train, mode, "train")
			if err != nil {
				return err
			}
			xdev, err := embedQuestions(ctx, env, q, lm, dev, mode, "dev")
			if err != nil {
				return err
			}
			for _, cand := range grid {
				h, err := trainHead(ctx, xtrain, ytrain, labels, cand, *seed)
				if err != nil {
					return err
				}
				cls, err := evalHead(h, xdev, ydev)
				if err != nil {
					return err
				}
				cand.DevAccuracy, cand.DevMacroF1 = cls.Accuracy, cls.MacroF1
				fmt.Fprintf(env.Stderr, "text=%-5s epochs=%-3d l2=%-6g lr=%-5g std=%-5t  dev accuracy %.4f  macro-F1 %.4f\n",
					mode, cand.Epochs, cand.L2, cand.LR, cand.Standardize, cls.Accuracy, cls.MacroF1)
				sum.Candidates = append(sum.Candidates, cand)
				if best == nil || cand.DevAccuracy > sum.Selected.DevAccuracy {
					best, sum.Selected, sum.Text = h, cand, string(mode)
					trainCls, err := evalHead(h, xtrain, ytrain)
					if err != nil {
						return err
					}
					h.Metrics = map[string]float64{
						"dev_accuracy": cls.Accuracy, "dev_macro_f1": cls.MacroF1, "train_accuracy": trainCls.Accuracy,
						"train_n": float64(len(train)), "dev_n": float64(len(dev)),
						"epochs": float64(cand.Epochs), "l2": cand.L2, "learning_rate": cand.LR,
						"standardized": boolFloat(cand.Standardize), "seed": float64(*seed),
					}
				}
			}
		}
		best.Model = lm.Model()
		path := *out
		if path == "" {
			path = q.headPath(lm.Model())
		}
		if err := writeArtifact(path, "domain head", best); err != nil {
			return err
		}
		sum.Model, sum.Out, sum.Train, sum.Dev = lm.Model(), path, len(train), len(dev)
		sum.Seconds = time.Since(start).Seconds()
		fmt.Fprintf(env.Stderr, "selected text=%s epochs=%d l2=%g lr=%g std=%t: dev accuracy %.4f, macro-F1 %.4f -> %s\n",
			sum.Text, sum.Selected.Epochs, sum.Selected.L2, sum.Selected.LR, sum.Selected.Standardize, sum.Selected.DevAccuracy, sum.Selected.DevMacroF1, path)
		if *asJSON {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(sum)
		}
		fmt.Fprintf(env.Stdout, "wrote %s (dev accuracy %.4f)\n", path, sum.Selected.DevAccuracy)
		return nil
	}
	return c
}

func parseGrid(epochs, l2, lr, std string) ([]trainCandidate, error) {
	list := func(flag, s string) ([]float64, error) {
		var out []float64
		for _, f := range strings.Split(s, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || v < 0 {
				return nil, usageErrorf("--%s: %q is not a non-negative number", flag, f)
			}
			out = append(out, v)
		}
		return out, nil
	}
	es, err := list("epochs", epochs)
	if err != nil {
		return nil, err
	}
	ls, err := list("l2", l2)
	if err != nil {
		return nil, err
	}
	rs, err := list("lr", lr)
	if err != nil {
		return nil, err
	}
	var stds []bool
	for _, s := range strings.Split(std, ",") {
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return nil, usageErrorf("--standardize: %q is not true or false", s)
		}
		stds = append(stds, b)
	}
	var grid []trainCandidate
	for _, st := range stds {
		for _, e := range es {
			for _, l := range ls {
				for _, r := range rs {
					if e < 1 || r == 0 {
						return nil, usageErrorf("--epochs and --lr must be positive")
					}
					grid = append(grid, trainCandidate{Epochs: int(e), L2: l, LR: r, Standardize: st})
				}
			}
		}
	}
	return grid, nil
}

func trainHead(ctx context.Context, x [][]float32, y []int, labels []string, c trainCandidate, seed uint64) (*domain.Head, error) {
	l2 := c.L2
	if l2 == 0 {
		l2 = -1 // domain.Train reads a negative L2 as none (0 means its default)
	}
	o := domain.TrainOptions{Epochs: c.Epochs, LearningRate: c.LR, L2: l2, Seed: seed}
	if !c.Standardize {
		return domain.Train(ctx, x, y, labels, o)
	}
	s := quality.FitStandardizer(x)
	h, err := domain.Train(ctx, s.Apply(x), y, labels, o)
	if err != nil {
		return nil, err
	}
	s.Fold(h)
	return h, nil
}

func evalHead(h *domain.Head, x [][]float32, y []int) (quality.Classification, error) {
	pred := make([]int, len(x))
	probs := make([]float64, len(h.Labels))
	for i, v := range x {
		p, err := h.Predict(v, probs)
		if err != nil {
			return quality.Classification{}, err
		}
		pred[i] = p.Index
	}
	return quality.Classify(h.Labels, y, pred)
}

func labelsOf(qs []quality.Question, idx map[string]int) ([]int, error) {
	y := make([]int, len(qs))
	for i, q := range qs {
		k, ok := idx[q.Category]
		if !ok {
			return nil, fmt.Errorf("question %d: category %q is not a domain label", q.ID, q.Category)
		}
		y[i] = k
	}
	return y, nil
}

// embedQuestions embeds the questions' texts through the cache, with a
// progress bar.
func embedQuestions(ctx context.Context, env *Env, q *qualityEnv, emb quality.Embedder, qs []quality.Question, mode quality.TextMode, what string) ([][]float32, error) {
	texts := make([]string, len(qs))
	for i, x := range qs {
		texts[i] = mode.Apply(x.Question)
	}
	return embedTexts(ctx, env, q, emb, texts, fmt.Sprintf("embed %s (%s)", what, mode))
}

func embedTexts(ctx context.Context, env *Env, q *qualityEnv, emb quality.Embedder, texts []string, label string) ([][]float32, error) {
	bar := quality.NewProgress(env.Stderr, label)
	v, _, err := q.cache.Embed(ctx, emb, texts, bar.Update)
	return v, err
}

// writeArtifact writes a trained artifact (what names it in errors) to
// path, creating its folder.
func writeArtifact(path, what string, w io.WriterTo) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	if _, err := w.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s %s: %w", what, path, err)
	}
	return f.Close()
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
