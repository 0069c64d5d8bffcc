package serve_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
	"github.com/semrouter/semrouter/pkg/devllm"
	"github.com/semrouter/semrouter/services/gateway-extproc/imagegen/imagegentest"
)

// imageGenServeConfig routes on the classifier's real modality signal
// (keyword detection of global.model_catalog.modules.modality_detector):
// DIFFUSION requests to image_route, whose image_gen plugin calls the
// image backend; AR requests to text_route (devllm, which echoes).
const imageGenServeConfig = `version: v0.3
listeners: [{name: api, address: 127.0.0.1, port: %d, timeout: 60s}]
providers:
  defaults: {default_model: echo}
  models:
    - name: echo
      backend_refs: [{name: devllm, endpoint: "%s", protocol: http}]
routing:
  signals:
    modality: [{name: AR}, {name: DIFFUSION}, {name: BOTH}]
  decisions:
    - name: image_route
      priority: 100
      rules: {operator: AND, conditions: [{type: modality, name: DIFFUSION}]}
      modelRefs: [{model: echo}]
      plugins:
        - type: image_gen
          configuration:
            enabled: true
            backend: vllm_omni
            backend_config: {base_url: "%s", model: Qwen/Qwen-Image, seed: 7}
            default_width: 512
            default_height: 512
            timeout_seconds: 30
    - name: text_route
      priority: 50
      rules: {operator: AND, conditions: [{type: modality, name: AR}]}
      modelRefs: [{model: echo}]
global:
  model_catalog:
    modules:
      modality_detector:
        enabled: true
        method: keyword
        prompt_prefixes: [draw, generate an image of]
        keywords: [picture, illustration]
`

// TestServeImageGen runs the all-in-one process (real classifier over
// the embedded NATS) with devllm (a development backend that echoes, NOT
// a language model) and the FAKE image backend (no image model runs
// here), and talks to it with the OpenAI SDK: the modality signal sends
// an image request to the image backend and a text request to devllm.
func TestServeImageGen(t *testing.T) {
	root := repoRoot(t)
	requireAssets(t, root)
	images := imagegentest.New(t)
	backend := httptest.NewServer(devllm.New(devllm.Options{}))
	defer backend.Close()
	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf(imageGenServeConfig, port, strings.TrimPrefix(backend.URL, "http://"), images.URL)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	info, stop := startServe(ctx, t, serve.Options{
		ConfigPath: cfgPath, DataDir: filepath.Join(dir, "data"),
		NATSAddr: "127.0.0.1:0", ManagementAddr: "127.0.0.1:0", XDSAddr: "127.0.0.1:0", ExtProcAddr: "127.0.0.1:0",
		MetricsAddr: "off", ModelsDir: filepath.Join(root, ".cache", "models"),
		StageTimeout: 10 * time.Second,
	})
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	client := openai.NewClient(option.WithBaseURL("http://"+info.APIAddrs["api"]+"/v1/"), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
	ask := func(text string) (*openai.ChatCompletion, *http.Response) {
		t.Helper()
		var resp *http.Response
		c, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "auto",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}}, option.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		return c, resp
	}

	c, resp := ask("Draw a watercolor heron at sunrise")
	if d := resp.Header.Get("x-vsr-selected-decision"); d != "image_route" || resp.Header.Get("x-vsr-image-gen") != "generated" {
		t.Fatalf("decision %q, image-gen %q", d, resp.Header.Get("x-vsr-image-gen"))
	}
	if got := c.Choices[0].Message.Content; !strings.HasPrefix(got, "![a watercolor heron at sunrise](data:image/png;base64,") {
		t.Errorf("content %.80q", got)
	}
	call := images.Last(t)
	if call.Body["prompt"] != "a watercolor heron at sunrise" || call.Body["size"] != "512x512" || call.Body["seed"] != 7.0 {
		t.Errorf("image request %v", call.Body)
	}

	c, resp = ask("What is the capital of France?")
	if d := resp.Header.Get("x-vsr-selected-decision"); d != "text_route" || resp.Header.Get("x-vsr-image-gen") != "" {
		t.Errorf("decision %q, image-gen %q", d, resp.Header.Get("x-vsr-image-gen"))
	}
	if strings.HasPrefix(c.Choices[0].Message.Content, "![") || len(images.Calls()) != 1 {
		t.Errorf("text answer %q, %d image calls", c.Choices[0].Message.Content, len(images.Calls()))
	}
}
