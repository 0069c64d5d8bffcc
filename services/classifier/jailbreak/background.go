package jailbreak

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// The gibberish detector's language model learns what ordinary text looks
// like from warden_train and from an unlabelled background corpus, so that
// code and exam-style questions with formulas do not look like noise:
//
//   - the non-test Go files of BackgroundModule, a pinned dependency that
//     every build of this repository has in its module cache (code with
//     English comments);
//   - the question texts of the MMLU-Pro train split (formulas, units,
//     chemistry, law; the split its README allows for tuning).
//
// Only n-gram counts derived from them are committed. No label of either
// is used; the detector's threshold is chosen on warden_train only.
const BackgroundModule = "github.com/nats-io/nats-server/v2@v2.15.2"

// Background is the background corpus and where it came from.
type Background struct {
	Texts []string
	// Sources names the parts; Digest is the SHA-256 of all texts, in
	// order, each followed by a NUL byte.
	Sources []string
	Digest  string
}

// LoadBackground reads the background corpus: BackgroundModule from the Go
// module cache (GOMODCACHE, else GOPATH/pkg/mod, else ~/go/pkg/mod) and the
// MMLU-Pro train questions under datasetsDir (the shared datasets folder).
func LoadBackground(datasetsDir string) (*Background, error) {
	modDir, err := moduleDir(BackgroundModule)
	if err != nil {
		return nil, err
	}
	code, err := readGoFiles(modDir)
	if err != nil {
		return nil, err
	}
	questions, err := readMMLUProTrain(filepath.Join(datasetsDir, "mmlu_pro"))
	if err != nil {
		return nil, err
	}
	b := &Background{
		Texts: append(code, questions...),
		Sources: []string{
			fmt.Sprintf("%s: %d non-test Go files", BackgroundModule, len(code)),
			fmt.Sprintf("mmlu_pro/questions.jsonl, train split: %d questions", len(questions)),
		},
	}
	h := sha256.New()
	for _, t := range b.Texts {
		h.Write([]byte(t))
		h.Write([]byte{0})
	}
	b.Digest = hex.EncodeToString(h.Sum(nil))
	return b, nil
}

// moduleDir returns the module cache folder of path@version.
func moduleDir(modAtVersion string) (string, error) {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("find the Go module cache: %w", err)
			}
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "pkg", "mod")
	}
	// Module cache paths escape upper-case letters as '!' + lower case.
	var b strings.Builder
	for _, r := range modAtVersion {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	dir := filepath.Join(cache, filepath.FromSlash(b.String()))
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("background module %s not in the module cache (run go mod download in services/classifier): %w", modAtVersion, err)
	}
	return dir, nil
}

// readGoFiles reads the non-test .go files under dir in lexical path order.
func readGoFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, string(b))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read background Go files: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read background Go files: none under %s", dir)
	}
	return out, nil
}

// readMMLUProTrain returns the questions of the MMLU-Pro train split in
// questions.jsonl order.
func readMMLUProTrain(dir string) ([]string, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "split.json"))
	if err != nil {
		return nil, fmt.Errorf("read MMLU-Pro split: %w", err)
	}
	var split struct {
		Train []int `json:"train"`
	}
	if err := json.Unmarshal(raw, &split); err != nil {
		return nil, fmt.Errorf("decode MMLU-Pro split: %w", err)
	}
	train := make(map[int]bool, len(split.Train))
	for _, id := range split.Train {
		train[id] = true
	}
	f, err := os.Open(filepath.Join(dir, "questions.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("read MMLU-Pro questions: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for line := 1; sc.Scan(); line++ {
		var row struct {
			ID       *int   `json:"id"`
			Question string `json:"question"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, fmt.Errorf("read MMLU-Pro questions:%d: %w", line, err)
		}
		if row.ID != nil && train[*row.ID] {
			out = append(out, row.Question)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read MMLU-Pro questions: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("read MMLU-Pro questions: no train question")
	}
	return out, nil
}
