package classifier_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest"
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
)

// knnTrain are hand-made "train questions" for the hashing embedder: the
// small model misses the hard ones and the big one answers them; both
// answer the easy ones.
var (
	knnHard = []string{
		"eigenvalues of a hermitian operator on hilbert space",
		"spectral radius of the hermitian operator matrix",
		"hilbert space operator eigenvalues and spectral theorem",
	}
	knnEasy = []string{
		"which city hosts the eiffel tower landmark",
		"the eiffel tower city and its famous river",
		"name the river that flows through the tower city",
	}
)

// writeKNNFile builds knn data for the quickstart's small and big models
// from the hand-made questions, embedded with emb.
func writeKNNFile(t *testing.T, emb *classifiertest.HashEmbedder, gap float64) string {
	t.Helper()
	var vecs [][]float32
	var small, big []bool
	for _, q := range knnHard {
		vecs = append(vecs, emb.Vector(q))
		small, big = append(small, false), append(big, true)
	}
	for _, q := range knnEasy {
		vecs = append(vecs, emb.Vector(q))
		small, big = append(small, true), append(big, true)
	}
	b, err := selection.NewKNNBank(selection.KNNMeta{EmbeddingModel: emb.Model(), K: 4, Tau: 0.07, Gap: gap,
		Models: []selection.KNNModel{{Name: "small-chat"}, {Name: "big-reasoner"}}}, vecs, [][]bool{small, big})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sel.knn")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// quickstartWithKNN is the quickstart with ml.knn.pretrained_path set.
func quickstartWithKNN(t *testing.T, path string, k int) *config.Config {
	t.Helper()
	cfg := loadConfig(t, quickstartPath(t))
	if cfg.Global.Router.ModelSelection == nil {
		cfg.Global.Router.ModelSelection = &config.ModelSelection{}
	}
	cfg.Global.Router.ModelSelection.ML = &config.MLSelection{KNN: &config.MLKNN{K: k, PretrainedPath: path}}
	return cfg
}

func TestKNNDecision(t *testing.T) {
	emb := &classifiertest.HashEmbedder{}
	path := writeKNNFile(t, emb, 0.3)
	c, err := classifier.Compile(context.Background(), quickstartWithKNN(t, path, 0), emb)
	if err != nil {
		t.Fatal(err)
	}
	if !c.NeedsQuery() {
		t.Fatal("a knn decision needs the query embedding")
	}
	tests := []struct {
		name, text string
		noQuery    bool
		model      string
		algorithm  string
		degraded   bool
	}{
		{name: "near the hard questions", text: "what are the eigenvalues of this hermitian operator", model: "big-reasoner", algorithm: selection.KNN},
		{name: "near the easy questions", text: "which river flows through the eiffel tower city", model: "small-chat", algorithm: selection.KNN},
		{name: "no query embedding", text: "what are the eigenvalues of this hermitian operator", noQuery: true,
			model: "small-chat", algorithm: selection.Static, degraded: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := user(tc.text)
			if !tc.noQuery {
				req.Query = emb.Vector(tc.text)
			}
			res, err := c.Classify(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != "general" || res.Model != tc.model || res.Algorithm != tc.algorithm {
				t.Fatalf("decision %q model %q algorithm %q, want general %q %q (degraded %v)", res.Decision, res.Model, res.Algorithm, tc.model, tc.algorithm, res.Degraded)
			}
			sel := false
			for _, d := range res.Degraded {
				sel = sel || d.Stage == "selection"
			}
			if sel != tc.degraded {
				t.Fatalf("selection degraded %v, want %v: %v", sel, tc.degraded, res.Degraded)
			}
		})
	}
}

func TestKNNQualityGapFromConfig(t *testing.T) {
	emb := &classifiertest.HashEmbedder{}
	// the file's default gap would keep everything on small-chat; the
	// config's hybrid.quality_gap_threshold wins
	cfg := quickstartWithKNN(t, writeKNNFile(t, emb, 2), 0)
	text := "what are the eigenvalues of this hermitian operator"
	route := func(cfg *config.Config) string {
		c, err := classifier.Compile(context.Background(), cfg, emb)
		if err != nil {
			t.Fatal(err)
		}
		req := user(text)
		req.Query = emb.Vector(text)
		res, err := c.Classify(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return res.Model
	}
	if m := route(cfg); m != "small-chat" {
		t.Fatalf("with the file's gap of 2: %q, want small-chat", m)
	}
	cfg.Global.Router.ModelSelection.Hybrid = &config.HybridConfig{QualityGapThreshold: 0.1}
	if m := route(cfg); m != "big-reasoner" {
		t.Fatalf("with quality_gap_threshold 0.1: %q, want big-reasoner", m)
	}
}

func TestKNNCompileErrors(t *testing.T) {
	emb := &classifiertest.HashEmbedder{}
	good := writeKNNFile(t, emb, 0.3)
	corrupt := filepath.Join(t.TempDir(), "corrupt.knn")
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(corrupt, data, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		emb  *classifiertest.HashEmbedder
		want string
	}{
		{"missing file", filepath.Join(t.TempDir(), "absent.knn"), emb, "no such file"},
		{"corrupt file", corrupt, emb, "checksum"},
		{"other embedding model", good, &classifiertest.HashEmbedder{Name: "other-model"}, `built with embedding model "test-hash-bow"`},
		{"other dimensions", good, &classifiertest.HashEmbedder{Dims: 64}, "dimensions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := classifier.Compile(context.Background(), quickstartWithKNN(t, tc.path, 0), tc.emb)
			if err == nil || !strings.Contains(err.Error(), config.PathKNNPretrained) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one naming %s and %q", err, config.PathKNNPretrained, tc.want)
			}
		})
	}
}

func TestKNNWithoutData(t *testing.T) {
	// no pretrained_path and nothing ships for the hashing embedder: the
	// revision compiles, and the knn decision uses its first modelRef and
	// says why
	emb := &classifiertest.HashEmbedder{}
	c, err := classifier.Compile(context.Background(), loadConfig(t, quickstartPath(t)), emb)
	if err != nil {
		t.Fatal(err)
	}
	req := user("which river flows through the eiffel tower city")
	req.Query = emb.Vector(req.Messages[0].Text)
	res, err := c.Classify(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision != "general" || res.Model != "small-chat" || !strings.Contains(res.SelectionFallback, "no pretrained data") {
		t.Fatalf("decision %q model %q fallback %q", res.Decision, res.Model, res.SelectionFallback)
	}
}
