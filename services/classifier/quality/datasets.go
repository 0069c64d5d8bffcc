// Package quality measures how well the router's learned parts do on public
// data: it reads the evaluation datasets (MMLU-Pro questions, splits and
// per-model correctness, QQP duplicate pairs, RouteLLM strong/weak labels,
// jailbreak prompts), computes the metrics (accuracy, per-class and macro
// F1, precision–recall over thresholds, cost–quality curves of routers),
// caches embeddings of dataset texts, and writes Markdown reports with PNG
// plots drawn by this package (image/png only).
//
// The datasets are read where they lie (see DatasetsDir); nothing is copied.
package quality

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// EnvDatasets overrides the folder holding the evaluation datasets.
const EnvDatasets = "SEMROUTER_DATASETS"

// DatasetsDir returns SEMROUTER_DATASETS when set, else the shared
// datasets folder next to the repository: <repoRoot>/../shared/datasets.
func DatasetsDir(getenv func(string) string, repoRoot string) string {
	if d := getenv(EnvDatasets); d != "" {
		return d
	}
	return filepath.Join(filepath.Dir(repoRoot), "shared", "datasets")
}

// Split names one part of the MMLU-Pro split.
type Split string

// The MMLU-Pro splits. Test is for final evaluation only.
const (
	SplitTrain Split = "train"
	SplitDev   Split = "dev"
	SplitTest  Split = "test"
)

// ParseSplit checks a split name.
func ParseSplit(s string) (Split, error) {
	switch Split(s) {
	case SplitTrain, SplitDev, SplitTest:
		return Split(s), nil
	}
	return "", fmt.Errorf("unknown split %q (want train, dev or test)", s)
}

// Question is one MMLU-Pro question (questions.jsonl).
type Question struct {
	ID       int    `json:"id"`
	Question string `json:"question"`
	Category string `json:"category"`
	Src      string `json:"src"`
}

// MMLUPro is the MMLU-Pro folder: the questions and the split.
type MMLUPro struct {
	Dir       string
	Questions []Question
	byID      map[int]int
	splits    map[Split][]int
}

// ReadMMLUPro reads questions.jsonl and split.json from dir.
func ReadMMLUPro(dir string) (*MMLUPro, error) {
	m := &MMLUPro{Dir: dir, byID: map[int]int{}, splits: map[Split][]int{}}
	err := readJSONL(filepath.Join(dir, "questions.jsonl"), func(line int, raw []byte) error {
		var q Question
		if err := json.Unmarshal(raw, &q); err != nil {
			return err
		}
		if q.Question == "" || q.Category == "" {
			return errors.New("question or category is empty")
		}
		if _, dup := m.byID[q.ID]; dup {
			return fmt.Errorf("duplicate id %d", q.ID)
		}
		m.byID[q.ID] = len(m.Questions)
		m.Questions = append(m.Questions, q)
		return nil
	})
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "split.json"))
	if err != nil {
		return nil, fmt.Errorf("read split: %w", err)
	}
	var sp struct {
		Train []int `json:"train"`
		Dev   []int `json:"dev"`
		Test  []int `json:"test"`
	}
	if err := json.Unmarshal(data, &sp); err != nil {
		return nil, fmt.Errorf("decode %s: %w", filepath.Join(dir, "split.json"), err)
	}
	seen := map[int]Split{}
	for name, ids := range map[Split][]int{SplitTrain: sp.Train, SplitDev: sp.Dev, SplitTest: sp.Test} {
		for _, id := range ids {
			if _, ok := m.byID[id]; !ok {
				return nil, fmt.Errorf("split %s: id %d is not a question", name, id)
			}
			if prev, dup := seen[id]; dup {
				return nil, fmt.Errorf("split: id %d is in both %s and %s", id, prev, name)
			}
			seen[id] = name
		}
		m.splits[name] = ids
	}
	return m, nil
}

// Split returns the questions of one split, in split.json order.
func (m *MMLUPro) Split(s Split) []Question {
	ids := m.splits[s]
	out := make([]Question, len(ids))
	for i, id := range ids {
		out[i] = m.Questions[m.byID[id]]
	}
	return out
}

