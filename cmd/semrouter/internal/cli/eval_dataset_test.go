package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/domain"
	"github.com/semrouter/semrouter/services/classifier/quality"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

// runHere runs the CLI in the package directory (inside the checkout, so
// the repository root, models and heads are found).
func runHere(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), ExitCode(err)
}

// needQualityData skips when the evaluation datasets or the built model are
// absent, unless CI is set (then their absence is a failure).
func needQualityData(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, ok := ortrt.FindRepoRoot(wd)
	if !ok {
		t.Fatal("no go.work above the test directory")
	}
	ds := quality.DatasetsDir(os.Getenv, root)
	missing := ""
	if _, err := os.Stat(filepath.Join(ds, "mmlu_pro", "questions.jsonl")); err != nil {
		missing = "datasets folder " + ds + " (set " + quality.EnvDatasets + ")"
	} else if _, err := os.Stat(filepath.Join(root, ".cache", "models", "use-lite", "model.onnx")); err != nil {
		missing = "use-lite model (run make setup)"
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but the %s is missing", missing)
		}
		t.Skipf("skipping: %s is absent", missing)
	}
	return root
}

func TestEvalDatasetDomainRealData(t *testing.T) {
	root := needQualityData(t)
	if _, err := os.Stat(filepath.Join(root, "services", "classifier", "domain", "heads", "use-lite.json")); err != nil {
		t.Fatalf("the committed use-lite domain head is missing: %v", err)
	}
	rep := t.TempDir()
	out, errOut, code := runHere(t, "eval", "dataset", "--task", "domain", "--split", "dev", "--limit", "50",
		"--latency-samples", "20", "--json", "--report", rep)
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s", code, errOut)
	}
	var s domainSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("decode summary: %v\n%s", err, out)
	}
	if s.N != 50 || s.Model != "use-lite" || s.Split != "dev" {
		t.Errorf("summary header %+v", s)
	}
	// The shipped head reaches ~0.73 on the whole dev split; 50 questions
	// are noisy, but a broken head or embedding scores near 1/14.
	if s.Accuracy < 0.5 || s.MacroF1 <= 0 || s.MacroF1 > 1 {
		t.Errorf("accuracy %.3f, macro-F1 %.3f", s.Accuracy, s.MacroF1)
	}
	if len(s.PerCategory) != len(domain.Categories()) {
		t.Errorf("%d per-category F1 values, want %d", len(s.PerCategory), len(domain.Categories()))
	}
	if s.LatencyN != 20 || s.LatencyP50Ms <= 0 || s.LatencyP99Ms < s.LatencyP50Ms {
		t.Errorf("latency p50 %.3f p99 %.3f over %d", s.LatencyP50Ms, s.LatencyP99Ms, s.LatencyN)
	}
	if !strings.Contains(errOut, "latency (one by one)") {
		t.Errorf("no progress bar on stderr: %q", errOut)
	}
	md, err := os.ReadFile(filepath.Join(rep, "report.md"))
	if err != nil || !strings.Contains(string(md), "domain_confusion.png") {
		t.Fatalf("report.md: %v\n%s", err, md)
	}
	f, err := os.Open(filepath.Join(rep, "domain_confusion.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("confusion matrix PNG: %v", err)
	}
}

func TestEvalDatasetUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no task", []string{"eval", "dataset"}, "--task is required"},
		{"unknown task", []string{"eval", "dataset", "--task", "vibes"}, `unknown --task "vibes"`},
		{"bad split", []string{"eval", "dataset", "--task", "domain", "--split", "validation"}, "--split must be dev or test"},
		{"negative limit", []string{"eval", "dataset", "--task", "domain", "--limit", "-1"}, "--limit must not be negative"},
		{"jailbreak dev", []string{"eval", "dataset", "--task", "jailbreak", "--split", "dev"}, "no dev split"},
		{"bad grid", []string{"train", "domain", "--epochs", "ten"}, `--epochs: "ten"`},
		{"bad text mode", []string{"train", "domain", "--text", "upper"}, `unknown text mode "upper"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := runHere(t, tc.args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q lacks %q", errOut, tc.want)
			}
		})
	}
}

func TestTrainDomainHelp(t *testing.T) {
	out, _, code := runHere(t, "train", "domain", "--help")
	if code != ExitOK || !strings.Contains(out, "--epochs") || !strings.Contains(out, "test split is never read") {
		t.Errorf("exit %d, help:\n%s", code, out)
	}
}

func TestTrainDomainRealData(t *testing.T) {
	root := needQualityData(t)
	if _, err := os.Stat(filepath.Join(root, ".cache", "models", "glove-sif-100d", "model.onnx")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but the glove-sif-100d model is missing: %v", err)
		}
		t.Skip("skipping: glove-sif-100d model is absent (run make setup)")
	}
	out := filepath.Join(t.TempDir(), "head.json")
	stdout, errOut, code := runHere(t, "train", "domain", "--model", "glove-sif-100d", "--out", out,
		"--epochs", "3", "--l2", "0,1e-5", "--json")
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s", code, errOut)
	}
	var s trainSummary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("decode summary: %v\n%s", err, stdout)
	}
	if len(s.Candidates) != 2 || s.Train != 8423 || s.Dev != 1203 || s.Out != out {
		t.Errorf("summary %+v", s)
	}
	h, err := readHead(out)
	if err != nil {
		t.Fatal(err)
	}
	// three epochs already put a linear head far above chance (1/14)
	if h.Model != "glove-sif-100d" || h.Dims != 100 || h.Metrics["dev_accuracy"] < 0.4 || h.Metrics["dev_accuracy"] != s.Selected.DevAccuracy {
		t.Errorf("head model %q dims %d metrics %v", h.Model, h.Dims, h.Metrics)
	}
	if !strings.Contains(errOut, "dev accuracy") {
		t.Errorf("no progress on stderr: %q", errOut)
	}
}

func TestEvalDatasetRoutingRealData(t *testing.T) {
	root := needQualityData(t)
	rep := t.TempDir()
	// glove keeps the train-split embedding cheap on a cold cache
	out, errOut, code := runHere(t, "eval", "dataset", "--task", "routing", "--split", "dev", "--limit", "100",
		"--model", "glove-sif-100d", "--config", filepath.Join(root, "config", "quickstart.yaml"), "--json", "--report", rep)
	if code != 0 {
		t.Fatalf("exit %d\nstderr: %s", code, errOut)
	}
	var s routingSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("decode summary: %v\n%s", err, out)
	}
	if s.N != 100 || s.TrainN != 8423 || s.Weak != "llama-3.1-8b-instruct" || s.Strong != "gpt-4o-2024-05-13" {
		t.Errorf("summary header %+v", s)
	}
	if !(s.WeakAccuracy < s.StrongAcc && s.StrongAcc <= s.OracleAcc) {
		t.Errorf("weak %.3f strong %.3f oracle %.3f", s.WeakAccuracy, s.StrongAcc, s.OracleAcc)
	}
	if len(s.Policies) != 10 || s.Policies[0].Name != routingPrimary {
		t.Fatalf("policies %+v", s.Policies)
	}
	for _, p := range s.Policies {
		if p.At50 < s.WeakAccuracy-0.1 || p.At50 > s.OracleAcc || p.APGR < -1 || p.APGR > 2 {
			t.Errorf("%s: acc@50 %.3f APGR %.3f", p.Name, p.At50, p.APGR)
		}
	}
	c := s.Config
	if c == nil {
		t.Fatal("no config operating point")
	}
	total := 0
	for _, n := range c.Decisions {
		total += n
	}
	if total != 100 || c.StrongFraction < 0 || c.StrongFraction > 1 || len(c.StrongModels) != 2 {
		t.Errorf("config point %+v", c)
	}
	f, err := os.Open(filepath.Join(rep, "routing_cost_quality.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("cost-quality PNG: %v", err)
	}
}

func TestEvalDatasetCacheAndJailbreakRealData(t *testing.T) {
	root := needQualityData(t)
	t.Run("cache", func(t *testing.T) {
		out, errOut, code := runHere(t, "eval", "dataset", "--task", "cache", "--model", "glove-sif-100d", "--limit", "300", "--json")
		if code != 0 {
			t.Fatalf("exit %d\nstderr: %s", code, errOut)
		}
		var s cacheSummary
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("decode summary: %v\n%s", err, out)
		}
		// cosine separates duplicates better than chance (AP = base rate)
		base := float64(s.Duplicates) / float64(s.Pairs)
		if s.Pairs != 300 || s.AP <= base || len(s.Targets) != 5 || len(s.Curve) != 11 {
			t.Errorf("pairs %d AP %.3f (base %.3f) targets %d curve %d", s.Pairs, s.AP, base, len(s.Targets), len(s.Curve))
		}
		if s.Default.Threshold != 0.8 || s.Default.TP+s.Default.FP+s.Default.TN+s.Default.FN != 300 {
			t.Errorf("default point %+v", s.Default)
		}
		// the label ceiling covers the whole file and the sample
		if len(s.LabelCeiling) != 2 || s.LabelCeiling[0].Scope != "file" || s.LabelCeiling[0].Pairs == 0 ||
			s.LabelCeiling[1].Pairs > s.LabelCeiling[0].Pairs || s.LabelCeiling[0].Precision <= 0 || s.LabelCeiling[0].Precision > 1 {
			t.Errorf("label ceiling %+v", s.LabelCeiling)
		}
	})
	t.Run("jailbreak", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(root, ".cache", "npm", "llm_guardrail@2.1.2")); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI is set but the guard weights are missing: %v", err)
			}
			t.Skip("skipping: guard weights absent (run make setup)")
		}
		out, errOut, code := runHere(t, "eval", "dataset", "--task", "jailbreak", "--split", "test", "--json")
		if code != 0 {
			t.Fatalf("exit %d\nstderr: %s", code, errOut)
		}
		var s jailbreakSummary
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("decode summary: %v\n%s", err, out)
		}
		if s.WardenN != 258 || s.WardenDropped != 4 || s.JBBN != 1097 {
			t.Errorf("counts: warden %d (dropped %d), jbb %d", s.WardenN, s.WardenDropped, s.JBBN)
		}
		// the shipped head is far better than chance on warden_test
		if s.F1 < 0.8 || s.FPR > 0.2 || s.JBBRecall <= 0 || s.JBBRecall > 1 {
			t.Errorf("F1 %.3f FPR %.3f jbb recall %.3f", s.F1, s.FPR, s.JBBRecall)
		}
		// every part of the combined score is reported on its own, and the
		// combined score catches at least what its head does
		for _, name := range []string{"head", "gibberish", "guard_override", "guard_0.5"} {
			if _, ok := s.Components[name]; !ok {
				t.Errorf("no %q component in %+v", name, s.Components)
			}
		}
		if s.JBBRecall < s.Components["head"].JBBRecall || s.Recall < s.Components["head"].Recall {
			t.Errorf("combined recall %.3f / jbb %.3f below the head's %+v", s.Recall, s.JBBRecall, s.Components["head"])
		}
	})
}
