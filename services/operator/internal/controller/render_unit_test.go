package controller

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/semrouter/semrouter/pkg/config"
	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestRenderConfig(t *testing.T) {
	svc := func(ref, model, name string, loras ...v1alpha1.LoRASpec) Backend {
		return Backend{Ref: ref, Model: model, Weight: 1, Service: name, Namespace: "ai", Port: 8000, LoRAs: loras}
	}
	tests := []struct {
		name     string
		spec     v1alpha1.ConfigSpec
		backends []Backend
		check    func(t *testing.T, cfg *config.Config)
		wantErr  []string
	}{
		{
			name: "canonical sections merged with discovered backends and loras",
			spec: v1alpha1.ConfigSpec{
				Providers: raw(`{"defaults":{"default_model":"hosted"},"models":[{"name":"hosted","backend_refs":[{"name":"api","endpoint":"llm.example.com:443","protocol":"https"}]}]}`),
				Routing:   raw(`{"modelCards":[{"name":"hosted","description":"a hosted model"}]}`),
			},
			backends: []Backend{svc("a", "qwen3-8b", "vllm-a", v1alpha1.LoRASpec{Name: "sql", Description: "SQL adapter"}), svc("b", "qwen3-8b", "vllm-b")},
			check: func(t *testing.T, cfg *config.Config) {
				if m := cfg.Model("hosted"); m == nil || len(m.BackendRefs) != 1 {
					t.Errorf("canonical model lost: %+v", m)
				}
				m := cfg.Model("qwen3-8b")
				if m == nil || len(m.BackendRefs) != 2 || m.BackendRefs[1].Endpoint != "vllm-b.ai.svc.cluster.local:8000" {
					t.Fatalf("discovered model %+v", m)
				}
				card := cfg.ModelCard("qwen3-8b")
				if card == nil || len(card.Loras) != 1 || card.Loras[0].Name != "sql" || card.Loras[0].Description != "SQL adapter" {
					t.Errorf("model card %+v", card)
				}
				if c := cfg.ModelCard("hosted"); c == nil || c.Description != "a hosted model" {
					t.Errorf("canonical card lost: %+v", c)
				}
			},
		},
		{
			name: "legacy flat keys migrate to global",
			spec: v1alpha1.ConfigSpec{
				ResponseCache:     &v1alpha1.ResponseCacheConfig{Enabled: ptr.To(true), SimilarityThreshold: "0.9", MaxEntries: ptr.To[int64](42)},
				ReasoningFamilies: map[string]v1alpha1.ReasoningFamily{"qwen3": {Type: "chat_template_kwargs", Parameter: "enable_thinking"}},
			},
			backends: []Backend{svc("a", "m", "vllm")},
			check: func(t *testing.T, cfg *config.Config) {
				out, err := config.Marshal(cfg)
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{"response_cache:", "max_entries: 42", "similarity_threshold: 0.9", "enable_thinking"} {
					if !strings.Contains(string(out), want) {
						t.Errorf("rendered config lacks %q:\n%s", want, out)
					}
				}
			},
		},
		{
			name: "decision to an unknown model",
			spec: v1alpha1.ConfigSpec{
				Routing: raw(`{"decisions":[{"name":"d","priority":1,"rules":{"operator":"AND","conditions":[{"type":"keyword","name":"k"}]},"modelRefs":[{"model":"ghost"}]}]}`),
			},
			backends: []Backend{svc("a", "m", "vllm")},
			wantErr:  []string{"routing.decisions[0]", "ghost"},
		},
		{
			name:     "two canonical models with one name",
			spec:     v1alpha1.ConfigSpec{Providers: raw(`{"models":[{"name":"twin","backend_refs":[{"name":"a","endpoint":"a:80"}]},{"name":"twin","backend_refs":[{"name":"b","endpoint":"b:80"}]}]}`)},
			backends: nil,
			wantErr:  []string{"providers.models[1]", "twin"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, err := RenderConfig("ai", tc.spec, tc.backends)
			if tc.wantErr != nil {
				var ce *ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("error %v, want a *ConfigError", err)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(ce.Error(), w) {
						t.Errorf("error %q lacks %q", ce.Error(), w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			cfg, _, err := config.Parse(rc.YAML, "rendered")
			if err != nil {
				t.Fatalf("rendered config: %v\n%s", err, rc.YAML)
			}
			tc.check(t, cfg)
			again, err := RenderConfig("ai", tc.spec, tc.backends)
			if err != nil || again.Hash != rc.Hash || string(again.YAML) != string(rc.YAML) {
				t.Errorf("rendering is not deterministic")
			}
		})
	}
}

// TestRenderGolden pins the rendered config of the upstream llamastack sample
// (run with -update to rewrite testdata/llamastack.golden.yaml).
func TestRenderGolden(t *testing.T) {
	paths := samplePaths(t)
	var path string
	for _, p := range paths {
		if strings.HasSuffix(p, "_llamastack.yaml") {
			path = p
		}
	}
	sr := decodeSampleRouter(t, path)
	backends := staticBackends(sr)
	backends[0].LoRAs = []v1alpha1.LoRASpec{{Name: "legal", Description: "contract review"}}
	rc, err := RenderConfig(sr.Namespace, sr.Spec.Config, backends)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "llamastack.golden.yaml")
	if *update {
		if err := os.WriteFile(golden, rc.YAML, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(rc.YAML) {
		t.Errorf("rendered config differs from %s (rerun with -update and review the diff):\n%s", golden, rc.YAML)
	}
}

func BenchmarkRenderConfig(b *testing.B) {
	var path string
	for _, p := range samplePaths(b) {
		if strings.HasSuffix(p, "_llamastack.yaml") {
			path = p
		}
	}
	sr := decodeSampleRouter(b, path)
	backends := staticBackends(sr)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderConfig(sr.Namespace, sr.Spec.Config, backends); err != nil {
			b.Fatal(err)
		}
	}
}
