package embedding_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/testenv"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

func openRuntime(t testing.TB) *ortrt.Runtime {
	t.Helper()
	rt, err := ortrt.Open(slog.New(slog.NewTextHandler(io.Discard, nil)), testenv.ORTLibrary(t))
	if err != nil {
		t.Fatalf("open onnxruntime: %v", err)
	}
	t.Cleanup(func() {
		if err := rt.Close(); err != nil {
			t.Errorf("close runtime: %v", err)
		}
	})
	return rt
}

func loadModel(t testing.TB, name string, cfg embedding.Config) *embedding.Model {
	t.Helper()
	rt := openRuntime(t)
	cfg.Dir = testenv.ModelDir(t, name)
	if cfg.Device == "" {
		cfg.Device = ortrt.DeviceCPU
	}
	m, err := embedding.Load(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), rt, cfg)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close model: %v", err)
		}
	})
	return m
}

// TestUSELiteMatchesReferenceJS is the conversion proof: our Go tokenizer and
// the converted ONNX model against two TF.js references on every sentence of
// testdata/sentences.txt:
//   - "package": the package's own JavaScript end to end (@energetic-ai/embeddings
//     tokenizer and embed(), its TF.js graph on the TF.js runtime bundled in
//     @energetic-ai/core, WASM backend), all sentences in one batch;
//   - "tfjs-cpu": the same graph and weights on pure-JS TF.js (tfjs-core,
//     tfjs-converter, CPU backend), fed one sentence at a time by the
//     package's tokenizer.
func TestUSELiteMatchesReferenceJS(t *testing.T) {
	m := loadModel(t, "use-lite", embedding.Config{})
	texts := testenv.Sentences(t)
	if len(texts) < 50 {
		t.Fatalf("only %d sentences", len(texts))
	}
	type reference struct {
		IDs     [][]int32   `json:"ids"`
		Vectors [][]float32 `json:"vectors"`
	}
	var pkg, cpu reference
	waitPkg := testenv.StartNode(t, "embed.js", map[string]any{"texts": texts}, &pkg)
	waitCPU := testenv.StartNode(t, "embed_tfjs_cpu.js", map[string]any{"texts": texts}, &cpu)
	got, info, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatalf("embed: %v", err)
	}
	waitPkg()
	waitCPU()
	for _, ref := range []struct {
		name string
		ref  reference
	}{{"package", pkg}, {"tfjs-cpu", cpu}} {
		if len(ref.ref.Vectors) != len(texts) || len(ref.ref.IDs) != len(texts) {
			t.Fatalf("%s reference returned %d vectors, %d id lists for %d texts", ref.name, len(ref.ref.Vectors), len(ref.ref.IDs), len(texts))
		}
		minCos, worst := 2.0, ""
		for i, text := range texts {
			if len(got[i]) != 512 || len(ref.ref.Vectors[i]) != 512 {
				t.Fatalf("text %d: %d dims, reference %d", i, len(got[i]), len(ref.ref.Vectors[i]))
			}
			c := embedding.Cosine(got[i], ref.ref.Vectors[i])
			if c < minCos {
				minCos, worst = c, text
			}
			if c < 0.999 {
				t.Errorf("%s: text %q: cosine %.6f with the reference < 0.999", ref.name, text, c)
			}
			if want := min(len(ref.ref.IDs[i]), m.MaxTokens()); info.Tokens[i] != want {
				t.Errorf("%s: text %q: %d tokens, reference has %d", ref.name, text, info.Tokens[i], want)
			}
		}
		t.Logf("%s: min cosine %.9f (1-cos %.1e) over %d sentences (worst: %.40q)", ref.name, minCos, 1-minCos, len(texts), worst)
	}
}

func TestUSELiteBatchingIsInvariant(t *testing.T) {
	m := loadModel(t, "use-lite", embedding.Config{MaxBatch: 4})
	texts := testenv.Sentences(t)[:11]
	batched, _, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		single, _, err := m.Embed(context.Background(), []string{text})
		if err != nil {
			t.Fatal(err)
		}
		if c := embedding.Cosine(single[0], batched[i]); c < 0.99999 {
			t.Errorf("text %q: alone vs batched cosine %.7f", text, c)
		}
	}
}

