package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// knnBase is invalidBase with a knn decision choosing between m1 and m2;
// the ml block is appended per case.
const knnBase = invalidBase + `      algorithm:
        type: knn
    - name: d2
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs:
        - model: m1
        - model: m2
      algorithm:
        type: knn
`

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestKNNValidation(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "models", "sel"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"beside.knn", "models/sel/inside.knn"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	abs := filepath.Join(dir, "beside.knn")
	tests := []struct {
		name     string
		ml       string
		oneRef   bool     // knn decisions with a single modelRef only
		errs     []string // "path:line" of the errors
		warnings []string // paths of the warnings
		resolved string   // KNNPretrainedPath, relative to dir
	}{
		{name: "shipped data, no ml block"},
		{name: "file beside the config", ml: "knn: {k: 64, pretrained_path: beside.knn}", resolved: "beside.knn"},
		{name: "file under models_path", ml: "models_path: models/sel\n      knn: {pretrained_path: inside.knn}", resolved: "models/sel/inside.knn"},
		{name: "upstream style path", ml: "models_path: models/sel\n      knn: {pretrained_path: models/sel/inside.knn}", resolved: "models/sel/inside.knn"},
		{name: "absolute path", ml: "knn: {pretrained_path: " + abs + "}", resolved: "beside.knn"},
		{name: "missing file", ml: "knn:\n        k: 5\n        pretrained_path: nowhere.knn",
			errs: []string{PathKNNPretrained + ":52"}},
		{name: "missing file, one modelRef needs no data", oneRef: true, ml: "knn: {pretrained_path: nowhere.knn}"},
		{name: "a folder is not a file", ml: "knn: {pretrained_path: models}", errs: []string{PathKNNPretrained + ":50"}},
		{name: "negative k and dimension", ml: "embedding_dim: -1\n      knn: {k: -5}",
			errs: []string{PathMLEmbedDim + ":50", PathKNNK + ":51"}},
		{name: "other learned selectors stay unimplemented", ml: "kmeans: {num_clusters: 8}\n      svm: {kernel: rbf}\n      mlp: {device: cpu}\n      knn: {k: 5}",
			warnings: []string{pathML + ".kmeans", pathML + ".svm", pathML + ".mlp"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := knnBase
			if tc.oneRef {
				body = invalidBase + "      algorithm:\n        type: knn\n"
			}
			if tc.ml != "" {
				body += "global:\n  router:\n    model_selection:\n      ml:\n        " + strings.ReplaceAll(tc.ml, "\n      ", "\n        ") + "\n"
			}
			cfg, probs, err := Load(writeConfig(t, dir, body))
			if got := problemKeys(probs); strings.Join(got, ",") != strings.Join(tc.errs, ",") {
				t.Fatalf("errors %v, want %v (err %v)\n%s", got, tc.errs, err, probs)
			}
			for _, p := range probs.Errors() {
				if p.Path == PathKNNPretrained && !strings.Contains(p.Message, "train selection") {
					t.Errorf("message %q does not say how to build the file", p.Message)
				}
			}
			var warned []string
			for _, p := range probs.Warnings() {
				warned = append(warned, p.Path)
			}
			if strings.Join(warned, ",") != strings.Join(tc.warnings, ",") {
				t.Fatalf("warnings %v, want %v", warned, tc.warnings)
			}
			if tc.resolved != "" {
				if got, _ := cfg.KNNPretrainedPath(); got != filepath.Join(dir, tc.resolved) {
					t.Fatalf("resolved %q, want %q", got, filepath.Join(dir, tc.resolved))
				}
			}
		})
	}
}

func TestQualityGap(t *testing.T) {
	cfg, _, err := Parse([]byte(knnBase+"global:\n  router:\n    model_selection:\n      hybrid: {quality_gap_threshold: 0.08}\n"), "gap")
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := cfg.QualityGap(); !ok || g != 0.08 {
		t.Fatalf("gap %v %v", g, ok)
	}
	cfg, _, _ = Parse([]byte(knnBase), "nogap")
	if _, ok := cfg.QualityGap(); ok {
		t.Fatal("gap reported without a hybrid block")
	}
	if !AlgorithmImplemented("knn") || AlgorithmImplemented("kmeans") {
		t.Fatal("knn must be implemented, kmeans not")
	}
}

func TestAnyDecisionAndSelectsByEmbedding(t *testing.T) {
	two := []ModelRef{{Model: "a"}, {Model: "b"}}
	knn := Decision{Name: "k", Algorithm: &Algorithm{Type: "knn"}, ModelRefs: two}
	dc := Decision{Name: "d", Algorithm: &Algorithm{Type: "router_dc"}, ModelRefs: two}
	static := Decision{Name: "s", ModelRefs: two}
	single := Decision{Name: "one", Algorithm: &Algorithm{Type: "knn"}, ModelRefs: two[:1]}
	for _, tc := range []struct {
		d                    Decision
		byEmbedding, withKNN bool
	}{{knn, true, true}, {dc, true, false}, {static, false, false}, {single, false, false}} {
		if tc.d.SelectsByEmbedding() != tc.byEmbedding || tc.d.ChoosesWithKNN() != tc.withKNN {
			t.Errorf("%s: SelectsByEmbedding %v ChoosesWithKNN %v", tc.d.Name, tc.d.SelectsByEmbedding(), tc.d.ChoosesWithKNN())
		}
	}
	cfg := &Config{}
	cfg.Routing.Decisions = []Decision{static}
	if cfg.AnyDecision((*Decision).ChoosesWithKNN) {
		t.Fatal("a static decision chose with knn")
	}
	cfg.Recipes = []Recipe{{Name: "r"}}
	cfg.Recipes[0].Routing.Decisions = []Decision{knn}
	if !cfg.AnyDecision((*Decision).ChoosesWithKNN) {
		t.Fatal("the knn decision of a recipe was not found")
	}
}
