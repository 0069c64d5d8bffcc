// Package embedtest gives tests the real USE-Lite embedder (ONNX Runtime
// with the weights `make setup` builds under .cache/models/use-lite) behind
// the gateway's Embedder shape. A missing runtime or model fails the test
// under CI=true and skips it otherwise.
package embedtest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

// Embedder is a loaded model. It counts calls and embedded texts so that
// tests can see what a cache saved.
type Embedder struct {
	m     *embedding.Model
	calls atomic.Int64
	texts atomic.Int64
}

// Embed returns one L2-normalised vector per text.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.calls.Add(1)
	e.texts.Add(int64(len(texts)))
	v, _, err := e.m.Embed(ctx, texts)
	return v, err
}

// Calls is the number of Embed calls so far.
func (e *Embedder) Calls() int64 { return e.calls.Load() }

// Texts is the number of texts embedded so far.
func (e *Embedder) Texts() int64 { return e.texts.Load() }

// UseLite loads USE-Lite on the CPU for the duration of the test.
func UseLite(t testing.TB) *Embedder {
	t.Helper()
	root := repoRoot(t)
	lib := os.Getenv(ortrt.EnvLibrary)
	if lib == "" {
		lib = filepath.Join(root, ".cache", "onnxruntime", "libonnxruntime.so.1")
	}
	require(t, lib, "ONNX Runtime library")
	dir := filepath.Join(root, ".cache", "models", "use-lite")
	require(t, filepath.Join(dir, ".stamp"), "model use-lite")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rt, err := ortrt.Open(log, lib)
	if err != nil {
		t.Fatalf("open onnxruntime: %v", err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	m, err := embedding.Load(context.Background(), log, rt, embedding.Config{Dir: dir, Device: ortrt.DeviceCPU})
	if err != nil {
		t.Fatalf("load use-lite: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return &Embedder{m: m}
}

// repoRoot walks up from the working directory to the directory holding go.work.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the working directory")
		}
		dir = parent
	}
}

func require(t testing.TB, path, what string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		msg := what + " is missing (" + path + "): run `make setup`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}
