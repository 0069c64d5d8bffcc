package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/engine/selection/pretrained/pretrainedtest"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/quality"
)

// syntheticSelectionSet has clustered random unit vectors: the weak column
// fails on cluster 0 and the strong one answers everything, plus noise.
func syntheticSelectionSet(seed uint64) *selectionSet {
	r := rand.New(rand.NewPCG(seed, 3))
	const dims, clusters = 16, 4
	centres := make([][]float32, clusters)
	for c := range centres {
		centres[c] = make([]float32, dims)
		for d := range centres[c] {
			centres[c][d] = float32(r.NormFloat64())
		}
	}
	gen := func(n int) ([][]float32, [][]bool) {
		x := make([][]float32, n)
		weak, strong := make([]bool, n), make([]bool, n)
		for i := range x {
			c := i % clusters
			x[i] = make([]float32, dims)
			for d := range x[i] {
				x[i][d] = centres[c][d] + float32(0.3*r.NormFloat64())
			}
			weak[i] = c != 0 && r.Float64() < 0.8
			strong[i] = r.Float64() < 0.9
		}
		return x, [][]bool{weak, strong}
	}
	s := &selectionSet{meta: selection.KNNMeta{EmbeddingModel: "synthetic", K: 32, Tau: 0.07,
		Models: []selection.KNNModel{{Name: "small", Source: "weak-ds"}, {Name: "big", Source: "strong-ds"}}}}
	s.trainX, s.train = gen(400)
	s.devX, s.dev = gen(100)
	return s
}

func TestSelectionBuildDeterministic(t *testing.T) {
	encode := func() ([]byte, selectionSummary) {
		b, sum, err := syntheticSelectionSet(1).build(0.5)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := b.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes(), sum
	}
	a, sum := encode()
	b, _ := encode()
	if !bytes.Equal(a, b) {
		t.Fatal("two builds from the same data differ")
	}
	// the gap sends half of dev above the cheapest column
	if sum.DevShare != 0.5 {
		t.Errorf("dev share %.3f, want 0.5 (gap %.4f)", sum.DevShare, sum.Gap)
	}
	// cluster 0 (a quarter of dev) is where the strong model wins: routing
	// by the estimate must beat random at the same share
	if sum.DevAccuracy <= sum.RandomAtShare {
		t.Errorf("dev accuracy %.3f not above random %.3f", sum.DevAccuracy, sum.RandomAtShare)
	}
	bank, err := selection.ParseKNNBank(a)
	if err != nil {
		t.Fatal(err)
	}
	if bank.Meta.Gap != sum.Gap || bank.Meta.DevStrongShare != 0.5 || bank.Meta.N != 400 || !strings.Contains(bank.Meta.GapRule, "50%") {
		t.Errorf("header %+v", bank.Meta)
	}
	if acc := bank.Meta.Models[1].TrainAccuracy; acc < 0.8 || acc > 1 {
		t.Errorf("strong train accuracy %.3f", acc)
	}
}

func TestTrainSelectionUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"one column", []string{"--weak", "llama=small"}, "at least two columns"},
		{"not a pair", []string{"--weak", "llama", "--strong", "gpt=big"}, `"llama" is not dataset_model=config_model`},
		{"two weak", []string{"--weak", "a=b,c=d", "--strong", "gpt=big"}, "--weak takes one"},
		{"bad share", []string{"--weak", "a=b", "--strong", "c=d", "--share", "1"}, "--share within (0, 1)"},
		{"arguments", []string{"--weak", "a=b", "--strong", "c=d", "extra"}, "takes no arguments"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := runHere(t, append([]string{"train", "selection"}, tc.args...)...)
			if code != ExitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q, want usage error with %q", code, errOut, tc.want)
			}
		})
	}
}

