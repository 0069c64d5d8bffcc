package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestServeAllInOne runs `semrouter serve` (every service in one process
// around an embedded NATS server) in front of a devllm process and asks it
// for chat completions through the OpenAI SDK.
func TestServeAllInOne(t *testing.T) {
	a := needAssets(t)
	h := newHarness(t,
		"SEMROUTER_ORT_LIB="+a.ortLib, "SEMROUTER_MODELS_DIR="+a.modelsDir,
		"SEMROUTER_GUARD_DIR="+a.guardDir, "SEMROUTER_DOMAIN_HEADS="+a.headsDir,
		"LANG=en_US.UTF-8", "LC_ALL=en_US.UTF-8")
	llm := freeAddr(t)
	dev := h.start("devllm", bins["semrouter"], "devllm", "--addr", llm, "--name", "llm-serve")
	p := configParams{APIPort: freePort(t), LLMA: llm, LLMB: llm, Flaky: llm, Fake: llm}
	cfg := filepath.Join(h.dir, "config.yaml")
	if err := os.WriteFile(cfg, renderConfig(t, p), 0o600); err != nil {
		t.Fatal(err)
	}
	api := "127.0.0.1:" + strconv.Itoa(p.APIPort)
	srv := h.start("semrouter-serve", bins["semrouter"], "serve", "--config", cfg,
		"--data-dir", filepath.Join(h.dir, "nats"), "--nats-addr", freeAddr(t),
		"--management-addr", freeAddr(t), "--xds-addr", freeAddr(t), "--extproc-addr", freeAddr(t),
		"--metrics-addr", freeAddr(t))
	waitFor(t, readyTimeout, "devllm health", httpOK("http://"+llm+"/health"), dev)
	waitFor(t, readyTimeout, "semrouter serve API", httpOK("http://"+api+"/v1/models"), srv)

	ctx := testContext(t, 2*time.Minute)
	c := openai.NewClient(option.WithBaseURL("http://"+api+"/v1"), option.WithAPIKey("integration-test"),
		option.WithMaxRetries(0), option.WithRequestTimeout(60*time.Second))
	// The classifier inside serve may still be compiling its first revision
	// when the API answers: poll until the keyword rule routes.
	waitFor(t, readyTimeout, "keyword routing through semrouter serve", func() error {
		return expectRoute(ctx, c, "Please debug this function for me", "code-expert")
	}, srv)
	for _, tc := range []struct{ name, prompt, model string }{
		{"keyword", "Please debug this function for me", "code-expert"},
		{"embedding", "How do I install this package?", "setup-helper"},
		{"default", "Tell me a nice story about a cat", "small-chat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ans, err := chat(ctx, c, tc.prompt)
			if err != nil {
				t.Fatalf("chat: %v", err)
			}
			if want := "[llm-serve/" + tc.model + "] You said: " + tc.prompt; ans.content != want {
				t.Errorf("answer = %q, want %q", ans.content, want)
			}
			if got := ans.header.Get("x-vsr-selected-model"); got != tc.model {
				t.Errorf("x-vsr-selected-model = %q, want %q", got, tc.model)
			}
		})
	}
	t.Run("streaming", func(t *testing.T) {
		ans, err := chatStream(ctx, c, "Please debug this function")
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if want := "[llm-serve/code-expert] You said: Please debug this function"; ans.content != want {
			t.Errorf("streamed answer = %q, want %q", ans.content, want)
		}
	})
}
