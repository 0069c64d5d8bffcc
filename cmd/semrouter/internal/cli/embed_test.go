package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// requireEmbedSetup skips (fails under CI=true) without ONNX Runtime and use-lite.
func requireEmbedSetup(t *testing.T) {
	t.Helper()
	dir, _ := os.Getwd()
	for dir != filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	for _, p := range []string{
		filepath.Join(dir, ".cache", "onnxruntime", "libonnxruntime.so.1"),
		filepath.Join(dir, ".cache", "models", "use-lite", "model.onnx"),
		filepath.Join(dir, ".cache", "models", "glove-sif-100d", "model.onnx"),
	} {
		if _, err := os.Stat(p); err != nil {
			msg := p + " is missing: run `make setup`"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

func runEmbed(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	r := NewRegistry()
	RegisterEmbed(r)
	var out, errOut bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errOut, Logger: discardLogger()}
	err := r.run(context.Background(), env, args)
	return out.String(), errOut.String(), ExitCode(err)
}

func TestEmbedSimilarityRanksTheInstallationGuideFirst(t *testing.T) {
	requireEmbedSetup(t)
	texts := []string{"how do I install this", "installation guide", "billing information"}
	for _, model := range []string{"use-lite", "glove-sif-100d"} {
		t.Run(model, func(t *testing.T) {
			stdout, stderr, code := runEmbed(t, append([]string{"embed", "--model", model, "--similarity"}, texts...)...)
			if code != ExitOK {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			i := strings.Index(stdout, "closest to [1]")
			if i < 0 {
				t.Fatalf("no ranking in\n%s", stdout)
			}
			lines := strings.Split(strings.TrimSpace(stdout[i:]), "\n")
			if len(lines) != 3 || !strings.HasSuffix(lines[1], "installation guide") || !strings.HasSuffix(lines[2], "billing information") {
				t.Fatalf("ranking:\n%s", strings.Join(lines, "\n"))
			}

			stdout, _, code = runEmbed(t, append([]string{"embed", "--model", model, "--similarity", "--json"}, texts...)...)
			var got embedSimilarity
			if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != ExitOK {
				t.Fatalf("exit %d, decode %v:\n%s", code, err, stdout)
			}
			s := got.Similarity
			if len(s) != 3 || s[0][0] < 0.9999 || s[0][1] <= s[0][2] || s[0][1] != s[1][0] || got.Model != model {
				t.Errorf("similarity %v (model %q)", s, got.Model)
			}
		})
	}
}

func TestEmbedVectors(t *testing.T) {
	requireEmbedSetup(t)
	stdout, stderr, code := runEmbed(t, "embed", "--json", "installation guide", "billing information")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var got embedVectors
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Model != "use-lite" || got.Dims != 512 || len(got.Vectors) != 2 || len(got.Vectors[1]) != 512 {
		t.Fatalf("model %q dims %d, %d vectors", got.Model, got.Dims, len(got.Vectors))
	}
	stdout, _, code = runEmbed(t, "embed", "--dims", "8", "installation guide")
	fields := strings.Split(strings.TrimSpace(stdout), "\t")
	if code != ExitOK || len(fields) != 2 || fields[0] != `"installation guide"` || len(strings.Fields(fields[1])) != 8 {
		t.Fatalf("exit %d, output %q", code, stdout)
	}
}

func TestEmbedUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no text", []string{"embed"}, "at least one TEXT"},
		{"empty text", []string{"embed", "ok", " "}, "TEXT 2 is empty"},
		{"one text similarity", []string{"embed", "--similarity", "alone"}, "at least two TEXTs"},
		{"bad device", []string{"embed", "--device", "tpu", "x"}, `--device "tpu"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, code := runEmbed(t, tt.args...)
			r := NewRegistry()
			RegisterEmbed(r)
			err := r.run(context.Background(), &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Logger: discardLogger()}, tt.args)
			if code != ExitUsage || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("exit %d, error %v; want usage error with %q", code, err, tt.want)
			}
		})
	}
	_, _, code := runEmbed(t, "embed", "--model", "no-such-model", "--models-dir", t.TempDir(), "x")
	if code != ExitInvalid {
		t.Errorf("unknown model: exit %d, want %d", code, ExitInvalid)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