// TestTrainSelectionReproducesShipped rebuilds the knn data from the real
// MMLU-Pro train split with use-lite and compares it with the file built
// into the binary: same header and (up to int8 rounding of a float that
// sits on a boundary) the same vectors.
func TestTrainSelectionReproducesShipped(t *testing.T) {
	needQualityData(t)
	out := filepath.Join(t.TempDir(), "use-lite.knn")
	stdout, errOut, code := runHere(t, "train", "selection", "--weak", "llama-3.1-8b-instruct=small-chat",
		"--strong", "gpt-4o-2024-05-13=big-reasoner", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var sum selectionSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if math.Abs(sum.DevShare-0.5) > 0.01 || sum.DevAccuracy <= sum.RandomAtShare {
		t.Errorf("dev share %.3f accuracy %.4f random %.4f", sum.DevShare, sum.DevAccuracy, sum.RandomAtShare)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	built, err := selection.ParseKNNBank(data)
	if err != nil {
		t.Fatal(err)
	}
	shipped := pretrainedtest.Require(t, "use-lite")
	bm, sm := built.Meta, shipped.Meta
	if math.Abs(bm.Gap-sm.Gap) > 1e-3 {
		t.Errorf("gap %.5f, shipped %.5f", bm.Gap, sm.Gap)
	}
	bm.Gap, sm.Gap = 0, 0
	bmj, _ := json.Marshal(bm)
	smj, _ := json.Marshal(sm)
	if !bytes.Equal(bmj, smj) {
		t.Errorf("header differs from the shipped one:\n%s\n%s", bmj, smj)
	}
	if d := bankDistance(built, shipped); d > 1e-3 {
		t.Errorf("%.5f of the estimates on 200 stored questions differ by more than 0.01", d)
	}
}

// bankDistance is the share of probe queries (stored rows' own vectors
// from a) whose estimates differ by more than 0.01 between a and b.
func bankDistance(a, b *selection.KNNBank) float64 {
	bad, n := 0, 0
	for j := 0; j < a.Meta.N; j += a.Meta.N / 200 {
		q := a.Row(j)
		ea, errA := a.Estimate(q, 0)
		eb, errB := b.Estimate(q, 0)
		n++
		if errA != nil || errB != nil || math.Abs(ea[0]-eb[0]) > 0.01 || math.Abs(ea[1]-eb[1]) > 0.01 {
			bad++
		}
	}
	return float64(bad) / float64(n)
}

// TestQuickstartKNNRealEmbeddings classifies MMLU-Pro train questions with
// the compiled quickstart, use-lite and the shipped knn data: questions
// only the big model answers (hard) must go to big-reasoner far more often
// than questions both answer (easy).
func TestQuickstartKNNRealEmbeddings(t *testing.T) {
	root := needQualityData(t)
	pretrainedtest.Require(t, "use-lite")
	ctx := context.Background()
	q, err := newQualityEnv("")
	if err != nil {
		t.Fatal(err)
	}
	mp, err := quality.ReadMMLUPro(filepath.Join(q.datasets, "mmlu_pro"))
	if err != nil {
		t.Fatal(err)
	}
	weak, _, err := mp.Correct("llama-3.1-8b-instruct")
	if err != nil {
		t.Fatal(err)
	}
	strong, _, err := mp.Correct("gpt-4o-2024-05-13")
	if err != nil {
		t.Fatal(err)
	}
	var hard, easy []quality.Question
	for _, x := range mp.Split(quality.SplitTrain) {
		switch {
		case !weak[x.ID] && strong[x.ID] && len(hard) < 120:
			hard = append(hard, x)
		case weak[x.ID] && strong[x.ID] && len(easy) < 120:
			easy = append(easy, x)
		}
	}
	lm, err := loadModel(ctx, discardLogger(), "use-lite")
	if err != nil {
		t.Fatal(err)
	}
	defer lm.Close()
	cfg, _, err := config.Load(filepath.Join(root, "config", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := classifier.Compile(ctx, cfg, lm)
	if err != nil {
		t.Fatal(err)
	}
	bigShare := func(qs []quality.Question) float64 {
		texts := make([]string, len(qs))
		for i, x := range qs {
			texts[i] = x.Question
		}
		vecs, err := lm.Embed(ctx, texts)
		if err != nil {
			t.Fatal(err)
		}
		general, big := 0, 0
		for i, text := range texts {
			res, err := cl.Classify(ctx, &classifier.Request{Model: "auto", Query: vecs[i],
				Messages: []heuristic.Message{{Role: heuristic.RoleUser, Text: text}}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != "general" {
				continue
			}
			if res.Algorithm != selection.KNN {
				t.Fatalf("general chose with %q (fallback %q)", res.Algorithm, res.SelectionFallback)
			}
			general++
			if res.Model == "big-reasoner" {
				big++
			}
		}
		if general < 20 {
			t.Fatalf("only %d of %d questions reached the general decision", general, len(qs))
		}
		return float64(big) / float64(general)
	}
	h, e := bigShare(hard), bigShare(easy)
	t.Logf("big-reasoner share on general: hard %.2f, easy %.2f", h, e)
	if h < 0.7 || e > 0.4 {
		t.Errorf("big-reasoner share: hard %.2f (want ≥ 0.7), easy %.2f (want ≤ 0.4)", h, e)
	}
}
