package loadtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
)

func checkoutRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := repoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestRewriteConfig(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(checkoutRoot(t), "config", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		keepCache   bool
		wantDropped int
	}{
		{"cache plugins dropped", false, 2},
		{"cache plugins kept", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bc, err := rewriteConfig(src, "127.0.0.1:9911", 19876, tc.keepCache)
			if err != nil {
				t.Fatal(err)
			}
			cfg, probs, err := config.Parse(bc.YAML, "bench-config.yaml")
			if err != nil {
				t.Fatalf("rewritten config is invalid: %v\n%s", err, bc.YAML)
			}
			if probs.HasErrors() {
				t.Fatalf("problems: %v", probs)
			}
			if bc.DefaultModel != "small-chat" {
				t.Errorf("default model = %q, want small-chat", bc.DefaultModel)
			}
			if bc.CachePlugins != tc.wantDropped {
				t.Errorf("dropped %d response_cache plugins, want %d", bc.CachePlugins, tc.wantDropped)
			}
			if len(cfg.Listeners) != 1 || cfg.Listeners[0].Port != 19876 || cfg.Listeners[0].Address != "127.0.0.1" {
				t.Errorf("listeners = %+v, want one on 127.0.0.1:19876", cfg.Listeners)
			}
			for _, m := range cfg.Providers.Models {
				if len(m.BackendRefs) != 1 || m.BackendRefs[0].Endpoint != "127.0.0.1:9911" || m.BackendRefs[0].Protocol != "http" {
					t.Errorf("model %s backends = %+v, want one at the bench backend", m.Name, m.BackendRefs)
				}
			}
			if got := strings.Count(string(bc.YAML), "type: response_cache"); got != 2-tc.wantDropped {
				t.Errorf("%d response_cache plugins left, want %d", got, 2-tc.wantDropped)
			}
		})
	}
}

func TestRewriteConfigErrors(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"not yaml", "listeners: [", "parse config"},
		{"not a mapping", "- a\n- b\n", "not a mapping"},
		{"no models", "version: v0.3\nproviders:\n  models: []\n", "providers.models is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rewriteConfig([]byte(tc.doc), "127.0.0.1:1", 2, false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestUpdateSection(t *testing.T) {
	block := markBegin + "\nNEW TABLE\n" + markEnd + "\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"empty file", "", "## End to end\n\n" + block},
		{"section missing: appended", "# Benchmarks\n\n## Embedder\n\ntext\n",
			"# Benchmarks\n\n## Embedder\n\ntext\n\n## End to end\n\n" + block},
		{"section without markers: body replaced, next section kept",
			"# B\n\n## End to end\n\nold figures\n\n## Later\n\nkeep\n",
			"# B\n\n## End to end\n\n" + block + "\n## Later\n\nkeep\n"},
		{"markers: only the block replaced, notes kept",
			"# B\n\n## End to end\n\nintro\n\n" + markBegin + "\nOLD\n" + markEnd + "\n\nnotes\n\n## Embedder\n\nx\n",
			"# B\n\n## End to end\n\nintro\n\n" + block + "\nnotes\n\n## Embedder\n\nx\n"},
		{"heading text inside a line is not the section",
			"see ## End to end below\n", "see ## End to end below\n\n## End to end\n\n" + block},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(UpdateSection([]byte(tc.doc), block)); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// requireRouterAssets skips (fails under CI=true) without what serve
// needs for the quickstart config: ONNX Runtime, the built models and the
// prompt-guard package.
func requireRouterAssets(t *testing.T, root string) {
	t.Helper()
	for _, p := range []string{
		filepath.Join(root, ".cache", "onnxruntime", "libonnxruntime.so.1"),
		filepath.Join(root, ".cache", "models", "use-lite", "model.onnx"),
		filepath.Join(root, ".cache", "npm", "llm_guardrail@2.1.2", "package"),
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

// TestRunSmall runs the whole benchmark with a tiny count: the real router
// (embedder, classifier, gateway over an embedded NATS) in front of devllm
// (a development backend, NOT a language model).
func TestRunSmall(t *testing.T) {
	root := checkoutRoot(t)
	requireRouterAssets(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{Requests: 12, Concurrency: 3, Samples: 4, Duration: time.Minute, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Config != filepath.Join(root, "config", "quickstart.yaml") {
		t.Errorf("config = %q, want the quickstart", rep.Config)
	}
	s := rep.Sequential
	if rep.EmbedModel == "" {
		t.Error("the embedder did not name its model")
	}
	if s.Count != 4 || s.DirectP50 <= 0 || s.RoutedP50 <= 0 || s.EmbedP50 <= 0 {
		t.Errorf("sequential = %+v, want 4 samples with positive times", s)
	}
	for name, p := range map[string]phase{"direct": rep.Load.Direct, "routed": rep.Load.Routed} {
		if p.Count != 12 || p.P50 <= 0 || p.P99 < p.P50 || p.Throughput() <= 0 {
			t.Errorf("%s load = %+v, want 12 requests with positive times", name, p)
		}
	}
	if c := rep.Load.RoutedCounts; c.Degraded != 0 || c.NotUpstream != 0 {
		t.Errorf("routed answers: %+v, want every one undegraded and from the backend", c)
	}
	if rep.DroppedCachePlugins != 2 {
		t.Errorf("dropped %d cache plugins, want 2", rep.DroppedCachePlugins)
	}
	out := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := os.WriteFile(out, []byte("# Benchmarks\n\n## Embedder\n\nkept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSection(out, rep.Markdown()); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Embedder\n\nkept\n", "## End to end\n", "| direct to devllm | 12 in ", "p50 added / p50 embed", markEnd} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("benchmarks.md lacks %q:\n%s", want, doc)
		}
	}
}
