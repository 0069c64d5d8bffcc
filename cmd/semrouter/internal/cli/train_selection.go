package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/quality"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
)

// The knobs of the shipped knn data: the knn-kernel policy's, chosen by
// cross-validation within MMLU-Pro train (see eval_dataset_routing_policies.go).
const (
	selectionK     = kernelK
	selectionTau   = kernelTau
	selectionShare = 0.5
)

// selectionSummary is the --json output of train selection.
type selectionSummary struct {
	Model   string               `json:"model"`
	Out     string               `json:"out"`
	Bytes   int                  `json:"bytes"`
	Train   int                  `json:"train"`
	Dev     int                  `json:"dev"`
	Columns []selection.KNNModel `json:"columns"`
	K       int                  `json:"k"`
	Tau     float64              `json:"tau"`
	Gap     float64              `json:"default_gap"`
	// DevShare is the share of dev questions sent above the cheapest
	// column with the gap; DevAccuracy their accuracy, RandomAtShare the
	// accuracy of random routing between the cheapest and the most
	// accurate column at the same share.
	DevShare      float64 `json:"dev_share_above_cheapest"`
	DevAccuracy   float64 `json:"dev_accuracy"`
	RandomAtShare float64 `json:"dev_random_accuracy_at_same_share"`
}

// columnMap is one dataset model standing for one config model.
type columnMap struct{ dataset, config string }

func parseColumnMap(flag, s string) ([]columnMap, error) {
	var out []columnMap
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ds, cfg, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(ds) == "" || strings.TrimSpace(cfg) == "" {
			return nil, usageErrorf("--%s: %q is not dataset_model=config_model", flag, part)
		}
		out = append(out, columnMap{strings.TrimSpace(ds), strings.TrimSpace(cfg)})
	}
	return out, nil
}

func trainSelectionCommand() *Command {
	c := &Command{Name: "train selection", Summary: "build the knn model-selection data from MMLU-Pro train outcomes",
		Usage: "--weak DATASET_MODEL=CONFIG_MODEL --strong DATASET_MODEL=CONFIG_MODEL [--map D=C,...] [--model use-lite] [--out FILE] [--json]"}
	c.Run = func(ctx context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		model := fs.String("model", embedding.ModelUSELite, "embedding model (a folder under .cache/models); the router must embed with the same model")
		weak := fs.String("weak", "", "the cheap model: DATASET_MODEL=CONFIG_MODEL (e.g. llama-3.1-8b-instruct=small-chat)")
		strong := fs.String("strong", "", "the expensive model: DATASET_MODEL=CONFIG_MODEL (e.g. gpt-4o-2024-05-13=big-reasoner)")
		mapping := fs.String("map", "", "more columns, cheapest first, between --weak and --strong: D=C,D=C")
		out := fs.String("out", "", "file to write (default services/classifier/engine/selection/pretrained/data/<model>.knn, built into the next build)")
		data := fs.String("data", "", "datasets folder (default $SEMROUTER_DATASETS or ../shared/datasets)")
		k := fs.Int("k", selectionK, "default neighbour count stored in the file (ml.knn.k overrides it)")
		tau := fs.Float64("tau", selectionTau, "kernel width: a neighbour weighs exp((cos − cos₁)/tau)")
		share := fs.Float64("share", selectionShare, "dev share of questions to send above the cheapest column; sets the default gap")
		asJSON := fs.Bool("json", false, "print a JSON summary on stdout")
		pos, err := parseFlags(env, c, fs, args, "Embeds the MMLU-Pro train questions (cached under .cache/eval/) and writes them, int8-quantised,\n"+
			"with one correctness bit per question and column, as pretrained data for `algorithm: {type: knn}`.\n"+
			"Columns are named by config model; their order is the cost order, cheapest first. The default quality\n"+
			"gap is the one that sends --share of the dev questions above the cheapest column. The test split\n"+
			"is never read; measure it with 'semrouter eval dataset --task routing --config'.")
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usageErrorf("train selection takes no arguments")
		}
		var cols []columnMap
		for _, f := range []struct{ name, val string }{{"weak", *weak}, {"map", *mapping}, {"strong", *strong}} {
			m, err := parseColumnMap(f.name, f.val)
			if err != nil {
				return err
			}
			if f.name != "map" && len(m) > 1 {
				return usageErrorf("--%s takes one DATASET_MODEL=CONFIG_MODEL", f.name)
			}
			cols = append(cols, m...)
		}
		if len(cols) < 2 {
			return usageErrorf("train selection needs at least two columns (--weak and --strong, or --map)")
		}
		if *k < 1 || !(*tau > 0) || !(*share > 0 && *share < 1) {
			return usageErrorf("--k must be positive, --tau positive and --share within (0, 1)")
		}
		q, err := newQualityEnv(*data)
		if err != nil {
			return err
		}
		mp, err := quality.ReadMMLUPro(filepath.Join(q.datasets, "mmlu_pro"))
		if err != nil {
			return err
		}
		lm, err := loadModel(ctx, env.Logger, *model)
		if err != nil {
			return err
		}
		defer lm.Close()
		train, dev := mp.Split(quality.SplitTrain), mp.Split(quality.SplitDev)
		set := selectionSet{meta: selection.KNNMeta{EmbeddingModel: lm.Model(), K: *k, Tau: *tau,
			Data: fmt.Sprintf("MMLU-Pro train split (%d questions), raw question text", len(train))}}
		for _, col := range cols {
			correct, name, err := mp.Correct(col.dataset)
			if err != nil {
				return err
			}
			set.meta.Models = append(set.meta.Models, selection.KNNModel{Name: col.config, Source: name})
			set.train = append(set.train, outcomesOf(train, correct))
			set.dev = append(set.dev, outcomesOf(dev, correct))
		}
		if set.trainX, err = embedQuestions(ctx, env, q, lm, train, quality.TextRaw, "train"); err != nil {
			return err
		}
		if set.devX, err = embedQuestions(ctx, env, q, lm, dev, quality.TextRaw, "dev"); err != nil {
			return err
		}
		bank, sum, err := set.build(*share)
		if err != nil {
			return err
		}
		path := *out
		if path == "" {
			path = filepath.Join(q.root, "services", "classifier", "engine", "selection", "pretrained", "data", lm.Model()+".knn")
		}
		if err := writeArtifact(path, "knn data", bank); err != nil {
			return err
		}
		sum.Model, sum.Out, sum.Bytes = lm.Model(), path, bank.Size()
		fmt.Fprintf(env.Stderr, "default gap %.4f: dev share above %s %.3f, dev accuracy %.4f (random at that share %.4f) -> %s (%d bytes)\n",
			sum.Gap, cols[0].config, sum.DevShare, sum.DevAccuracy, sum.RandomAtShare, path, sum.Bytes)
		if *asJSON {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(sum)
		}
		fmt.Fprintf(env.Stdout, "wrote %s (default gap %.4f)\n", path, sum.Gap)
		return nil
	}
	return c
}

