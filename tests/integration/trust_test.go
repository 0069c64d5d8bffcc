package integration

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/pkg/metrics/metricstest"
)

// clientFrom is an OpenAI client for baseURL whose connections leave from
// localIP (any 127.x address works on the loopback interface).
func clientFrom(t *testing.T, baseURL, localIP string) openai.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return openai.NewClient(option.WithBaseURL(baseURL), option.WithAPIKey("integration-test"),
		option.WithMaxRetries(0), option.WithRequestTimeout(60*time.Second),
		option.WithHTTPClient(&http.Client{Transport: tr}))
}

// TestServeTrustedProxies runs `semrouter serve --trusted-proxies
// 127.0.0.2/32` (real embedder, classifier and cache) with the general
// decision's cache scoped per user. Requests leaving from 127.0.0.2 stand
// for a trusted proxy: alice's answer is cached for alice only, and
// x-vsr-debug shows the matched signals. A client connecting from
// 127.0.0.1 (untrusted) that claims to be alice gets no hit and no debug
// headers, and the gateway counts the removed headers.
func TestServeTrustedProxies(t *testing.T) {
	a := needAssets(t)
	h := newHarness(t,
		"SEMROUTER_ORT_LIB="+a.ortLib, "SEMROUTER_MODELS_DIR="+a.modelsDir,
		"SEMROUTER_GUARD_DIR="+a.guardDir, "SEMROUTER_DOMAIN_HEADS="+a.headsDir,
		"LANG=en_US.UTF-8", "LC_ALL=en_US.UTF-8")
	llm := freeAddr(t)
	dev := h.start("devllm", bins["semrouter"], "devllm", "--addr", llm, "--name", "llm-trust")
	p := configParams{APIPort: freePort(t), LLMA: llm, LLMB: llm, Flaky: llm, Fake: llm}
	doc := renderConfig(t, p)
	perUser := bytes.Replace(doc, []byte("            ttl_seconds: 3600\nglobal:"),
		[]byte("            ttl_seconds: 3600\n            scope: user\nglobal:"), 1)
	if bytes.Equal(perUser, doc) {
		t.Fatal("could not scope the general decision's cache per user: systemConfig changed")
	}
	cfg := filepath.Join(h.dir, "config.yaml")
	if err := os.WriteFile(cfg, perUser, 0o600); err != nil {
		t.Fatal(err)
	}
	api := "127.0.0.1:" + strconv.Itoa(p.APIPort)
	metrics := freeAddr(t)
	srv := h.start("semrouter-serve", bins["semrouter"], "serve", "--config", cfg,
		"--data-dir", filepath.Join(h.dir, "nats"), "--nats-addr", freeAddr(t),
		"--management-addr", freeAddr(t), "--xds-addr", freeAddr(t), "--extproc-addr", freeAddr(t),
		"--metrics-addr", metrics, "--trusted-proxies", "127.0.0.2/32")
	waitFor(t, readyTimeout, "devllm health", httpOK("http://"+llm+"/health"), dev)
	waitFor(t, readyTimeout, "semrouter serve API", httpOK("http://"+api+"/v1/models"), srv)

	ctx := testContext(t, 2*time.Minute)
	proxy := clientFrom(t, "http://"+api+"/v1", "127.0.0.2")
	direct := clientFrom(t, "http://"+api+"/v1", "127.0.0.1")
	waitFor(t, readyTimeout, "keyword routing through semrouter serve", func() error {
		return expectRoute(ctx, proxy, "Please debug this function for me", "code-expert")
	}, srv)

	debug := option.WithHeader("x-vsr-debug", "true")
	t.Run("debug from the trusted proxy", func(t *testing.T) {
		ans, err := chat(ctx, proxy, "Please debug this function for me", debug)
		if err != nil {
			t.Fatal(err)
		}
		if got := ans.header.Get("x-vsr-matched-keywords"); !strings.Contains(got, "code_keywords") {
			t.Fatalf("x-vsr-matched-keywords = %q, want code_keywords (headers %v)", got, ans.header)
		}
	})
	t.Run("debug from an untrusted peer", func(t *testing.T) {
		ans, err := chat(ctx, direct, "Please debug this function for me", debug)
		if err != nil {
			t.Fatal(err)
		}
		for k := range ans.header {
			if strings.HasPrefix(strings.ToLower(k), "x-vsr-matched-") {
				t.Errorf("untrusted peer got debug header %s", k)
			}
		}
		if ans.header.Get("x-vsr-selected-model") != "code-expert" {
			t.Errorf("not routed: %v", ans.header)
		}
	})

	question := "Tell me a nice story about a dog named Rex"
	alice := option.WithHeader("x-authz-user-id", "alice")
	first, err := chat(ctx, proxy, question, alice)
	if err != nil {
		t.Fatal(err)
	}
	if first.header.Get("x-vsr-selected-decision") != "general" {
		t.Fatalf("decision %q, want general (the cached one)", first.header.Get("x-vsr-selected-decision"))
	}
	// The store is asynchronous: poll alice's repeat until it hits.
	waitFor(t, 30*time.Second, "alice's repeat served from her cache", func() error {
		a, err := chat(ctx, proxy, question, alice)
		if err != nil {
			return err
		}
		if a.header.Get("x-vsr-cache-hit") != "true" {
			return fmt.Errorf("no cache hit yet (headers %v)", a.header)
		}
		return nil
	}, srv)
	for _, tc := range []struct {
		name   string
		client openai.Client
		user   string
	}{
		{name: "another user through the proxy", client: proxy, user: "bob"},
		{name: "untrusted peer claiming alice", client: direct, user: "alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := chat(ctx, tc.client, question, option.WithHeader("x-authz-user-id", tc.user))
			if err != nil {
				t.Fatal(err)
			}
			if a.header.Get("x-vsr-cache-hit") == "true" {
				t.Fatalf("read alice's cached answer (headers %v)", a.header)
			}
		})
	}
	m := metricstest.Scrape(t, metrics)
	for _, kind := range []string{"user_id", "debug"} {
		if v := m[`semrouter_gateway_untrusted_headers_removed_total{header="`+kind+`"}`]; v != 1 {
			t.Errorf("removed %s headers counted %v, want 1", kind, v)
		}
	}
}

// TestTrustedProxiesFlagRefusesBadEntries: both binaries stop before
// starting anything on an invalid --trusted-proxies, naming the flag and
// the entry.
func TestTrustedProxiesFlagRefusesBadEntries(t *testing.T) {
	for _, tc := range []struct {
		name string
		bin  string
		args []string
	}{
		{name: "semrouter serve", bin: "semrouter", args: []string{"serve", "--config", "unused.yaml", "--trusted-proxies", "10.0.0.0/8,10.0.0.0/33"}},
		{name: "gateway-extproc", bin: "gateway-extproc", args: []string{"--api", "--trusted-proxies", "10.0.0.0/33"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			cmd := exec.Command(needBinary(t, tc.bin), tc.args...)
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("exit %v, want a failure; output:\n%s", err, out.String())
			}
			if s := out.String(); !strings.Contains(s, "-trusted-proxies") || !strings.Contains(s, `"10.0.0.0/33"`) {
				t.Fatalf("output does not name the flag and the entry:\n%s", s)
			}
		})
	}
}
