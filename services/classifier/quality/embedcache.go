package quality

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Embedder embeds texts with one model (the same contract as the
// classifier's Embedder).
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Model() string
}

// EmbedCache stores the embeddings of dataset texts on disk so a second
// evaluation run does not embed them again. An entry is keyed by the model
// name and the SHA-256 of the exact texts (so a changed data file or text
// preprocessing is a new entry): <Dir>/<model>/<key>.f32.
type EmbedCache struct {
	Dir string // "" disables the cache
	// Chunk is the number of texts per Embed call (default 256); progress
	// is reported after every chunk.
	Chunk int
}

const cacheMagic = "SRQEMB01"

// Key returns the cache key of texts for model.
func (c EmbedCache) Key(model string, texts []string) string {
	h := sha256.New()
	var n [8]byte
	for _, t := range texts {
		binary.LittleEndian.PutUint64(n[:], uint64(len(t)))
		h.Write(n[:])
		io.WriteString(h, t)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func (c EmbedCache) path(model, key string) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, model)
	return filepath.Join(c.Dir, safe, key+".f32")
}

// Embed returns the embeddings of texts, from the cache when present, else
// by calling emb in chunks (reporting progress(done, total) after each) and
// storing the result. cached reports a cache hit.
func (c EmbedCache) Embed(ctx context.Context, emb Embedder, texts []string, progress func(done, total int)) (vecs [][]float32, cached bool, err error) {
	key := c.Key(emb.Model(), texts)
	if c.Dir != "" {
		if v, err := readVectors(c.path(emb.Model(), key), len(texts)); err == nil {
			if progress != nil {
				progress(len(texts), len(texts))
			}
			return v, true, nil
		}
	}
	chunk := c.Chunk
	if chunk <= 0 {
		chunk = 256
	}
	// Embed in order of length so each model batch pads little; put the
	// vectors back in the texts' order.
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(texts[order[a]]) < len(texts[order[b]]) })
	vecs = make([][]float32, len(texts))
	batch := make([]string, 0, chunk)
	for start := 0; start < len(order); start += chunk {
		end := min(start+chunk, len(order))
		batch = batch[:0]
		for _, i := range order[start:end] {
			batch = append(batch, texts[i])
		}
		v, err := emb.Embed(ctx, batch)
		if err != nil {
			return nil, false, fmt.Errorf("embed texts %d-%d: %w", start, end, err)
		}
		if len(v) != end-start {
			return nil, false, fmt.Errorf("embed texts %d-%d: got %d vectors", start, end, len(v))
		}
		for k, i := range order[start:end] {
			vecs[i] = v[k]
		}
		if progress != nil {
			progress(end, len(texts))
		}
	}
	if c.Dir != "" && len(vecs) > 0 {
		if err := writeVectors(c.path(emb.Model(), key), vecs); err != nil {
			return nil, false, err
		}
	}
	return vecs, false, nil
}

// writeVectors stores vectors as: magic, count and dims (uint32 LE), then
// the float32 values (LE). It writes a temporary file and renames it.
func writeVectors(path string, vecs [][]float32) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write embedding cache: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write embedding cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	dims := len(vecs[0])
	w.WriteString(cacheMagic)
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(len(vecs)))
	w.Write(b[:])
	binary.LittleEndian.PutUint32(b[:], uint32(dims))
	w.Write(b[:])
	for i, v := range vecs {
		if len(v) != dims {
			tmp.Close()
			return fmt.Errorf("write embedding cache: vector %d has %d dims, want %d", i, len(v), dims)
		}
		for _, x := range v {
			binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
			w.Write(b[:])
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write embedding cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write embedding cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write embedding cache: %w", err)
	}
	return nil
}

func readVectors(path string, want int) ([][]float32, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < len(cacheMagic)+8 || string(data[:len(cacheMagic)]) != cacheMagic {
		return nil, errors.New("embedding cache: bad header")
	}
	data = data[len(cacheMagic):]
	n := int(binary.LittleEndian.Uint32(data))
	dims := int(binary.LittleEndian.Uint32(data[4:]))
	data = data[8:]
	if n != want || dims <= 0 || len(data) != n*dims*4 {
		return nil, errors.New("embedding cache: size mismatch")
	}
	backing := make([]float32, n*dims)
	for i := range backing {
		backing[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	out := make([][]float32, n)
	for i := range out {
		out[i] = backing[i*dims : (i+1)*dims : (i+1)*dims]
	}
	return out, nil
}
