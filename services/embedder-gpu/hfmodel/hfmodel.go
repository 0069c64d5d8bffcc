// Package hfmodel runs a HuggingFace sentence-transformers encoder exported
// to ONNX: a folder holding
//
//	model.onnx (or onnx/model.onnx)   inputs input_ids, attention_mask[, token_type_ids]
//	                                  output last_hidden_state / token_embeddings [B,T,H]
//	                                  or a pooled sentence_embedding [B,H]
//	tokenizer.json                    a WordPiece (BERT, MiniLM, ...), Unigram
//	                                  (SentencePiece-style) or WordLevel tokenizer
//	1_Pooling/config.json             pooling_mode_cls_token / pooling_mode_mean_tokens /
//	                                  pooling_mode_max_tokens (default: mean)
//	modules.json                      the module list (Normalize is noted)
//	sentence_bert_config.json         max_seq_length (else tokenizer.json truncation, else 512)
//
// Vectors are always L2-normalised (the embedder's contract; cosine
// similarity is unchanged by it).
package hfmodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/hftokenizer"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/wordpiece"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

// Pooling modes.
const (
	PoolMean = "mean"
	PoolCLS  = "cls"
	PoolMax  = "max"
)

// DefaultMaxTokens is the sequence limit when the folder names none.
const DefaultMaxTokens = 512

// ErrNotAModelFolder is returned by Load for a folder without model.onnx and
// tokenizer.json.
var ErrNotAModelFolder = errors.New("not a sentence-transformers ONNX folder (model.onnx + tokenizer.json)")

// IsModelDir reports whether dir looks like a sentence-transformers ONNX folder.
func IsModelDir(dir string) bool {
	_, err := modelPath(dir)
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, "tokenizer.json"))
	return err == nil
}

func modelPath(dir string) (string, error) {
	for _, p := range []string{filepath.Join(dir, "model.onnx"), filepath.Join(dir, "onnx", "model.onnx")} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNotAModelFolder
}

// Model is a loaded encoder, safe for concurrent use.
type Model struct {
	name      string
	dims      int // after Config.Dims truncation
	hidden    int
	maxTokens int
	maxBatch  int
	pooling   string
	pooled    bool // the graph already pools (output [B,H])
	typeIDs   bool // the graph takes token_type_ids
	tok       textTokenizer
	head      int // special ids the tokenizer puts before the text
	tail      int // and after it
	logger    *slog.Logger

	mu      sync.RWMutex
	session *ortrt.Session
}

var _ embedding.Embedder = (*Model)(nil)

// textTokenizer is what a Model needs from a tokenizer.json reader.
type textTokenizer interface {
	Encode(text string, addSpecial bool) []int32
	MaxLength() int
	Specials() (head, tail int)
}

var (
	_ textTokenizer = (*wordpiece.Tokenizer)(nil)
	_ textTokenizer = (*hftokenizer.Tokenizer)(nil)
)

// loadTokenizer reads tokenizer.json with the reader for its model type:
// Unigram (also an untyped list vocabulary) and WordLevel with package
// hftokenizer, anything else with package wordpiece (which refuses what is
// not WordPiece, naming the type).
func loadTokenizer(path string) (textTokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tokenizer: %w", err)
	}
	typ, err := hftokenizer.ModelTypeOf(data)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %q: %w", path, err)
	}
	var tok textTokenizer
	switch typ {
	case hftokenizer.ModelUnigram, hftokenizer.ModelWordLevel:
		tok, err = hftokenizer.Parse(data)
	default:
		tok, err = wordpiece.Parse(data)
	}
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %q: %w", path, err)
	}
	return tok, nil
}

// Config is embedding.Config plus the served name.
type Config struct {
	embedding.Config
	// Name is the served model name (default: the folder's base name).
	Name string
}

type poolingJSON struct {
	CLS  bool `json:"pooling_mode_cls_token"`
	Mean bool `json:"pooling_mode_mean_tokens"`
	Max  bool `json:"pooling_mode_max_tokens"`
}

