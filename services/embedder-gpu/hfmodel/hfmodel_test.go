package hfmodel_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/hfmodel"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/hffixture"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/modeltest"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/testenv"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/hftokenizer"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/wordpiece"
)

const hidden = 8

// tinyFolder builds a sentence-transformers folder around a tiny BERT-shaped
// ONNX graph (testdata/tiny_bert.py, real ONNX built at test time) and the
// real all-MiniLM-L6-v2 tokenizer.json.
func tinyFolder(t *testing.T, pooling string, maxSeq int) string {
	t.Helper()
	tokJSON := testenv.RequireFile(t, filepath.Join(testenv.RepoRoot(t), ".cache", "models", "hf-tokenizers", "all-minilm-l6-v2.json"), "MiniLM tokenizer.json")
	data, err := os.ReadFile(tokJSON)
	if err != nil {
		t.Fatal(err)
	}
	return tinyFolderWith(t, "tiny-minilm", data, 30522, pooling, maxSeq)
}

// tinyFolderWith builds the folder around the given tokenizer.json, with an
// embedding table of vocab rows.
func tinyFolderWith(t *testing.T, name string, tokenizerJSON []byte, vocab int, pooling string, maxSeq int) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		testenv.Missing(t, "python3")
	}
	if err := exec.Command(py, "-c", "import onnx, numpy").Run(); err != nil {
		testenv.Missing(t, "python3-onnx")
	}
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(filepath.Join(dir, "1_Pooling"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, filepath.Join("testdata", "tiny_bert.py"), filepath.Join(dir, "model.onnx"), strconv.Itoa(vocab), "8").CombinedOutput()
	if err != nil {
		t.Fatalf("build tiny model: %v\n%s", err, out)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("tokenizer.json", string(tokenizerJSON))
	write("1_Pooling/config.json", `{"word_embedding_dimension": 8, "pooling_mode_cls_token": `+boolJSON(pooling == "cls")+
		`, "pooling_mode_mean_tokens": `+boolJSON(pooling == "mean")+`, "pooling_mode_max_tokens": false}`)
	write("modules.json", `[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
 {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
 {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]`)
	write("sentence_bert_config.json", `{"max_seq_length": `+strconv.Itoa(maxSeq)+`, "do_lower_case": false}`)
	return dir
}

func boolJSON(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// expected computes what the tiny graph plus pooling must give for ids.
func expected(ids []int32, pooling string) []float32 {
	row := func(id int32) []float64 {
		v := make([]float64, hidden)
		for k := range v {
			v[k] = math.Sin(0.01*float64(id+1)*float64(k+1)) + 0.1
		}
		return v
	}
	acc := make([]float64, hidden)
	if pooling == "cls" {
		acc = row(ids[0])
	} else {
		for _, id := range ids {
			for k, x := range row(id) {
				acc[k] += x / float64(len(ids))
			}
		}
	}
	out := make([]float32, hidden)
	for k, x := range acc {
		out[k] = float32(x)
	}
	embedding.Normalize(out)
	return out
}

func TestSentenceTransformersFolder(t *testing.T) {
	tok, err := wordpiece.LoadFile(filepath.Join(testenv.RepoRoot(t), ".cache", "models", "hf-tokenizers", "all-minilm-l6-v2.json"))
	if err != nil {
		testenv.Missing(t, "MiniLM tokenizer.json")
	}
	rt := modeltest.Runtime(t)
	texts := []string{"How do I install this?", "installation guide", "Straße naïve 日本 🙂 billing information for the account"}
	for _, pooling := range []string{"mean", "cls"} {
		t.Run(pooling, func(t *testing.T) {
			dir := tinyFolder(t, pooling, 64)
			if !hfmodel.IsModelDir(dir) {
				t.Fatalf("IsModelDir(%s) = false", dir)
			}
			m, err := hfmodel.Load(context.Background(), slog.New(slog.DiscardHandler), rt, hfmodel.Config{Config: embedding.Config{Dir: dir}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = m.Close() })
			if m.Name() != "tiny-minilm" || m.Dims() != hidden || m.MaxTokens() != 64 || m.Pooling() != pooling || m.Provider() != "cpu" {
				t.Fatalf("name %q dims %d max tokens %d pooling %q provider %q", m.Name(), m.Dims(), m.MaxTokens(), m.Pooling(), m.Provider())
			}
			vecs, info, err := m.Embed(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			for i, text := range texts {
				ids := tok.Encode(text, true)
				if info.Tokens[i] != len(ids) || info.Truncated[i] {
					t.Errorf("text %d: %d tokens (truncated %v), want %d", i, info.Tokens[i], info.Truncated[i], len(ids))
				}
				want := expected(ids, pooling)
				for k := range want {
					if math.Abs(float64(vecs[i][k]-want[k])) > 1e-5 {
						t.Fatalf("text %d (%s pooling): got %v, want %v", i, pooling, vecs[i], want)
					}
				}
			}
		})
	}
	t.Run("truncation keeps [SEP] and reports it", func(t *testing.T) {
		dir := tinyFolder(t, "mean", 6)
		m, err := hfmodel.Load(context.Background(), slog.New(slog.DiscardHandler), rt, hfmodel.Config{Config: embedding.Config{Dir: dir, Dims: 4}, Name: "tiny"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		text := "one two three four five six seven eight"
		vecs, info, err := m.Embed(context.Background(), []string{text, "short"})
		if err != nil {
			t.Fatal(err)
		}
		ids := tok.Encode(text, true)
		cut := append(append([]int32(nil), ids[:5]...), ids[len(ids)-1])
		want := embedding.Truncate([][]float32{expected(cut, "mean")}, 4)[0]
		if !info.Truncated[0] || info.Truncated[1] || info.Tokens[0] != 6 || len(vecs[0]) != 4 {
			t.Fatalf("info %+v, %d dims", info, len(vecs[0]))
		}
		if c := embedding.Cosine(vecs[0], want); c < 0.99999 {
			t.Errorf("cosine to the expected truncated vector %.6f", c)
		}
	})
}

func TestLoadRejectsOtherFolders(t *testing.T) {
	rt := modeltest.Runtime(t)
	_, err := hfmodel.Load(context.Background(), slog.New(slog.DiscardHandler), rt, hfmodel.Config{Config: embedding.Config{Dir: t.TempDir()}})
	if !errors.Is(err, hfmodel.ErrNotAModelFolder) {
		t.Fatalf("empty folder: %v", err)
	}
	if hfmodel.IsModelDir(testenv.ModelDir(t, embedding.ModelUSELite)) {
		t.Errorf("the use-lite folder is not a sentence-transformers folder")
	}
}

// TestUnigramAndWordLevelFolders serves folders whose tokenizer.json has a
// Unigram model (built from the USE-Lite SentencePiece vocabulary) or a
// WordLevel model (built from the GloVe vocabulary): the vectors must be
// what the graph gives for the ids hftokenizer assigns, and truncation keeps
// the trailing special token.
func TestUnigramAndWordLevelFolders(t *testing.T) {
	rt := modeltest.Runtime(t)
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join(testenv.ModelDir(t, name), "vocab.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Close() })
		return f
	}
	unigram, err := hffixture.UnigramFromSentencePiece(open(embedding.ModelUSELite), 6)
	if err != nil {
		t.Fatal(err)
	}
	wordLevel, _, sep, err := hffixture.WordLevelFromWords(open(embedding.ModelGloveSIF100D))
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"How do I install this?", "installation guide", "Straße naïve 日本 🙂 billing information for the account"}
	for _, tc := range []struct {
		name    string
		json    []byte
		vocab   int
		lastID  int32
		pooling string
	}{
		{name: "unigram", json: unigram, vocab: 8000, lastID: 2, pooling: "mean"},
		{name: "wordlevel", json: wordLevel, vocab: int(sep) + 1, lastID: sep, pooling: "cls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := hftokenizer.Parse(tc.json)
			if err != nil {
				t.Fatal(err)
			}
			dir := tinyFolderWith(t, "tiny-"+tc.name, tc.json, tc.vocab, tc.pooling, 6)
			m, err := hfmodel.Load(context.Background(), slog.New(slog.DiscardHandler), rt, hfmodel.Config{Config: embedding.Config{Dir: dir}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = m.Close() })
			vecs, info, err := m.Embed(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			for i, text := range texts {
				ids := tok.Encode(text, true)
				if len(ids) > 6 {
					ids = append(ids[:5:5], ids[len(ids)-1])
				}
				if ids[len(ids)-1] != tc.lastID || info.Tokens[i] != len(ids) || info.Truncated[i] != (len(tok.Encode(text, true)) > 6) {
					t.Fatalf("text %d: ids %v, info tokens %d truncated %v", i, ids, info.Tokens[i], info.Truncated[i])
				}
				want := expected(ids, tc.pooling)
				for k := range want {
					if math.Abs(float64(vecs[i][k]-want[k])) > 1e-5 {
						t.Fatalf("text %d: got %v, want %v", i, vecs[i], want)
					}
				}
			}
			if !info.Truncated[2] {
				t.Errorf("the long text was not truncated: %+v", info)
			}
		})
	}
}
