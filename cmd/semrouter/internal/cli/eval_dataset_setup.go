package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/semrouter/semrouter/services/classifier/domain"
	"github.com/semrouter/semrouter/services/classifier/quality"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

// registerQualityCommands adds `train domain`, `train selection` and
// `eval dataset`.
func registerQualityCommands(r *Registry) {
	r.Register(trainDomainCommand())
	r.Register(trainSelectionCommand())
	r.Register(evalDatasetCommand())
}

// qualityEnv is what the training and evaluation commands share: the
// repository root, the datasets folder, the embedding cache.
type qualityEnv struct {
	root     string // repository root ("" outside a checkout)
	datasets string
	cache    quality.EmbedCache
}

func newQualityEnv(dataFlag string) (*qualityEnv, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root, _ := ortrt.FindRepoRoot(wd)
	q := &qualityEnv{root: root, datasets: dataFlag}
	if q.datasets == "" {
		q.datasets = quality.DatasetsDir(os.Getenv, root)
	}
	if root != "" {
		q.cache.Dir = filepath.Join(root, ".cache", "eval")
	}
	if d := os.Getenv("SEMROUTER_EVAL_CACHE"); d != "" {
		q.cache.Dir = d
	}
	return q, nil
}

// headPath is where the committed head for model lives.
func (q *qualityEnv) headPath(model string) string {
	return filepath.Join(q.root, "services", "classifier", "domain", "heads", model+".json")
}

// loadedModel is an embedding model plus the runtime it runs on.
type loadedModel struct {
	rt *ortrt.Runtime
	m  *embedding.Model
}

func (l *loadedModel) Close() {
	l.m.Close()
	l.rt.Close()
}

// Embed implements quality.Embedder.
func (l *loadedModel) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	v, _, err := l.m.Embed(ctx, texts)
	return v, err
}

// Model implements quality.Embedder.
func (l *loadedModel) Model() string { return l.m.Name() }

var _ quality.Embedder = (*loadedModel)(nil)

// loadModel opens ONNX Runtime and the named model on the CPU or GPU
// (device auto).
func loadModel(ctx context.Context, logger *slog.Logger, name string) (*loadedModel, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	lib, err := ortrt.ResolveLibraryPath(os.Getenv, wd)
	if err != nil {
		return nil, fmt.Errorf("load model %q: %w", name, err)
	}
	rt, err := ortrt.Open(logger, lib)
	if err != nil {
		return nil, fmt.Errorf("load model %q: %w", name, err)
	}
	dir, err := embedding.ResolveModelsDir(os.Getenv, wd)
	if err != nil {
		rt.Close()
		return nil, err
	}
	m, err := embedding.Load(ctx, logger, rt, embedding.Config{Dir: filepath.Join(dir, name), Device: ortrt.DeviceAuto, MaxBatch: 64})
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("load model %q (run make setup): %w", name, err)
	}
	return &loadedModel{rt: rt, m: m}, nil
}

// readHead reads a domain head file.
func readHead(path string) (*domain.Head, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read domain head (train one with 'semrouter train domain'): %w", err)
	}
	defer f.Close()
	h, err := domain.ReadHead(f)
	if err != nil {
		return nil, fmt.Errorf("read domain head %s: %w", path, err)
	}
	return h, nil
}

// categoryIndex maps the domain labels to their indices.
func categoryIndex(labels []string) map[string]int {
	idx := make(map[string]int, len(labels))
	for i, l := range labels {
		idx[l] = i
	}
	return idx
}