// Load opens the encoder in cfg.Dir on rt.
func Load(ctx context.Context, logger *slog.Logger, rt *ortrt.Runtime, cfg Config) (*Model, error) {
	dir := cfg.Dir
	name := cfg.Name
	if name == "" {
		name = filepath.Base(filepath.Clean(dir))
	}
	fail := func(err error) (*Model, error) { return nil, fmt.Errorf("load model %q from %s: %w", name, dir, err) }
	onnxPath, err := modelPath(dir)
	if err != nil {
		return fail(err)
	}
	tok, err := loadTokenizer(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return fail(err)
	}
	m := &Model{name: name, tok: tok, pooling: PoolMean, maxBatch: cfg.MaxBatch, logger: logger}
	m.head, m.tail = tok.Specials()
	if m.maxBatch <= 0 {
		m.maxBatch = embedding.DefaultMaxBatch
	}
	var pool poolingJSON
	if ok, err := readJSON(filepath.Join(dir, "1_Pooling", "config.json"), &pool); err != nil {
		return fail(err)
	} else if ok {
		switch {
		case pool.CLS:
			m.pooling = PoolCLS
		case pool.Max:
			m.pooling = PoolMax
		case pool.Mean:
			m.pooling = PoolMean
		default:
			return fail(errors.New("1_Pooling/config.json: no supported pooling mode (cls, mean, max) is enabled"))
		}
	}
	var st struct {
		MaxSeqLength int `json:"max_seq_length"`
	}
	if _, err := readJSON(filepath.Join(dir, "sentence_bert_config.json"), &st); err != nil {
		return fail(err)
	}
	switch {
	case st.MaxSeqLength > 0:
		m.maxTokens = st.MaxSeqLength
	case tok.MaxLength() > 0:
		m.maxTokens = tok.MaxLength()
	default:
		m.maxTokens = DefaultMaxTokens
	}
	var modules []struct {
		Type string `json:"type"`
	}
	normalize := false
	if _, err := readJSON(filepath.Join(dir, "modules.json"), &modules); err != nil {
		return fail(err)
	}
	for _, mod := range modules {
		normalize = normalize || strings.HasSuffix(mod.Type, ".Normalize")
	}

	inputs, outputs, err := ort.GetInputOutputInfo(onnxPath)
	if err != nil {
		return fail(fmt.Errorf("read model inputs and outputs: %w", err))
	}
	var inNames []string
	for _, in := range inputs {
		inNames = append(inNames, in.Name)
	}
	for _, want := range []string{"input_ids", "attention_mask"} {
		if !slices.Contains(inNames, want) {
			return fail(fmt.Errorf("model inputs %v: %q is missing", inNames, want))
		}
	}
	m.typeIDs = slices.Contains(inNames, "token_type_ids")
	if len(inNames) != 2+btoi(m.typeIDs) {
		return fail(fmt.Errorf("model inputs %v: want input_ids, attention_mask[, token_type_ids]", inNames))
	}
	out, err := pickOutput(outputs)
	if err != nil {
		return fail(err)
	}
	dimsShape := out.Dimensions
	m.pooled = len(dimsShape) == 2
	m.hidden = int(dimsShape[len(dimsShape)-1])
	if m.hidden <= 0 {
		return fail(fmt.Errorf("output %q has no fixed width (shape %v)", out.Name, dimsShape))
	}
	m.dims = m.hidden
	if cfg.Dims < 0 {
		return fail(fmt.Errorf("dims %d must not be negative", cfg.Dims))
	}
	if cfg.Dims > 0 && cfg.Dims < m.hidden {
		m.dims = cfg.Dims
	}
	inOrder := []string{"input_ids", "attention_mask"}
	if m.typeIDs {
		inOrder = append(inOrder, "token_type_ids")
	}
	s, err := rt.NewSession(ctx, onnxPath, inOrder, []string{out.Name}, ortrt.SessionConfig{
		Device: cfg.Device, CUDADeviceID: cfg.CUDADeviceID, IntraOpThreads: cfg.IntraOpThreads,
	})
	if err != nil {
		return fail(err)
	}
	m.session = s
	logger.Info("embedding model loaded", slog.String("model", name), slog.String("kind", "sentence-transformers"),
		slog.String("pooling", m.pooling), slog.Bool("normalize_module", normalize), slog.Int("dims", m.dims),
		slog.Int("max_tokens", m.maxTokens), slog.String("provider", s.Provider()))
	return m, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func pickOutput(outputs []ort.InputOutputInfo) (ort.InputOutputInfo, error) {
	for _, want := range []string{"sentence_embedding", "last_hidden_state", "token_embeddings"} {
		for _, o := range outputs {
			if o.Name == want {
				return o, nil
			}
		}
	}
	if len(outputs) > 0 && (len(outputs[0].Dimensions) == 2 || len(outputs[0].Dimensions) == 3) {
		return outputs[0], nil
	}
	return ort.InputOutputInfo{}, errors.New("no output of shape [batch, tokens, hidden] or [batch, hidden]")
}

// readJSON decodes path into v; a missing file is not an error (false).
func readJSON(path string, v any) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", path, err)
	}
	return true, nil
}

// Name implements embedding.Embedder.
func (m *Model) Name() string { return m.name }

// Dims implements embedding.Embedder.
func (m *Model) Dims() int { return m.dims }

// MaxTokens implements embedding.Embedder (special tokens included).
func (m *Model) MaxTokens() int { return m.maxTokens }

// Pooling is the pooling mode read from the folder.
func (m *Model) Pooling() string { return m.pooling }

// Provider is the execution provider ("" after Close).
func (m *Model) Provider() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return ""
	}
	return m.session.Provider()
}

// Close frees the session.
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

// Embed implements embedding.Embedder.
func (m *Model) Embed(ctx context.Context, texts []string) ([][]float32, embedding.Info, error) {
	return m.EmbedLimit(ctx, texts, m.maxTokens)
}