// CorrectModels lists the models with a correct_<model>.jsonl file.
func (m *MMLUPro) CorrectModels() ([]string, error) {
	files, err := filepath.Glob(filepath.Join(m.Dir, "correct_*.jsonl"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "correct_"), ".jsonl"))
	}
	sort.Strings(out)
	return out, nil
}

// Correct reads correct_<model>.jsonl: whether the model answered each
// question id correctly. model may be a prefix of the file's model name
// when it is unambiguous ("gpt-4o" finds gpt-4o-2024-05-13).
func (m *MMLUPro) Correct(model string) (map[int]bool, string, error) {
	name, err := m.resolveModel(model)
	if err != nil {
		return nil, "", err
	}
	out := make(map[int]bool, len(m.Questions))
	err = readJSONL(filepath.Join(m.Dir, "correct_"+name+".jsonl"), func(_ int, raw []byte) error {
		var r struct {
			ID      int   `json:"id"`
			Correct *bool `json:"correct"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		if r.Correct == nil {
			return errors.New("row has no correct field")
		}
		out[r.ID] = *r.Correct
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, name, nil
}

func (m *MMLUPro) resolveModel(model string) (string, error) {
	models, err := m.CorrectModels()
	if err != nil {
		return "", err
	}
	var hits []string
	for _, name := range models {
		if name == model {
			return name, nil
		}
		if strings.HasPrefix(name, model) {
			hits = append(hits, name)
		}
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return "", fmt.Errorf("no correct_%s*.jsonl in %s (have %s)", model, m.Dir, strings.Join(models, ", "))
	}
	return "", fmt.Errorf("model %q is ambiguous: %s", model, strings.Join(hits, ", "))
}

// Pair is one QQP question pair (qqp/pairs.jsonl).
type Pair struct {
	ID        int    `json:"id"`
	Q1        string `json:"q1"`
	Q2        string `json:"q2"`
	Duplicate bool   `json:"duplicate"`
}

// ReadPairs reads a pairs file.
func ReadPairs(path string) ([]Pair, error) {
	var out []Pair
	err := readJSONL(path, func(_ int, raw []byte) error {
		var p Pair
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// RouteItem is one RouteLLM row: a prompt and whether each model answered
// it correctly.
type RouteItem struct {
	ID           string          `json:"id"`
	Prompt       string          `json:"prompt"`
	Correct      map[string]bool `json:"correct"`
	Contaminated bool            `json:"contaminated"`
	// MMLUProSplit is the MMLU-Pro split of the same question stem, when
	// the row is also an MMLU-Pro question (mmlu.jsonl only).
	MMLUProSplit string `json:"mmlu_pro_split"`
}

// ReadRouteItems reads a RouteLLM file (routellm/mmlu.jsonl, gsm8k.jsonl).
func ReadRouteItems(path string) ([]RouteItem, error) {
	var out []RouteItem
	err := readJSONL(path, func(_ int, raw []byte) error {
		var r struct {
			RouteItem
			RawID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		r.ID = strings.Trim(string(r.RawID), `"`)
		if len(r.Correct) < 2 {
			return errors.New("row needs correctness for at least two models")
		}
		out = append(out, r.RouteItem)
		return nil
	})
	return out, err
}

// readJSONL calls fn for every non-empty line of path; errors name the
// file and line.
func readJSONL(path string, fn func(line int, raw []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read dataset: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := fn(line, sc.Bytes()); err != nil {
			return fmt.Errorf("read dataset %s:%d: %w", path, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read dataset %s: %w", path, err)
	}
	return nil
}

// ReadJSONL calls fn with every row of a JSON Lines file decoded as an
// object.
func ReadJSONL(path string, fn func(row map[string]any) error) error {
	return readJSONL(path, func(_ int, raw []byte) error {
		var row map[string]any
		if err := json.Unmarshal(raw, &row); err != nil {
			return err
		}
		return fn(row)
	})
}
