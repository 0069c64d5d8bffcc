// Package embedding runs the embedder's models: it tokenizes texts, batches
// them (padding to the longest item), evaluates the ONNX model with ONNX
// Runtime and returns L2-normalised vectors, optionally truncated to fewer
// dimensions.
//
// A model is a folder built by scripts/setup-models.sh (tools/models) holding
// model.onnx, a vocabulary and meta.json. Two kinds exist:
//
//   - "use-lite": Universal Sentence Encoder Lite (512-d), SentencePiece
//     unigram tokens, converted from its TF.js graph;
//   - "glove-sif": GloVe 100-d word vectors pooled with SIF weights (fast tier).
package embedding

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/sentencepiece"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/words"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

// Embedder turns texts into vectors.
type Embedder interface {
	// Embed returns one vector per text (same order) and what happened.
	Embed(ctx context.Context, texts []string) ([][]float32, Info, error)
	// Dims is the length of the returned vectors.
	Dims() int
	// Name is the model name.
	Name() string
	// MaxTokens is the number of tokens per text the model reads; the rest
	// of a longer text is cut (reported in Info.Truncated).
	MaxTokens() int
}

var _ Embedder = (*Model)(nil)

// Info describes one Embed call.
type Info struct {
	Model    string
	Provider string // execution provider: "cpu" or "cuda"
	// Tokens is the number of tokens each text contributed (after truncation).
	Tokens []int
	// Truncated reports, per text, that tokens beyond MaxTokens were dropped.
	Truncated []bool
}

// DefaultMaxBatch is the number of texts per model run when Config.MaxBatch is 0.
const DefaultMaxBatch = 32

// ErrClosed is returned by Embed after Close.
var ErrClosed = errors.New("embedding model closed")

// Config selects and tunes a model.
type Config struct {
	// Dir is the model folder (holds meta.json, model.onnx, the vocabulary).
	Dir string
	// Device picks the execution provider (auto, cpu, cuda); default auto.
	Device ortrt.Device
	// CUDADeviceID is the GPU ordinal for the CUDA provider.
	CUDADeviceID int
	// IntraOpThreads bounds ONNX Runtime's threads per run (0: its default).
	IntraOpThreads int
	// MaxBatch is the number of texts per model run; longer inputs are split.
	MaxBatch int
	// Dims, when between 1 and the model's width, truncates every vector to
	// that many components and re-normalises it.
	Dims int
}

// Model is a loaded embedding model, safe for concurrent use.
type Model struct {
	mu       sync.RWMutex // Embed holds it shared, Close exclusively
	meta     meta
	dims     int
	maxBatch int
	session  *ortrt.Session
	tok      tokenizer
	logger   *slog.Logger
}

// tokenizer turns one text into model ids (and, for SIF models, weights).
type tokenizer interface {
	encode(ids []int32, weights []float32, text string) ([]int32, []float32)
}

type spTokenizer struct{ t *sentencepiece.Tokenizer }

func (s spTokenizer) encode(ids []int32, weights []float32, text string) ([]int32, []float32) {
	return s.t.AppendEncode(ids, text), weights
}

type wordTokenizer struct{ v *words.Vocabulary }

func (w wordTokenizer) encode(ids []int32, weights []float32, text string) ([]int32, []float32) {
	return w.v.AppendEncode(ids, weights, text)
}

// Load opens the model in cfg.Dir on rt.
func Load(ctx context.Context, logger *slog.Logger, rt *ortrt.Runtime, cfg Config) (*Model, error) {
	m, err := readMeta(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("load model %q: %w", cfg.Dir, err)
	}
	model := &Model{meta: m, dims: m.Dims, maxBatch: cfg.MaxBatch, logger: logger}
	if model.maxBatch <= 0 {
		model.maxBatch = DefaultMaxBatch
	}
	if cfg.Dims < 0 {
		return nil, fmt.Errorf("load model %q: dims %d must not be negative", m.Name, cfg.Dims)
	}
	if cfg.Dims > 0 && cfg.Dims < m.Dims {
		model.dims = cfg.Dims
	}
	vocabPath := filepath.Join(cfg.Dir, m.Vocab)
	switch m.Kind {
	case KindUSELite:
		reserved := m.ReservedPieces
		if reserved == 0 {
			reserved = sentencepiece.DefaultReservedPieces
		}
		t, err := sentencepiece.LoadFile(vocabPath, reserved)
		if err != nil {
			return nil, fmt.Errorf("load model %q: %w", m.Name, err)
		}
		model.tok = spTokenizer{t}
	case KindGloveSIF:
		v, err := words.LoadFile(vocabPath)
		if err != nil {
			return nil, fmt.Errorf("load model %q: %w", m.Name, err)
		}
		model.tok = wordTokenizer{v}
	}
	s, err := rt.NewSession(ctx, filepath.Join(cfg.Dir, "model.onnx"), m.Inputs, []string{m.Output}, ortrt.SessionConfig{
		Device:         cfg.Device,
		CUDADeviceID:   cfg.CUDADeviceID,
		IntraOpThreads: cfg.IntraOpThreads,
	})
	if err != nil {
		return nil, fmt.Errorf("load model %q: %w", m.Name, err)
	}
	model.session = s
	logger.Info("embedding model loaded", slog.String("model", m.Name), slog.String("kind", m.Kind),
		slog.Int("dims", model.dims), slog.Int("max_tokens", m.MaxTokens), slog.String("provider", s.Provider()))
	return model, nil
}

// Name is the model name from meta.json.
func (m *Model) Name() string { return m.meta.Name }

// Dims is the length of the returned vectors (after Config.Dims truncation).
func (m *Model) Dims() int { return m.dims }

