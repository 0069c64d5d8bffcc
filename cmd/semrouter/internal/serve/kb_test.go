package serve_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
)

// TestServeKnowledgeBaseBesideConfig: the classifier gets the config over
// NATS, without its path, so serve must tell it where the config file
// lives: a knowledge base named relative to the file loads (the revision
// is applied, serve becomes ready) and a prompt like its
// security_incident examples routes on the kb condition, while small talk
// does not. The working directory is not the config's folder.
func TestServeKnowledgeBaseBesideConfig(t *testing.T) {
	root := repoRoot(t)
	requireAssets(t, root)
	dir := t.TempDir()
	kbDir := filepath.Join(dir, "knowledge_bases", "support")
	if err := os.MkdirAll(kbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(root, "services", "classifier", "kb", "testdata", "support")
	for _, f := range []string{"labels.json", "billing.txt", "security_incident.txt", "chit_chat.txt"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(kbDir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	var cfg bytes.Buffer
	tmpl := template.Must(template.ParseFiles(filepath.Join("testdata", "kb.yaml.tmpl")))
	if err := tmpl.Execute(&cfg, map[string]any{"ListenerPort": port, "Backend": httpBackend(t)}); err != nil {
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
		StageTimeout: 10 * time.Second,
	})
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	for _, tc := range []struct{ prompt, want string }{
		{"Someone logged into my account from another country and changed my password", "code-expert"},
		{"hey, how is your day going?", "small-chat"},
	} {
		body := `{"model":"auto","messages":[{"role":"user","content":"` + tc.prompt + `"}]}`
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+info.APIAddrs["api"]+"/v1/chat/completions", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("content-type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("x-vsr-selected-model"); resp.StatusCode != http.StatusOK || got != tc.want {
			t.Errorf("%q: status %d, model %q, want 200 from %s (degraded: %q)", tc.prompt, resp.StatusCode, got, tc.want, resp.Header.Get("x-vsr-degraded"))
		}
	}
}
