// Package classifiertest holds test helpers for the classifier: a
// deterministic hashing bag-of-words embedder, repository paths and the
// real jailbreak scorer.
//
// HashEmbedder is NOT a stand-in for the real embedding model's outputs: it
// maps each lowercased word to a signed bucket of a fixed-size vector, so
// texts that share words are similar and texts that share none are
// orthogonal. Tests use it to exercise embedding-based rules with
// predictable similarities.
package classifiertest

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode"

	"github.com/semrouter/semrouter/services/classifier/jailbreak"
)

// HashEmbedder is a deterministic hashing bag-of-words embedder.
type HashEmbedder struct {
	// Dims is the vector size (default 256).
	Dims int
	// Name is the model name it reports (default "test-hash-bow").
	Name string
	// Fail, when set, makes Embed return this error.
	Fail  error
	calls atomic.Int64
}

// Model names the embedder's "model".
func (h *HashEmbedder) Model() string {
	if h.Name == "" {
		return "test-hash-bow"
	}
	return h.Name
}

// Calls is the number of Embed calls so far.
func (h *HashEmbedder) Calls() int64 { return h.calls.Load() }

// Embed returns one L2-normalised vector per text.
func (h *HashEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	h.calls.Add(1)
	if h.Fail != nil {
		return nil, h.Fail
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = h.Vector(t)
	}
	return out, nil
}

// Vector embeds one text.
func (h *HashEmbedder) Vector(text string) []float32 {
	d := h.Dims
	if d <= 0 {
		d = 256
	}
	v := make([]float32, d)
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		x := fnv(w)
		sign := float32(1)
		if x&(1<<63) != 0 {
			sign = -1
		}
		v[x%uint64(d)] += sign
	}
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	if n > 0 {
		inv := float32(1 / math.Sqrt(n))
		for i := range v {
			v[i] *= inv
		}
	}
	return v
}

func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// RepoRoot walks up from the working directory to the directory holding
// go.work.
func RepoRoot() (string, error) {
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
			return "", errors.New("no go.work above the working directory")
		}
		dir = parent
	}
}

var (
	scorerOnce sync.Once
	scorer     *jailbreak.Scorer
	scorerErr  error
)

// JailbreakScorer loads the real jailbreak model (llm_guardrail weights
// unpacked by scripts/setup-guard.sh) once per test binary. Without it the
// test is skipped, except under CI=true where it fails.
func JailbreakScorer(t testing.TB) *jailbreak.Scorer {
	t.Helper()
	scorerOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			scorerErr = err
			return
		}
		scorer, scorerErr = jailbreak.Load(jailbreak.GuardDir(root))
	})
	if scorerErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("jailbreak scorer (run make setup): %v", scorerErr)
		}
		t.Skipf("jailbreak scorer not available (run make setup): %v", scorerErr)
	}
	return scorer
}
