package catalog_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/embedder-gpu/catalog"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

const base = `version: v0.3
listeners:
  - name: http
    port: 8899
providers:
  defaults:
    default_model: small
  models:
    - name: small
      backend_refs:
        - name: local
          endpoint: 127.0.0.1:8000
routing:
  decisions:
    - name: everything
      rules:
        operator: AND
        conditions: []
      modelRefs:
        - model: small
`

func parse(t *testing.T, global string) *config.Config {
	t.Helper()
	cfg, probs, err := config.Parse([]byte(base+global), "test.yaml")
	if err != nil {
		t.Fatalf("parse config: %v\n%s", err, probs)
	}
	return cfg
}

// fakeSTFolder makes a folder that looks like a sentence-transformers ONNX
// export (FromConfig only inspects the layout; loading is tested in hfmodel).
func fakeSTFolder(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.onnx", "tokenizer.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type summary struct {
	name    string
	aliases string
	kind    catalog.Kind
	dims    int
	device  ortrt.Device
	def     bool
}

func summarize(p catalog.Plan) []summary {
	var out []summary
	for _, s := range p.Specs {
		out = append(out, summary{s.Name, strings.Join(s.Aliases, ","), s.Kind, s.Dims, s.Device, s.Default})
	}
	return out
}

func TestFromConfig(t *testing.T) {
	baseDir := t.TempDir()
	fakeSTFolder(t, filepath.Join(baseDir, "models", "all-MiniLM-L6-v2"))
	modelsDir := "/models"
	tests := []struct {
		name     string
		global   string
		device   ortrt.Device
		want     []summary
		problems []string // "severity path line: text"
	}{
		{
			name: "no catalog: the built-in models, use-lite default",
			want: []summary{
				{"use-lite", "", catalog.KindBuiltin, 0, ortrt.DeviceAuto, true},
				{"glove-sif-100d", "", catalog.KindBuiltin, 0, ortrt.DeviceAuto, false},
			},
		},
		{
			name: "upstream paths that are not here fall back to use-lite",
			global: `global:
  model_catalog:
    embeddings:
      semantic:
        bert_model_path: models/mom-embedding-light
        mmbert_model_path: models/mmbert-embed-32k-2d-matryoshka
        use_cpu: true
        embedding_config:
          backend: candle
          model_type: mmbert
          target_dimension: 768
`,
			want: []summary{
				{"use-lite", "bert,mmbert", catalog.KindBuiltin, 768, ortrt.DeviceCPU, true},
				{"glove-sif-100d", "", catalog.KindBuiltin, 0, ortrt.DeviceCPU, false},
			},
			problems: []string{
				`warning global.model_catalog.embeddings.semantic.bert_model_path 25: "models/mom-embedding-light" is not a sentence-transformers`,
				`warning global.model_catalog.embeddings.semantic.mmbert_model_path 26:`,
			},
		},
		{
			name: "a sentence-transformers folder becomes a model with its family alias",
			global: `global:
  model_catalog:
    embeddings:
      semantic:
        bert_model_path: models/all-MiniLM-L6-v2
        embedding_config:
          model_type: bert
          target_dimension: 128
`,
			device: ortrt.DeviceCUDA,
			want: []summary{
				{"use-lite", "", catalog.KindBuiltin, 0, ortrt.DeviceCUDA, false},
				{"glove-sif-100d", "", catalog.KindBuiltin, 0, ortrt.DeviceCUDA, false},
				{"all-MiniLM-L6-v2", "bert", catalog.KindSentenceTransformer, 128, ortrt.DeviceCUDA, true},
			},
		},
		{
			name: "openai_compatible backend serves the endpoint as the default",
			global: `global:
  model_catalog:
    embeddings:
      semantic:
        embedding_config:
          backend: openai_compatible
          model_type: qwen3
        endpoint:
          base_url: http://embedding-service:8000/v1
          model: BAAI/bge-m3
          api_key_env: EMBEDDING_API_KEY
          timeout_seconds: 5
          max_retries: 2
          dimensions: 1024
`,
			want: []summary{
				{"use-lite", "", catalog.KindBuiltin, 0, ortrt.DeviceAuto, false},
				{"glove-sif-100d", "", catalog.KindBuiltin, 0, ortrt.DeviceAuto, false},
				{"BAAI/bge-m3", "qwen3", catalog.KindRemote, 0, "", true},
			},
		},
		{
			name: "openai_compatible backend without an endpoint is an error",
			global: `global:
  model_catalog:
    embeddings:
      semantic:
        embedding_config:
          backend: openai_compatible
`,
			want: []summary{
				{"use-lite", "", catalog.KindBuiltin, 0, ortrt.DeviceAuto, true},
				{"glove-sif-100d", "", catalog.KindBuiltin, 0, ortrt.DeviceAuto, false},
			},
			problems: []string{"error global.model_catalog.embeddings.semantic.embedding_config.backend 26: backend openai_compatible needs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, tt.global)
			plan, probs := catalog.FromConfig(cfg, catalog.Options{ModelsDir: modelsDir, BaseDir: baseDir, Device: tt.device})
			if got := summarize(plan); !slices.Equal(got, tt.want) {
				t.Errorf("plan\n got %+v\nwant %+v", got, tt.want)
			}
			if len(probs) != len(tt.problems) {
				t.Fatalf("problems:\n%s\nwant %d", probs, len(tt.problems))
			}
			for i, p := range probs {
				got := p.Severity.String() + " " + p.Path + " " + strconv.Itoa(p.Line) + ": " + p.Message
				if !strings.HasPrefix(got, tt.problems[i]) {
					t.Errorf("problem %d\n got %s\nwant prefix %s", i, got, tt.problems[i])
				}
			}
		})
	}
}

func TestRemoteSpecCarriesTheEndpoint(t *testing.T) {
	cfg := parse(t, `global:
  model_catalog:
    embeddings:
      semantic:
        embedding_config:
          backend: openai_compatible
        endpoint:
          base_url: http://embedding-service:8000/v1
          model: BAAI/bge-m3
          api_key_env: EMBEDDING_API_KEY
          timeout_seconds: 5
          max_retries: 3
          dimensions: 1024
`)
	plan, _ := catalog.FromConfig(cfg, catalog.Options{ModelsDir: "/m"})
	d := plan.Default()
	if d.Remote.BaseURL != "http://embedding-service:8000/v1" || d.Remote.Model != "BAAI/bge-m3" || d.Remote.Dimensions != 1024 ||
		d.Remote.Timeout.Seconds() != 5 || *d.Remote.MaxRetries != 3 || d.APIKeyEnv != "EMBEDDING_API_KEY" {
		t.Errorf("remote spec %+v (env %q)", d.Remote, d.APIKeyEnv)
	}
}

func TestParseModelArg(t *testing.T) {
	modelsDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(modelsDir, "use-lite"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(modelsDir, "use-lite", "meta.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(t.TempDir(), "minilm")
	fakeSTFolder(t, st)
	tests := []struct {
		arg     string
		name    string
		kind    catalog.Kind
		wantErr string
	}{
		{"use-lite", "use-lite", catalog.KindBuiltin, ""},
		{st, "minilm", catalog.KindSentenceTransformer, ""},
		{"mini=" + st, "mini", catalog.KindSentenceTransformer, ""},
		{"nope", "", "", `model "nope": no folder`},
		{"x=" + modelsDir, "", "", "holds neither meta.json"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			s, err := catalog.ParseModelArg(tt.arg, modelsDir, ortrt.DeviceCPU)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || s.Name != tt.name || s.Kind != tt.kind || s.Device != ortrt.DeviceCPU {
				t.Fatalf("spec %+v, err %v", s, err)
			}
		})
	}
}