func TestEmbedEdgeCases(t *testing.T) {
	for _, name := range []string{"use-lite", "glove-sif-100d"} {
		t.Run(name, func(t *testing.T) {
			m := loadModel(t, name, embedding.Config{})
			long := strings.Repeat("installation guide for the router ", 100)
			tests := []struct {
				name      string
				texts     []string
				truncated []bool
			}{
				{name: "no texts", texts: nil, truncated: []bool{}},
				{name: "empty text first", texts: []string{"", "hello world"}, truncated: []bool{false, false}},
				{name: "empty text last", texts: []string{"hello world", ""}, truncated: []bool{false, false}},
				{name: "only empty", texts: []string{"", "   "}, truncated: []bool{false, false}},
				{name: "long text truncated", texts: []string{"short", long}, truncated: []bool{false, true}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					vecs, info, err := m.Embed(context.Background(), tc.texts)
					if err != nil {
						t.Fatalf("embed: %v", err)
					}
					if len(vecs) != len(tc.texts) {
						t.Fatalf("%d vectors for %d texts", len(vecs), len(tc.texts))
					}
					if !slices.Equal(info.Truncated, tc.truncated) {
						t.Fatalf("truncated = %v, want %v", info.Truncated, tc.truncated)
					}
					for i, v := range vecs {
						if len(v) != m.Dims() {
							t.Fatalf("vector %d has %d dims, want %d", i, len(v), m.Dims())
						}
						for _, x := range v {
							if x != x {
								t.Fatalf("vector %d has NaN", i)
							}
						}
						if info.Tokens[i] > m.MaxTokens() {
							t.Fatalf("text %d: %d tokens > max %d", i, info.Tokens[i], m.MaxTokens())
						}
					}
				})
			}
		})
	}
}

func TestSimilarityIsSensible(t *testing.T) {
	cases := []struct {
		query, near, far string
	}{
		{"how do I install this", "installation guide", "billing information"},
		{"I was charged twice on my invoice", "billing information", "installation guide"},
		{"write a python function to sort a list", "programming code help", "medical advice about headaches"},
		{"what medicine helps a headache", "medical advice about headaches", "programming code help"},
	}
	for _, name := range []string{"use-lite", "glove-sif-100d"} {
		t.Run(name, func(t *testing.T) {
			m := loadModel(t, name, embedding.Config{})
			for _, tc := range cases {
				vecs, _, err := m.Embed(context.Background(), []string{tc.query, tc.near, tc.far})
				if err != nil {
					t.Fatal(err)
				}
				near, far := embedding.Cosine(vecs[0], vecs[1]), embedding.Cosine(vecs[0], vecs[2])
				t.Logf("%q: near %.3f far %.3f", tc.query, near, far)
				if near <= far {
					t.Errorf("%q: cosine to %q (%.3f) should exceed cosine to %q (%.3f)", tc.query, tc.near, near, tc.far, far)
				}
			}
		})
	}
}

func TestDimsTruncation(t *testing.T) {
	full := loadModel(t, "use-lite", embedding.Config{})
	small := loadModel(t, "use-lite", embedding.Config{Dims: 128})
	if small.Dims() != 128 || small.NativeDims() != 512 {
		t.Fatalf("dims = %d native %d", small.Dims(), small.NativeDims())
	}
	texts := []string{"how do I install this", "billing information"}
	a, _, err := full.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := small.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range texts {
		if len(b[i]) != 128 {
			t.Fatalf("len = %d", len(b[i]))
		}
		if c := embedding.Cosine(b[i], a[i][:128]); c < 0.99999 {
			t.Fatalf("truncated vector is not the prefix of the full one (cosine %.6f)", c)
		}
		var norm float64
		for _, x := range b[i] {
			norm += float64(x) * float64(x)
		}
		if norm < 0.9999 || norm > 1.0001 {
			t.Fatalf("truncated vector not re-normalised: |v|^2 = %.6f", norm)
		}
	}
}

