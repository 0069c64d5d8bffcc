package ortrt_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/semrouter/semrouter/services/embedder-gpu/internal/testenv"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

func TestOpenAndSessions(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := ortrt.Open(logger, filepath.Join(t.TempDir(), "missing.so")); err == nil {
		t.Fatal("missing library accepted")
	}
	lib := testenv.ORTLibrary(t)
	a, err := ortrt.Open(logger, lib)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ortrt.Open(logger, lib)
	if err != nil {
		t.Fatalf("second handle: %v", err)
	}
	if _, err := ortrt.Open(logger, lib+".other"); !errors.Is(err, ortrt.ErrLibraryMismatch) {
		t.Fatalf("other library while loaded: %v", err)
	}
	model := filepath.Join(testenv.ModelDir(t, "glove-sif-100d"), "model.onnx")
	inputs, outputs := []string{"input_ids", "weights"}, []string{"embeddings"}
	if _, err := a.NewSession(context.Background(), model, inputs, outputs, ortrt.SessionConfig{Device: "tpu"}); err == nil {
		t.Fatal("unknown device accepted")
	}
	if _, err := a.NewSession(context.Background(), model+".missing", inputs, outputs, ortrt.SessionConfig{Device: ortrt.DeviceCPU}); err == nil {
		t.Fatal("missing model accepted")
	}
	s, err := a.NewSession(context.Background(), model, inputs, outputs, ortrt.SessionConfig{Device: ortrt.DeviceCPU, IntraOpThreads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if s.Provider() != ortrt.ProviderCPU {
		t.Fatalf("provider %q", s.Provider())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second close of the same handle: %v", err)
	}
	// b keeps the environment alive: a new session still works.
	s, err = b.NewSession(context.Background(), model, inputs, outputs, ortrt.SessionConfig{Device: ortrt.DeviceCPU})
	if err != nil {
		t.Fatalf("session after closing another handle: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}
