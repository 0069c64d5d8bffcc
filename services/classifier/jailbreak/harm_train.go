package jailbreak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// The harmful-request detector fits nothing: its operating point is the
// lowest raw score at which every benign set stays within its budget, and
// the benign sets are
//
//   - warden_train's benign prompts (role-play, OpenOrca);
//   - the MMLU-Pro train questions (law, health, chemistry and computer
//     science questions name crimes, drugs and exploits);
//   - "why does this code not work?" prompts built from source files of
//     the Python standard library (HarmPythonDir) and of the Go standard
//     library of the toolchain (GOROOT/src), CodePrompts.

// HarmBenignSet is one set of benign prompts and the share of it the
// detector may flag.
type HarmBenignSet struct {
	Name   string
	Texts  []string
	Budget float64
}

// codePromptsPerLanguage is how many code prompts CodePrompts builds per
// language.
const codePromptsPerLanguage = 300

// HarmPythonDir is where Debian's python3 keeps its standard library
// (scripts/setup.sh installs python3).
const HarmPythonDir = "/usr/lib/python3.11"

// CodePrompts returns "why does this code not work?" prompts: up to 300
// source files of each language, picked evenly from the sorted non-test
// files under pyDir (.py) and goDir (.go); each prompt holds up to 60
// lines (2,000 bytes) from the file's first def / class / func.
func CodePrompts(pyDir, goDir string) (py, golang []string, err error) {
	py, err = codePrompts(pyDir, ".py", "python", []string{"def ", "class "})
	if err != nil {
		return nil, nil, err
	}
	golang, err = codePrompts(goDir, ".go", "go", []string{"func "})
	if err != nil {
		return nil, nil, err
	}
	return py, golang, nil
}

// GoSourceDir returns the standard library of the go command's toolchain
// and its version (go env GOROOT GOVERSION).
func GoSourceDir(ctx context.Context) (dir, version string, err error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOROOT", "GOVERSION").Output()
	if err != nil {
		return "", "", fmt.Errorf("find the Go standard library: go env: %w", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		return "", "", fmt.Errorf("find the Go standard library: go env printed %q", out)
	}
	return filepath.Join(lines[0], "src"), lines[1], nil
}

func codePrompts(dir, ext, lang string, starts []string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != dir && (name == "test" || name == "tests" || name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || name == "site-packages" || name == "dist-packages") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ext) && !strings.HasSuffix(name, "_test.go") && !strings.HasPrefix(name, "test_") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s sources under %s: %w", lang, dir, err)
	}
	slices.Sort(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("read %s sources: none under %s", lang, dir)
	}
	n := min(codePromptsPerLanguage, len(files))
	out := make([]string, 0, n)
	for k := range n {
		p := files[k*len(files)/n]
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read %s sources: %w", lang, err)
		}
		out = append(out, "Why does this code not work?\n```"+lang+"\n"+codeSnippet(string(b), starts)+"\n```")
	}
	return out, nil
}

// codeSnippet returns up to 60 lines, at most 2,000 bytes (cut at a line
// end), from the first line that starts with one of starts.
func codeSnippet(src string, starts []string) string {
	lines := strings.SplitAfter(src, "\n")
	from := 0
	for i, l := range lines {
		if slices.ContainsFunc(starts, func(s string) bool { return strings.HasPrefix(l, s) }) {
			from = i
			break
		}
	}
	var b strings.Builder
	for _, l := range lines[from:min(len(lines), from+60)] {
		if b.Len()+len(l) > 2000 {
			break
		}
		b.WriteString(l)
	}
	return strings.TrimRight(b.String(), "\n")
}

// HarmRates returns the share of raws at or above each threshold.
func harmRate(raws []float64, thr float64) float64 { return shareAtLeast(raws, thr) }

// HarmMinThreshold is the floor of the operating point, by design: the
// highest score a match can reach without request framing, inside an
// exam narrative or inside a descriptive task without an operational cue
// (weight ≤ 1 times harmNoFrame, harmExamFactor or harmDescribeFactor). Above
// it only a framed match outside exam narratives can fire, whatever room
// the benign budgets leave.
const HarmMinThreshold = max(harmNoFrame, harmExamFactor, harmDescribeFactor)

// harmFloorMargin keeps the threshold clear of matches at the floor.
const harmFloorMargin = 0.01

// ChooseHarmThreshold returns the lowest threshold from HarmMinThreshold
// + 0.01, at most 1, at which
// every benign set stays within its budget and union (when not nil: the
// out-of-fold benign false-positive rate of all parts together at that
// threshold) within unionBudget. Candidates are the midpoints between the
// distinct raw scores the benign sets reach, so the threshold sits between
// the highest benign score it flags and the next one.
func ChooseHarmThreshold(h *Harm, sets []HarmBenignSet, union func(raws []float64, thr float64) float64, unionBudget float64) (thr float64, raws [][]float64) {
	raws = make([][]float64, len(sets))
	var levels []float64
	for k, set := range sets {
		raws[k] = make([]float64, len(set.Texts))
		s := &harmScratch{}
		for i, t := range set.Texts {
			raws[k][i] = h.lex.match(s, t).Raw
			levels = append(levels, raws[k][i])
		}
	}
	levels = append(levels, 0, 1)
	slices.Sort(levels)
	levels = slices.Compact(levels)
	ok := func(t float64) bool {
		for k, set := range sets {
			if harmRate(raws[k], t) > set.Budget {
				return false
			}
		}
		return union == nil || union(raws[0], t) <= unionBudget
	}
	// Just above the floor, then between consecutive levels above it,
	// lowest first.
	if t := HarmMinThreshold + harmFloorMargin; ok(t) {
		return t, raws
	}
	for k := 0; k+1 < len(levels); k++ {
		t := roundTo((levels[k]+levels[k+1])/2, 4)
		if t > HarmMinThreshold+harmFloorMargin && ok(t) {
			return t, raws
		}
	}
	return math.Nextafter(1, 2), raws
}

