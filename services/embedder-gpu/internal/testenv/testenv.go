// Package testenv finds what `make setup` installs (ONNX Runtime, built
// models, npm packages, node) for tests, and decides what a missing piece
// means: with CI=true the test fails, otherwise it is skipped with the reason.
package testenv

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// RepoRoot walks up from the working directory to the directory holding go.work.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("get working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.work above the working directory")
		}
		dir = parent
	}
}

// Missing fails the test under CI=true and skips it otherwise.
func Missing(t testing.TB, what string) {
	t.Helper()
	msg := what + " is missing: run `make setup` (scripts/setup-ort.sh, scripts/setup-models.sh)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RequireFile returns path when it exists, else reports it Missing.
func RequireFile(t testing.TB, path, what string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, what+" ("+path+")")
	}
	return path
}

// ModelDir is the built model folder .cache/models/<name>.
func ModelDir(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), ".cache", "models", name)
	RequireFile(t, filepath.Join(dir, ".stamp"), "model "+name)
	return dir
}

// ORTLibrary is the ONNX Runtime shared library (SEMROUTER_ORT_LIB or the cache).
func ORTLibrary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SEMROUTER_ORT_LIB"); p != "" {
		return RequireFile(t, p, "ONNX Runtime library")
	}
	return RequireFile(t, filepath.Join(RepoRoot(t), ".cache", "onnxruntime", "libonnxruntime.so.1"), "ONNX Runtime library")
}

// Node returns the node binary and the NODE_PATH holding the USE-Lite
// reference packages installed by scripts/setup-models.sh.
func Node(t testing.TB) (bin, nodePath string) {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		Missing(t, "node")
	}
	nodePath = filepath.Join(RepoRoot(t), ".cache", "npm", "js-reference", "node_modules")
	RequireFile(t, filepath.Join(nodePath, "@energetic-ai", "embeddings", "package.json"), "npm package @energetic-ai/embeddings")
	return bin, nodePath
}

// Sentences reads services/embedder-gpu/testdata/sentences.txt: one text per
// line, '#' lines skipped, Go escapes (\t, \n, \u00a0) decoded.
func Sentences(t testing.TB) []string {
	t.Helper()
	path := filepath.Join(RepoRoot(t), "services", "embedder-gpu", "testdata", "sentences.txt")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read sentences: %v", err)
	}
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := strconv.Unquote(`"` + strings.ReplaceAll(line, `"`, `\"`) + `"`)
		if err != nil {
			t.Fatalf("sentences.txt line %d: %v", i+1, err)
		}
		out = append(out, s)
	}
	return out
}

// RunNode runs a script from services/embedder-gpu/testdata/js with the
// reference npm packages on NODE_PATH, sending input as JSON on stdin and
// decoding the JSON it prints into out.
func RunNode(t testing.TB, script string, input, out any) {
	t.Helper()
	StartNode(t, script, input, out)()
}

// StartNode starts RunNode's work in the background and returns the function
// that waits for it (call it from the test goroutine).
func StartNode(t testing.TB, script string, input, out any) (wait func()) {
	t.Helper()
	bin, nodePath := Node(t)
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatalf("encode node input: %v", err)
	}
	path := filepath.Join(RepoRoot(t), "services", "embedder-gpu", "testdata", "js", script)
	cmd := exec.Command(bin, path)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", script, err)
	}
	return func() {
		t.Helper()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("run node %s: %v\n%s", script, err, stderr.String())
		}
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			t.Fatalf("decode node %s output: %v", script, err)
		}
	}
}

// RandomTexts generates a deterministic mix of words, numbers, punctuation,
// whitespace and code points from many scripts (astral and combining ones too).
func RandomTexts(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 11))
	words := []string{"the", "install", "router", "Model", "GPU", "don't", "naïve", "straße", "日本", "мир", "🙂", "e\u0301", "ﬁ", "Ⅻ", "①", "１２", "x86_64", "C++", "a.b", "--", "...", "\u00a0", "\t", "\n", "  "}
	ranges := [][2]rune{{0x20, 0x7e}, {0xa0, 0x24f}, {0x300, 0x36f}, {0x370, 0x3ff}, {0x400, 0x4ff}, {0x590, 0x6ff}, {0x900, 0x97f}, {0x3040, 0x30ff}, {0x4e00, 0x4fff}, {0xac00, 0xacff}, {0xff00, 0xffef}, {0x1f300, 0x1f6ff}, {0x1d400, 0x1d7ff}}
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		var b strings.Builder
		parts := 1 + r.IntN(12)
		for p := 0; p < parts; p++ {
			if r.IntN(3) == 0 {
				rg := ranges[r.IntN(len(ranges))]
				for k := 0; k < 1+r.IntN(4); k++ {
					b.WriteRune(rg[0] + rune(r.IntN(int(rg[1]-rg[0]+1))))
				}
			} else {
				b.WriteString(words[r.IntN(len(words))])
			}
			if r.IntN(4) != 0 {
				b.WriteByte(' ')
			}
		}
		out = append(out, b.String())
	}
	return out
}