// NativeDims is the model's own output width.
func (m *Model) NativeDims() int { return m.meta.Dims }

// MaxTokens is the number of tokens per text the model reads.
func (m *Model) MaxTokens() int { return m.meta.MaxTokens }

// Provider is the execution provider the model runs on ("" after Close).
func (m *Model) Provider() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return ""
	}
	return m.session.Provider()
}

// Close frees the ONNX Runtime session.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.session == nil {
		return nil
	}
	err := m.session.Close()
	m.session = nil
	return err
}

// Embed implements Embedder.
func (m *Model) Embed(ctx context.Context, texts []string) ([][]float32, Info, error) {
	return m.embed(ctx, texts, m.meta.MaxTokens)
}

// EmbedLimit is Embed reading at most maxTokens tokens per text (the model's
// MaxTokens when maxTokens is not between 1 and it); cut texts are reported
// in Info.Truncated.
func (m *Model) EmbedLimit(ctx context.Context, texts []string, maxTokens int) ([][]float32, Info, error) {
	if maxTokens <= 0 || maxTokens > m.meta.MaxTokens {
		maxTokens = m.meta.MaxTokens
	}
	return m.embed(ctx, texts, maxTokens)
}

func (m *Model) embed(ctx context.Context, texts []string, maxTokens int) ([][]float32, Info, error) {
	info := Info{Model: m.meta.Name, Tokens: make([]int, len(texts)), Truncated: make([]bool, len(texts))}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return nil, info, ErrClosed
	}
	info.Provider = m.session.Provider()
	out := make([][]float32, len(texts))
	// One backing array for all vectors of the call.
	backing := make([]float32, len(texts)*m.meta.Dims)
	for start := 0; start < len(texts); start += m.maxBatch {
		if err := ctx.Err(); err != nil {
			return nil, info, fmt.Errorf("embed: %w", err)
		}
		end := min(start+m.maxBatch, len(texts))
		if err := m.runBatch(texts[start:end], backing[start*m.meta.Dims:end*m.meta.Dims], &info, start, maxTokens); err != nil {
			return nil, info, fmt.Errorf("embed with %q: %w", m.meta.Name, err)
		}
		for i := start; i < end; i++ {
			out[i] = backing[i*m.meta.Dims : (i+1)*m.meta.Dims : (i+1)*m.meta.Dims]
		}
	}
	if m.dims < m.meta.Dims {
		Truncate(out, m.dims)
	}
	return out, info, nil
}

// runesPerToken bounds the text tokenized per token the model reads: a text
// longer than MaxTokens*runesPerToken code points is cut first, so a huge
// input costs no more than a long one. Real tokens are a few characters, so
// the first MaxTokens tokens of ordinary text are unaffected.
const runesPerToken = 32

// cutText returns the first n code points of s and true when s is longer.
func cutText(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	count := 0
	for i := range s {
		if count == n {
			return s[:i], true
		}
		count++
	}
	return s, false
}

// runBatch tokenizes texts, pads them to the longest, runs the model and
// writes the vectors into dst (len(texts) * native dims).
func (m *Model) runBatch(texts []string, dst []float32, info *Info, offset, maxTokens int) error {
	var (
		ids     []int32
		weights []float32
		bounds  = make([]int, len(texts)+1)
		longest = 1
	)
	for i, text := range texts {
		if cut, ok := cutText(text, maxTokens*runesPerToken); ok {
			text = cut
			info.Truncated[offset+i] = true
		}
		before := len(ids)
		ids, weights = m.tok.encode(ids, weights, text)
		if n := len(ids) - before; n > maxTokens {
			ids = ids[:before+maxTokens]
			if weights != nil {
				weights = weights[:before+maxTokens]
			}
			info.Truncated[offset+i] = true
		}
		n := len(ids) - before
		info.Tokens[offset+i] = n
		bounds[i+1] = len(ids)
		longest = max(longest, n)
	}
	rows := len(texts)
	padded := make([]int64, rows*longest)
	for i := 0; i < rows; i++ {
		for k, id := range ids[bounds[i]:bounds[i+1]] {
			padded[i*longest+k] = int64(id)
		}
	}
	idsT, err := ort.NewTensor(ort.NewShape(int64(rows), int64(longest)), padded)
	if err != nil {
		return fmt.Errorf("create ids tensor: %w", err)
	}
	defer idsT.Destroy()
	var second ort.Value
	switch m.meta.Kind {
	case KindUSELite:
		lengths := make([]int64, rows)
		for i := range lengths {
			lengths[i] = int64(bounds[i+1] - bounds[i])
		}
		t, err := ort.NewTensor(ort.NewShape(int64(rows)), lengths)
		if err != nil {
			return fmt.Errorf("create lengths tensor: %w", err)
		}
		defer t.Destroy()
		second = t
	default:
		w := make([]float32, rows*longest)
		for i := 0; i < rows; i++ {
			copy(w[i*longest:], weights[bounds[i]:bounds[i+1]])
		}
		t, err := ort.NewTensor(ort.NewShape(int64(rows), int64(longest)), w)
		if err != nil {
			return fmt.Errorf("create weights tensor: %w", err)
		}
		defer t.Destroy()
		second = t
	}
	outT, err := ort.NewTensor(ort.NewShape(int64(rows), int64(m.meta.Dims)), dst)
	if err != nil {
		return fmt.Errorf("create output tensor: %w", err)
	}
	defer outT.Destroy()
	if err := m.session.Run([]ort.Value{idsT, second}, []ort.Value{outT}); err != nil {
		return err
	}
	return nil
}