func TestEmbedHonoursContextAndClose(t *testing.T) {
	m := loadModel(t, "glove-sif-100d", embedding.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := m.Embed(ctx, []string{"hello"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("embed with cancelled context: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.Embed(context.Background(), []string{"hello"}); !errors.Is(err, embedding.ErrClosed) {
		t.Fatalf("embed after close: %v", err)
	}
}

func TestLoadRejectsBadModelFolder(t *testing.T) {
	rt := openRuntime(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, err := embedding.Load(context.Background(), logger, rt, embedding.Config{Dir: t.TempDir()}); err == nil {
		t.Fatal("folder without meta.json accepted")
	}
}

// TestCUDARequestFallsBack asks for CUDA: with a CUDA-enabled ONNX Runtime
// and a GPU the session runs on CUDA, otherwise it must fall back to CPU and
// still produce the same vectors.
func TestCUDARequestFallsBack(t *testing.T) {
	cpu := loadModel(t, "glove-sif-100d", embedding.Config{Device: ortrt.DeviceCPU})
	gpu := loadModel(t, "glove-sif-100d", embedding.Config{Device: ortrt.DeviceCUDA})
	if p := gpu.Provider(); p != ortrt.ProviderCPU && p != ortrt.ProviderCUDA {
		t.Fatalf("provider %q", p)
	}
	texts := []string{"how do I install this", "installation guide"}
	a, _, err := cpu.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	b, info, err := gpu.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if info.Provider != gpu.Provider() {
		t.Fatalf("info provider %q, model provider %q", info.Provider, gpu.Provider())
	}
	for i := range texts {
		if c := embedding.Cosine(a[i], b[i]); c < 0.9999 {
			t.Fatalf("cpu vs %s cosine %.6f", info.Provider, c)
		}
	}
}

func TestConcurrentEmbedMatchesSerial(t *testing.T) {
	for _, name := range []string{"use-lite", "glove-sif-100d"} {
		t.Run(name, func(t *testing.T) {
			m := loadModel(t, name, embedding.Config{MaxBatch: 3})
			texts := testenv.Sentences(t)[:12]
			want, _, err := m.Embed(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 4)
			for g := 0; g < 4; g++ {
				go func() {
					got, _, err := m.Embed(context.Background(), texts)
					if err == nil {
						for i := range texts {
							if c := embedding.Cosine(got[i], want[i]); c < 0.99999 {
								err = fmt.Errorf("text %d: concurrent vs serial cosine %.6f", i, c)
								break
							}
						}
					}
					errs <- err
				}()
			}
			for g := 0; g < 4; g++ {
				if err := <-errs; err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestResolveModelsDir(t *testing.T) {
	env := func(k string) string {
		if k == embedding.EnvModelsDir {
			return "/srv/models"
		}
		return ""
	}
	if got, err := embedding.ResolveModelsDir(env, t.TempDir()); err != nil || got != "/srv/models" {
		t.Fatalf("env override: %q, %v", got, err)
	}
	if _, err := embedding.ResolveModelsDir(func(string) string { return "" }, "/"); err == nil {
		t.Fatal("no go.work above / accepted")
	}
}

func TestLoadReportsAllMetadataProblems(t *testing.T) {
	rt := openRuntime(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(`{"kind":"bert","dims":0,"max_tokens":-1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := embedding.Load(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), rt, embedding.Config{Dir: dir})
	if err == nil {
		t.Fatal("bad metadata accepted")
	}
	for _, want := range []string{"name is empty", "dims 0", "max_tokens -1", "vocab is empty", "output is empty", `kind "bert"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestHugeTextIsCutBeforeTokenizing(t *testing.T) {
	m := loadModel(t, "use-lite", embedding.Config{})
	huge := strings.Repeat("route this request to the cheapest model ", 200000) // 8 MB
	vecs, info, err := m.Embed(context.Background(), []string{huge, "route this request to the cheapest model"})
	if err != nil {
		t.Fatal(err)
	}
	if !info.Truncated[0] || info.Tokens[0] != m.MaxTokens() || info.Truncated[1] {
		t.Fatalf("truncated %v tokens %v", info.Truncated, info.Tokens)
	}
	if c := embedding.Cosine(vecs[0], vecs[1]); c < 0.5 {
		t.Fatalf("repeated sentence far from the sentence: cosine %.3f", c)
	}
}