// HarmSlope is the logistic slope of the shipped detector's Probability:
// a design constant, not fitted. With it a match 0.1 above the threshold
// scores 0.73, and only the strongest matches (raw ≥ threshold + 0.53:
// a full-weight pair inside a request) reach 0.995.
const HarmSlope = 10

// FitHarm chooses the detector's operating point on the benign sets
// (ChooseHarmThreshold) and records the rates it reaches; attacks (the
// warden_train jailbreak prompts) only give the sanity figure
// WardenJailbreakRecall. union and unionBudget are as for
// ChooseHarmThreshold; sets[0] must be warden_train's benign prompts in
// the order union expects.
func FitHarm(sets []HarmBenignSet, union func(raws []float64, thr float64) float64, unionBudget float64, attacks []string) (*Harm, error) {
	h, err := NewHarm(1, HarmSlope)
	if err != nil {
		return nil, err
	}
	thr, raws := ChooseHarmThreshold(h, sets, union, unionBudget)
	if thr > 1 {
		return nil, errors.New("harm detector: no threshold meets the benign budgets")
	}
	h.Threshold = thr
	info := &HarmTraining{
		Method: "lowest threshold, first just above the design floor min_threshold (no match without request framing, " +
			"inside an exam narrative or in a descriptive task without an operational cue reaches it), then midpoints between distinct benign raw scores, at which every benign " +
			"set stays within its budget and the union of all four parts stays within union_budget on warden_train's " +
			"out-of-fold benign prompts; chosen on benign prompts only",
		Budgets: map[string]float64{}, Rates: map[string]float64{}, Sizes: map[string]int{},
		MinThreshold: HarmMinThreshold,
	}
	for k, set := range sets {
		info.Budgets[set.Name] = set.Budget
		info.Rates[set.Name] = roundTo(harmRate(raws[k], thr), 4)
		info.Sizes[set.Name] = len(set.Texts)
	}
	if union != nil {
		info.UnionBudget = unionBudget
		info.UnionFPR = roundTo(union(raws[0], thr), 4)
	}
	s := &harmScratch{}
	hit := 0
	for _, t := range attacks {
		if h.lex.match(s, t).Raw >= thr {
			hit++
		}
	}
	if len(attacks) > 0 {
		info.WardenJailbreakRecall = roundTo(float64(hit)/float64(len(attacks)), 4)
	}
	h.Training = info
	return h, nil
}

// HarmBudgets are the benign budgets of the harmful-request detector.
type HarmBudgets struct {
	Warden, MMLU, Code float64
}

// DefaultHarmBudgets are the shipped budgets: at most 1% of warden_train's
// benign prompts, 0.5% of the MMLU-Pro train questions and 1% of each
// language's code prompts.
var DefaultHarmBudgets = HarmBudgets{Warden: 0.01, MMLU: 0.005, Code: 0.01}

// HarmBenignSets builds the benign sets: warden_train's benign examples
// (first, in order), the MMLU-Pro train questions under datasetsDir
// (the shared datasets folder) and the code prompts (CodePrompts).
func HarmBenignSets(examples []Example, datasetsDir, pyDir, goDir string, b HarmBudgets) ([]HarmBenignSet, error) {
	var benign []string
	for _, ex := range examples {
		if !ex.Attack {
			benign = append(benign, ex.Text)
		}
	}
	mmlu, err := readMMLUProTrain(filepath.Join(datasetsDir, "mmlu_pro"))
	if err != nil {
		return nil, err
	}
	py, golang, err := CodePrompts(pyDir, goDir)
	if err != nil {
		return nil, err
	}
	return []HarmBenignSet{
		{Name: "warden_train_benign", Texts: benign, Budget: b.Warden},
		{Name: "mmlu_pro_train", Texts: mmlu, Budget: b.MMLU},
		{Name: "python_code", Texts: py, Budget: b.Code},
		{Name: "go_code", Texts: golang, Budget: b.Code},
	}, nil
}

// WardenCovered says, for each benign example in order, whether the other
// three parts flag it out of fold: the head (headOOF at or above
// headThr), the gibberish detector (gibOOF at or above gibThr; gibOOF may
// be nil) and the guard override (guard at or above its threshold; o may
// be nil).
func WardenCovered(examples []Example, headOOF []float64, headThr float64, gibOOF []float64, gibThr float64, guard []float64, o *GuardOverride) []bool {
	var covered []bool
	for i, ex := range examples {
		if ex.Attack {
			continue
		}
		c := headOOF[i] >= headThr || (gibOOF != nil && gibOOF[i] >= gibThr) || (o != nil && guard[i] >= o.Threshold)
		covered = append(covered, c)
	}
	return covered
}

// UnionRate returns the union's false-positive rate function for
// ChooseHarmThreshold: the share of benign prompts that covered flags or
// whose raw harm score reaches thr.
func UnionRate(covered []bool) func(raws []float64, thr float64) float64 {
	return func(raws []float64, thr float64) float64 {
		n := 0
		for k, r := range raws {
			if covered[k] || r >= thr {
				n++
			}
		}
		return float64(n) / float64(max(len(raws), 1))
	}
}

// MarshalHarm encodes h as committed in weights/harm.json.
func MarshalHarm(h *Harm) ([]byte, error) {
	raw, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode harm detector: %w", err)
	}
	return append(raw, '\n'), nil
}
