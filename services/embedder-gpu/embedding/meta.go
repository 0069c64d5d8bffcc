package embedding

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

// Model kinds a model folder can hold (meta.json "kind").
const (
	KindUSELite  = "use-lite"  // Universal Sentence Encoder Lite, SentencePiece ids + lengths
	KindGloveSIF = "glove-sif" // static word vectors, SIF-weighted mean
)

// Names of the models scripts/setup-models.sh builds (folders under the
// models folder).
const (
	ModelUSELite      = "use-lite"
	ModelGloveSIF100D = "glove-sif-100d"
)

// EnvModelsDir names the environment variable that overrides the folder
// holding the built models (default: .cache/models under the repository).
const EnvModelsDir = "SEMROUTER_MODELS_DIR"

// meta is the meta.json written by tools/models next to model.onnx.
type meta struct {
	Name           string   `json:"name"`
	Kind           string   `json:"kind"`
	Dims           int      `json:"dims"`
	MaxTokens      int      `json:"max_tokens"`
	Vocab          string   `json:"vocab"`
	ReservedPieces int      `json:"reserved_pieces"`
	Inputs         []string `json:"inputs"`
	Output         string   `json:"output"`
	Lowercase      bool     `json:"lowercase"`
}

func readMeta(dir string) (meta, error) {
	var m meta
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return m, fmt.Errorf("read model metadata: %w", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("decode %s: %w", filepath.Join(dir, "meta.json"), err)
	}
	var errs []error
	if m.Name == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if m.Dims <= 0 {
		errs = append(errs, fmt.Errorf("dims %d must be positive", m.Dims))
	}
	if m.MaxTokens <= 0 {
		errs = append(errs, fmt.Errorf("max_tokens %d must be positive", m.MaxTokens))
	}
	if m.Vocab == "" {
		errs = append(errs, errors.New("vocab is empty"))
	}
	if m.Output == "" {
		errs = append(errs, errors.New("output is empty"))
	}
	switch m.Kind {
	case KindUSELite:
		if !slices.Equal(m.Inputs, []string{"input_ids", "lengths"}) {
			errs = append(errs, fmt.Errorf("inputs %v: want [input_ids lengths]", m.Inputs))
		}
	case KindGloveSIF:
		if !slices.Equal(m.Inputs, []string{"input_ids", "weights"}) {
			errs = append(errs, fmt.Errorf("inputs %v: want [input_ids weights]", m.Inputs))
		}
	default:
		errs = append(errs, fmt.Errorf("kind %q: want %q or %q", m.Kind, KindUSELite, KindGloveSIF))
	}
	if err := errors.Join(errs...); err != nil {
		return m, fmt.Errorf("model metadata %s: %w", filepath.Join(dir, "meta.json"), err)
	}
	return m, nil
}

// ResolveModelsDir picks the folder holding built models: SEMROUTER_MODELS_DIR
// when set, else .cache/models under the first directory above dir holding
// go.work.
func ResolveModelsDir(getenv func(string) string, dir string) (string, error) {
	if p := getenv(EnvModelsDir); p != "" {
		return p, nil
	}
	if root, ok := ortrt.FindRepoRoot(dir); ok {
		return filepath.Join(root, ".cache", "models"), nil
	}
	return "", fmt.Errorf("find models folder: set %s (no go.work above %q)", EnvModelsDir, dir)
}
