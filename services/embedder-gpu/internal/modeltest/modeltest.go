// Package modeltest loads the real built models for tests of the service
// packages (ONNX Runtime on CPU, closed by t.Cleanup).
package modeltest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/testenv"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

// Runtime opens ONNX Runtime (skips, or fails under CI=true, when missing).
func Runtime(t testing.TB) *ortrt.Runtime {
	t.Helper()
	rt, err := ortrt.Open(slog.New(slog.DiscardHandler), testenv.ORTLibrary(t))
	if err != nil {
		t.Fatalf("open onnxruntime: %v", err)
	}
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Errorf("close onnxruntime: %v", err)
		}
	})
	return rt
}

// Load loads the built model name on CPU with cfg (Dir and Device are set here).
func Load(t testing.TB, name string, cfg embedding.Config) *embedding.Model {
	t.Helper()
	rt := Runtime(t)
	cfg.Dir = testenv.ModelDir(t, name)
	cfg.Device = ortrt.DeviceCPU
	m, err := embedding.Load(context.Background(), slog.New(slog.DiscardHandler), rt, cfg)
	if err != nil {
		t.Fatalf("load model %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close model %s: %v", name, err)
		}
	})
	return m
}
