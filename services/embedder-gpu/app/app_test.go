package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/services/embedder-gpu/app"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedclient"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the embedder process in-process and waits until it serves;
// it stops at the end of the test.
func start(t *testing.T, args ...string) (httpAddr string, logs *syncBuffer) {
	t.Helper()
	httpAddr, logs, _ = startStoppable(t, args...)
	return httpAddr, logs
}

// startStoppable is start that also returns stop, which ends the process
// and waits for Run to return (so it has flushed its traces); the test
// cleanup calls it too.
func startStoppable(t *testing.T, args ...string) (httpAddr string, logs *syncBuffer, stop func()) {
	t.Helper()
	testenv.ORTLibrary(t)
	testenv.ModelDir(t, "use-lite")
	testenv.ModelDir(t, "glove-sif-100d")
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- app.RunWithReady(ctx, args, logs, func(addr string) { ready <- addr }) }()
	select {
	case httpAddr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("embedder stopped before serving: %v\n%s", err, logs)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("embedder stopped with %v\n%s", err, logs)
			}
		})
	}
	t.Cleanup(stop)
	return httpAddr, logs, stop
}

func TestProcessServesNATSAndHTTP(t *testing.T) {
	ns := natstest.RunServer(t)
	addr, _ := start(t, "--nats-url", ns.ClientURL(), "--http-addr", "127.0.0.1:0", "--device", "cpu",
		"--model", "glove-sif-100d", "--model", "use-lite", "--default", "use-lite", "--batch-window", "1ms", "--log-level", "warn")
	nc := natstest.Connect(t, ns)
	for _, c := range map[string]*embedclient.Client{
		"nats": embedclient.New(nc),
		"http": embedclient.NewHTTP(http.DefaultClient, "http://"+addr),
	} {
		for model, dims := range map[string]int{"": 512, "use-lite": 512, "glove-sif-100d": 100} {
			vecs, err := c.Embed(context.Background(), model, []string{"how do I install this", "installation guide"})
			if err != nil {
				t.Fatalf("model %q: %v", model, err)
			}
			if len(vecs) != 2 || len(vecs[0]) != dims {
				t.Fatalf("model %q: %d vectors of %d dims, want 2 of %d", model, len(vecs), len(vecs[0]), dims)
			}
		}
	}
}

// TestConfigWithRemoteBackend serves the catalog of a config whose backend
// is openai_compatible, against a FAKE OpenAI-compatible endpoint (httptest).
func TestConfigWithRemoteBackend(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer k-123" {
			http.Error(w, "bad key "+got, http.StatusUnauthorized)
			return
		}
		var req struct {
			Input []string `json:"input"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		var data []map[string]any
		for i := range req.Input {
			data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": []float64{3, 4, float64(i)}})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": "m", "usage": map[string]int{}})
	}))
	t.Cleanup(fake.Close)
	t.Setenv("TEST_EMBED_KEY", "k-123")
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	doc := `version: v0.3
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
global:
  model_catalog:
    embeddings:
      semantic:
        bert_model_path: models/mom-embedding-light
        use_cpu: true
        embedding_config:
          backend: openai_compatible
          model_type: qwen3
        endpoint:
          base_url: ` + fake.URL + `/v1
          model: fake/remote-embedder
          api_key_env: TEST_EMBED_KEY
          timeout_seconds: 5
`
	if err := os.WriteFile(cfgPath, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	addr, logs := start(t, "--nats-url", "", "--http-addr", "127.0.0.1:0", "--config", cfgPath)
	c := embedclient.NewHTTP(http.DefaultClient, "http://"+addr)
	res, err := c.Embed(context.Background(), "", []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || len(res[0]) != 3 || res[0][0] != 0.6 || res[0][1] != 0.8 {
		t.Fatalf("vectors %v: want the endpoint's, normalised", res)
	}
	for model, dims := range map[string]int{"qwen3": 3, "bert": 512, "use-lite": 512} {
		vecs, err := c.Embed(context.Background(), model, []string{"x"})
		if err != nil || len(vecs[0]) != dims {
			t.Fatalf("model %q: %v dims, %v; want %d", model, len(vecs[0]), err, dims)
		}
	}
	models, err := c.ListModels(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range models {
		names = append(names, m.GetName()+"/"+m.GetBackend()+"/"+m.GetDevice())
		if m.GetDefault() != (m.GetName() == "fake/remote-embedder") {
			t.Errorf("model %s default=%v", m.GetName(), m.GetDefault())
		}
	}
	if got := strings.Join(names, " "); got != "use-lite/onnxruntime/cpu glove-sif-100d/onnxruntime/cpu fake/remote-embedder/openai_compatible/remote" {
		t.Errorf("models %s", got)
	}
	if !strings.Contains(logs.String(), "bert_model_path") {
		t.Errorf("no warning about the missing bert folder in the logs:\n%s", logs)
	}
}

func TestBadCommandLines(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad device", []string{"--device", "tpu"}, `--device "tpu"`},
		{"nothing to serve on", []string{"--nats-url", ""}, "nothing to serve on"},
		{"bad batch", []string{"--max-batch", "0"}, "--max-batch 0"},
		{"unknown model", []string{"--nats-url", "", "--http-addr", "127.0.0.1:0", "--models-dir", "/nonexistent", "--model", "bge"}, `model "bge": no folder`},
		{"unknown default", []string{"--nats-url", "", "--http-addr", "127.0.0.1:0", "--models-dir", "/nonexistent", "--default", "bge"}, `--default "bge"`},
		{"missing config", []string{"--config", "/nonexistent/config.yaml"}, "read config"},
		{"stray argument", []string{"serve"}, "unexpected arguments"},
		{"bad log format", []string{"--log-format", "yaml"}, `log format "yaml": want text or json`},
		{"bad log level", []string{"--log-level", "loud"}, `log level "loud"`},
		{"bad sample rate", []string{"--trace-sample-rate", "2"}, "--trace-sample-rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := app.Run(context.Background(), tt.args, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}
