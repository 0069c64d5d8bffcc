// Package usetest gives classifier tests the real USE-Lite embedder: ONNX
// Runtime with the weights `make setup` builds under .cache/models/use-lite,
// loaded once per test binary and shared. A missing runtime or model fails
// the test under CI=true and skips it otherwise.
package usetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

// Model is the embedding model name the classifier sees (its domain head
// and knn data are keyed by it).
const Model = "use-lite"

// Embedder is the loaded model behind the classifier's Embedder shape.
type Embedder struct{ m *embedding.Model }

var _ classifier.Embedder = (*Embedder)(nil)

// Embed returns one L2-normalised vector per text.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	v, _, err := e.m.Embed(ctx, texts)
	return v, err
}

// Model names the embedding model.
func (e *Embedder) Model() string { return Model }

var (
	once    sync.Once
	shared  *Embedder
	loadErr error
	missing bool
)

// UseLite returns the shared USE-Lite embedder (CPU). It stays loaded for
// the life of the test binary.
func UseLite(t testing.TB) *Embedder {
	t.Helper()
	once.Do(load)
	if loadErr != nil {
		if missing && os.Getenv("CI") != "true" {
			t.Skip(loadErr.Error())
		}
		t.Fatal(loadErr)
	}
	return shared
}

func load() {
	root, err := classifiertest.RepoRoot()
	if err != nil {
		loadErr = err
		return
	}
	lib := os.Getenv(ortrt.EnvLibrary)
	if lib == "" {
		lib = filepath.Join(root, ".cache", "onnxruntime", "libonnxruntime.so.1")
	}
	dir := filepath.Join(root, ".cache", "models", "use-lite")
	for _, need := range []struct{ path, what string }{{lib, "ONNX Runtime library"}, {filepath.Join(dir, ".stamp"), "model use-lite"}} {
		if _, err := os.Stat(need.path); err != nil {
			missing = true
			loadErr = fmt.Errorf("%s is missing (%s): run `make setup`", need.what, need.path)
			return
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := ortrt.Open(log, lib)
	if err != nil {
		loadErr = fmt.Errorf("open onnxruntime: %w", err)
		return
	}
	m, err := embedding.Load(context.Background(), log, rt, embedding.Config{Dir: dir, Device: ortrt.DeviceCPU})
	if err != nil {
		loadErr = fmt.Errorf("load use-lite: %w", err)
		return
	}
	shared = &Embedder{m: m}
}