// EmbedLimit is Embed reading at most maxTokens tokens per text (special
// tokens included).
func (m *Model) EmbedLimit(ctx context.Context, texts []string, maxTokens int) ([][]float32, embedding.Info, error) {
	if maxTokens <= 0 || maxTokens > m.maxTokens {
		maxTokens = m.maxTokens
	}
	maxTokens = max(maxTokens, 2)
	info := embedding.Info{Model: m.name, Tokens: make([]int, len(texts)), Truncated: make([]bool, len(texts))}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return nil, info, embedding.ErrClosed
	}
	info.Provider = m.session.Provider()
	out := make([][]float32, len(texts))
	backing := make([]float32, len(texts)*m.hidden)
	for start := 0; start < len(texts); start += m.maxBatch {
		if err := ctx.Err(); err != nil {
			return nil, info, fmt.Errorf("embed: %w", err)
		}
		end := min(start+m.maxBatch, len(texts))
		if err := m.runBatch(texts[start:end], backing[start*m.hidden:end*m.hidden], &info, start, maxTokens); err != nil {
			return nil, info, fmt.Errorf("embed with %q: %w", m.name, err)
		}
		for i := start; i < end; i++ {
			out[i] = backing[i*m.hidden : (i+1)*m.hidden : (i+1)*m.hidden]
		}
	}
	embedding.Truncate(out, m.dims)
	return out, info, nil
}

// maxRunesPerToken bounds the text tokenized per token read (see embedding).
const maxRunesPerToken = 32

func (m *Model) runBatch(texts []string, dst []float32, info *embedding.Info, offset, maxTokens int) error {
	rows := len(texts)
	encoded := make([][]int32, rows)
	longest := 1
	for i, text := range texts {
		if r := []rune(text); len(r) > maxTokens*maxRunesPerToken {
			text = string(r[:maxTokens*maxRunesPerToken])
			info.Truncated[offset+i] = true
		}
		ids := m.tok.Encode(text, true)
		if len(ids) > maxTokens {
			// Keep the leading specials, cut the text, keep the trailing
			// specials ([SEP], </s>, ...).
			tail := min(m.tail, len(ids), max(maxTokens-m.head, 0))
			ids = append(ids[:maxTokens-tail], ids[len(ids)-tail:]...)
			info.Truncated[offset+i] = true
		}
		encoded[i] = ids
		info.Tokens[offset+i] = len(ids)
		longest = max(longest, len(ids))
	}
	ids := make([]int64, rows*longest)
	mask := make([]int64, rows*longest)
	for i, row := range encoded {
		for k, id := range row {
			ids[i*longest+k] = int64(id)
			mask[i*longest+k] = 1
		}
	}
	shape := ort.NewShape(int64(rows), int64(longest))
	idsT, err := ort.NewTensor(shape, ids)
	if err != nil {
		return fmt.Errorf("create ids tensor: %w", err)
	}
	defer idsT.Destroy()
	maskT, err := ort.NewTensor(shape, mask)
	if err != nil {
		return fmt.Errorf("create mask tensor: %w", err)
	}
	defer maskT.Destroy()
	in := []ort.Value{idsT, maskT}
	if m.typeIDs {
		typesT, err := ort.NewTensor(shape, make([]int64, rows*longest))
		if err != nil {
			return fmt.Errorf("create token type tensor: %w", err)
		}
		defer typesT.Destroy()
		in = append(in, typesT)
	}
	if m.pooled {
		outT, err := ort.NewTensor(ort.NewShape(int64(rows), int64(m.hidden)), dst)
		if err != nil {
			return fmt.Errorf("create output tensor: %w", err)
		}
		defer outT.Destroy()
		return m.session.Run(in, []ort.Value{outT})
	}
	hidden := make([]float32, rows*longest*m.hidden)
	outT, err := ort.NewTensor(ort.NewShape(int64(rows), int64(longest), int64(m.hidden)), hidden)
	if err != nil {
		return fmt.Errorf("create output tensor: %w", err)
	}
	defer outT.Destroy()
	if err := m.session.Run(in, []ort.Value{outT}); err != nil {
		return err
	}
	for i, row := range encoded {
		pool(dst[i*m.hidden:(i+1)*m.hidden], hidden[i*longest*m.hidden:(i+1)*longest*m.hidden], len(row), m.hidden, m.pooling)
	}
	return nil
}

// pool reduces the first n token vectors of states (tokens × width) into dst.
func pool(dst, states []float32, n, width int, mode string) {
	switch mode {
	case PoolCLS:
		copy(dst, states[:width])
	case PoolMax:
		copy(dst, states[:width])
		for t := 1; t < n; t++ {
			for k, x := range states[t*width : (t+1)*width] {
				dst[k] = max(dst[k], x)
			}
		}
	default:
		clear(dst)
		for t := 0; t < n; t++ {
			for k, x := range states[t*width : (t+1)*width] {
				dst[k] += x
			}
		}
		inv := 1 / float32(max(n, 1))
		for k := range dst {
			dst[k] *= inv
		}
	}
}