func outcomesOf(qs []quality.Question, correct map[int]bool) []bool {
	out := make([]bool, len(qs))
	for i, x := range qs {
		out[i] = correct[x.ID]
	}
	return out
}

// selectionSet is the input of the knn data: the train embeddings and
// outcomes (stored) and the dev ones (only used to set the default gap).
// Outcomes are per column, columns cheapest first.
type selectionSet struct {
	meta         selection.KNNMeta
	trainX, devX [][]float32
	train, dev   [][]bool
}

// build quantises the train set into a bank and sets its default gap: each
// dev question's margin is best − cheapest estimate (the gap rule keeps
// the cheapest column exactly when the gap is at least the margin), and
// the gap is the midpoint of the margins around the share quantile. The
// estimates come from the quantised bank, as in the router. The result is
// a deterministic function of the set.
func (s *selectionSet) build(share float64) (*selection.KNNBank, selectionSummary, error) {
	var sum selectionSummary
	if len(s.devX) == 0 {
		return nil, sum, errors.New("train selection: the dev split is empty")
	}
	bank, err := selection.NewKNNBank(s.meta, s.trainX, s.train)
	if err != nil {
		return nil, sum, err
	}
	for m := range bank.Meta.Models {
		bank.Meta.Models[m].TrainAccuracy = ratioOf(countTrue(s.train[m]), len(s.train[m]))
	}
	ests := make([][]float64, len(s.devX))
	margins := make([]float64, len(s.devX))
	for i, v := range s.devX {
		e, err := bank.Estimate(v, 0)
		if err != nil {
			return nil, sum, fmt.Errorf("dev question %d: %w", i, err)
		}
		ests[i] = e
		best := e[0]
		for _, p := range e {
			best = max(best, p)
		}
		margins[i] = best - e[0]
	}
	sorted := append([]float64(nil), margins...)
	sort.Float64s(sorted)
	// the gap keeps round((1−share)·n) questions on the cheapest column
	at := min(max(int(float64(len(sorted))*(1-share)+0.5), 1), len(sorted)-1)
	gap := (sorted[at-1] + sorted[at]) / 2
	bank.Meta.Gap = gap
	bank.Meta.GapRule = fmt.Sprintf("the midpoint of the dev margins (best − cheapest estimate) at the %.0f%% quantile: "+
		"sends %.0f%% of MMLU-Pro dev above the cheapest column", 100*(1-share), 100*share)
	// the operating point on dev with that gap
	above, correct := 0, 0
	bestCol := 0
	for m := range bank.Meta.Models {
		if bank.Meta.Models[m].TrainAccuracy > bank.Meta.Models[bestCol].TrainAccuracy {
			bestCol = m
		}
	}
	for i, e := range ests {
		best := e[0]
		for _, p := range e {
			best = max(best, p)
		}
		pick := 0
		for m, p := range e {
			if p >= best-gap {
				pick = m
				break
			}
		}
		if pick != 0 {
			above++
		}
		if s.dev[pick][i] {
			correct++
		}
	}
	n := len(s.devX)
	sum.DevShare, sum.DevAccuracy = ratioOf(above, n), ratioOf(correct, n)
	accCheap, accBest := ratioOf(countTrue(s.dev[0]), n), ratioOf(countTrue(s.dev[bestCol]), n)
	sum.RandomAtShare = accCheap + sum.DevShare*(accBest-accCheap)
	bank.Meta.DevStrongShare = sum.DevShare
	sum.Train, sum.Dev = len(s.trainX), n
	sum.Columns, sum.K, sum.Tau, sum.Gap = bank.Meta.Models, bank.Meta.K, bank.Meta.Tau, gap
	return bank, sum, nil
}

func countTrue(v []bool) int {
	n := 0
	for _, b := range v {
		if b {
			n++
		}
	}
	return n
}
