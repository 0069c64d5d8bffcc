package serve_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
	"github.com/semrouter/semrouter/pkg/devllm"
)

// TestServeStickyScores runs the all-in-one process (embedded NATS, the
// real use-lite embedder and classifier) with a router_dc decision over
// two models and model switch protection (switch_margin 0.1): the
// classifier's per-model scores (cosine of the query to each model card's
// description) travel over NATS into the gateway's decision, where they
// decide whether a conversation's pin moves. A switch happens only when
// the new choice beats the pinned model by more than the margin; a narrow
// win keeps the pin. The backend is devllm (NOT a language model).
func TestServeStickyScores(t *testing.T) {
	root := repoRoot(t)
	requireAssets(t, root)
	dir := t.TempDir()
	backend := httptest.NewServer(devllm.New(devllm.Options{Models: []string{"chef", "mathematician"}}))
	defer backend.Close()
	const margin = 0.1
	var cfg bytes.Buffer
	tmpl := template.Must(template.ParseFiles(filepath.Join("testdata", "sticky.yaml.tmpl")))
	if err := tmpl.Execute(&cfg, map[string]any{"ListenerPort": freePort(t), "Backend": strings.TrimPrefix(backend.URL, "http://"),
		"Margin": margin}); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, cfg.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	info, stop := startServe(ctx, t, serve.Options{
		ConfigPath: cfgPath, DataDir: filepath.Join(dir, "data"),
		NATSAddr: "127.0.0.1:0", ManagementAddr: "off", XDSAddr: "off", ExtProcAddr: "off", MetricsAddr: "off",
		ModelsDir: filepath.Join(root, ".cache", "models"), GuardDir: filepath.Join(dir, "no-guard"),
		StageTimeout: 10 * time.Second, // a loaded CI machine must not degrade a stage
	})
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	client := openai.NewClient(option.WithBaseURL("http://"+info.APIAddrs["api"]+"/v1/"), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))

	type turn struct {
		prompt string
		// choice is the model the scores favour (router_dc's pick); gap
		// says how the choice's lead over the other model compares with
		// the margin ("wide", "narrow" or "" when the choice is the pin)
		choice, gap string
		served      string
		sticky      string
	}
	tests := []struct {
		name  string
		turns []turn
	}{
		{"a clear win moves the pin", []turn{
			{"What is a good recipe for pasta carbonara?", "chef", "", "chef", "new"},
			{"Compute the integral of x squared from 0 to 3.", "mathematician", "wide", "mathematician", "switched"},
			{"Solve the equation 2x + 3 = 11.", "mathematician", "", "mathematician", "pinned"},
		}},
		{"a narrow win keeps the pin", []turn{
			{"Solve the equation 2x + 3 = 11.", "mathematician", "", "mathematician", "new"},
			{"How many grams of flour are in two cups?", "chef", "narrow", "mathematician", "pinned"},
			{"How do I bake bread?", "chef", "wide", "chef", "switched"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var msgs []openai.ChatCompletionMessageParamUnion
			pinned := ""
			for i, tn := range tc.turns {
				msgs = append(msgs, openai.UserMessage(tn.prompt))
				var raw *http.Response
				res, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "auto", Messages: msgs},
					option.WithHeader("x-conversation-id", tc.name), option.WithHeader("x-vsr-debug", "true"), option.WithResponseInto(&raw))
				if err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, openai.AssistantMessage(res.Choices[0].Message.Content))
				h := raw.Header
				scores := parseScores(t, h.Get("x-vsr-selection-scores"))
				if len(scores) != 2 || h.Get("x-vsr-selected-algorithm") != "router_dc" || h.Get("x-vsr-degraded") != "" {
					t.Fatalf("turn %d: scores %v, algorithm %q, degraded %q", i+1, scores, h.Get("x-vsr-selected-algorithm"), h.Get("x-vsr-degraded"))
				}
				// the premise: the classifier's scores are what the case says
				other := "chef"
				if tn.choice == "chef" {
					other = "mathematician"
				}
				lead := scores[tn.choice] - scores[other]
				if lead <= 0 {
					t.Fatalf("turn %d: scores %v do not favour %s", i+1, scores, tn.choice)
				}
				if pinned != "" && tn.choice != pinned {
					if (lead > margin) != (tn.gap == "wide") {
						t.Fatalf("turn %d: %s leads by %.4f, want a %s lead against margin %v", i+1, tn.choice, lead, tn.gap, margin)
					}
				}
				if got, sticky := h.Get("x-vsr-selected-model"), h.Get("x-vsr-sticky"); got != tn.served || sticky != tn.sticky {
					t.Fatalf("turn %d: served by %q (x-vsr-sticky %q, scores %v), want %q (%q)", i+1, got, sticky, scores, tn.served, tn.sticky)
				}
				pinned = tn.served
			}
		})
	}
}

// parseScores reads x-vsr-selection-scores ("model=score,...").
func parseScores(t *testing.T, h string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, kv := range strings.Split(h, ",") {
		m, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("x-vsr-selection-scores %q", h)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("x-vsr-selection-scores %q: %v", h, err)
		}
		out[m] = f
	}
	return out
}
