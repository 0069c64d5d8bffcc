package serve_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
	"github.com/semrouter/semrouter/pkg/devllm"
	"github.com/semrouter/semrouter/services/config-hub/hub"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
)

// recordKeys is a slog.Handler that keeps, for every record, how often
// each attribute key occurs (Logger.With attributes included) and the
// value of the service attribute.
type recordKeys struct {
	mu      *sync.Mutex
	records *[]loggedRecord
	attrs   []slog.Attr
	// applied receives the service of every "config revision applied"
	// record (dropped when full), so a test can wait for the services
	// that apply a revision after serve reported ready.
	applied chan string
}

type loggedRecord struct {
	msg     string
	service string
	counts  map[string]int
}

func newRecordKeys() recordKeys {
	return recordKeys{mu: &sync.Mutex{}, records: &[]loggedRecord{}, applied: make(chan string, 64)}
}

func (h recordKeys) Enabled(context.Context, slog.Level) bool { return true }

func (h recordKeys) Handle(_ context.Context, r slog.Record) error {
	rec := loggedRecord{msg: r.Message, counts: map[string]int{}}
	add := func(a slog.Attr) bool {
		rec.counts[a.Key]++
		if a.Key == "service" {
			rec.service = a.Value.String()
		}
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.mu.Lock()
	*h.records = append(*h.records, rec)
	h.mu.Unlock()
	if rec.msg == "config revision applied" {
		select {
		case h.applied <- rec.service:
		default:
		}
	}
	return nil
}

func (h recordKeys) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return h
}

func (h recordKeys) WithGroup(string) slog.Handler { return h }

func (h recordKeys) snapshot() []loggedRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]loggedRecord(nil), *h.records...)
}

// writeConfig renders the observability test config for a listener port
// and a backend address.
func writeConfig(t *testing.T, dir string, port int, backend string) string {
	t.Helper()
	tmpl := template.Must(template.ParseFiles(filepath.Join("testdata", "observability.yaml.tmpl")))
	var cfg bytes.Buffer
	if err := tmpl.Execute(&cfg, map[string]any{"ListenerPort": port, "Backend": backend}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, cfg.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestServeStageTimeoutAndLogs runs the whole process with a 1ns stage
// deadline in front of devllm (a development backend, NOT a language
// model): the gateway must degrade every stage (so Options.StageTimeout
// reached it), and no log line of any service may repeat an attribute.
// Options.TrustedProxies trusts nobody, so the gateway removes the
// client's identity and debug headers (and logs that at debug level).
func TestServeStageTimeoutAndLogs(t *testing.T) {
	root := repoRoot(t)
	requireAssets(t, root)
	backend := httpBackend(t)
	dir := t.TempDir()
	port := freePort(t)
	cfgPath := writeConfig(t, dir, port, backend)
	logs := newRecordKeys()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	info, stop := startServe(ctx, t, serve.Options{
		ConfigPath: cfgPath, DataDir: filepath.Join(dir, "data"),
		NATSAddr: "127.0.0.1:0", ManagementAddr: "127.0.0.1:0", XDSAddr: "127.0.0.1:0",
		ExtProcAddr: "127.0.0.1:0", MetricsAddr: "off",
		ModelsDir: filepath.Join(root, ".cache", "models"), GuardDir: filepath.Join(dir, "no-guard"),
		StageTimeout: time.Nanosecond, DrainTimeout: 5 * time.Second,
		TrustedProxies: &apimode.TrustedProxies{},
		Logger:         slog.New(logs),
	})
	defer func() { _ = stop() }()
	body := `{"model":"auto","messages":[{"role":"user","content":"please debug this function for me"}]}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+info.APIAddrs["api"]+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-vsr-debug", "true")
	req.Header.Set("x-authz-user-id", "alice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chat: %s %s", resp.Status, respBody)
	}
	untrusted := false
	for _, rec := range logs.snapshot() {
		untrusted = untrusted || rec.msg == "headers from an untrusted peer removed" && rec.service == "gateway"
	}
	if !untrusted {
		t.Error("no untrusted-peer removal logged: Options.TrustedProxies did not reach the gateway")
	}
	degraded := resp.Header.Get("x-vsr-degraded")
	for _, stage := range []string{"embedder", "classifier"} {
		if !strings.Contains(degraded, stage) {
			t.Errorf("x-vsr-degraded = %q, want %s degraded by the 1ns stage deadline", degraded, stage)
		}
	}
	if got := resp.Header.Get("x-vsr-selected-model"); got != "small-chat" {
		t.Errorf("selected model %q, want the default small-chat without a classifier", got)
	}
	// Ready means the gateway serves; the cache may apply the revision a
	// moment later. Wait for every service's line before stopping.
	waitFor := map[string]bool{"config-hub": true, "cache": true, "classifier": true, "gateway": true}
	for len(waitFor) > 0 {
		select {
		case svc := <-logs.applied:
			delete(waitFor, svc)
		case <-ctx.Done():
			t.Fatalf("no %q line from %v before the deadline", "config revision applied", waitFor)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("serve: %v", err)
	}

	applied := map[string]bool{}
	for _, rec := range logs.snapshot() {
		for k, n := range rec.counts {
			if n > 1 {
				t.Errorf("log %q repeats %s (%d times): %v", rec.msg, k, n, rec.counts)
			}
		}
		if rec.msg == "config revision applied" {
			applied[rec.service] = true
		}
	}
	for _, svc := range []string{"config-hub", "cache", "classifier", "gateway"} {
		if !applied[svc] {
			t.Errorf("no %q line with service=%s; services seen: %v", "config revision applied", svc, applied)
		}
	}
}

// TestServeManagementExposure: a management API on every interface while
// the config leaves auth off stops serve with config-hub's error, unless
// SEMROUTER_MANAGEMENT_TOKEN supplies a token (then required).
func TestServeManagementExposure(t *testing.T) {
	root := repoRoot(t)
	requireAssets(t, root)
	const token = "serve-test-token-0123456789"
	for _, tc := range []struct {
		name  string
		token string
	}{{"no token: refused", ""}, {"token from the environment", token}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfgPath := writeConfig(t, dir, freePort(t), "127.0.0.1:1")
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			ready := make(chan serve.Info, 1)
			done := make(chan error, 1)
			mgmtPort := freePort(t)
			go func() {
				done <- serve.Run(ctx, serve.Options{
					ConfigPath: cfgPath, DataDir: filepath.Join(dir, "data"),
					NATSAddr: "127.0.0.1:0", ManagementAddr: "0.0.0.0:" + strconv.Itoa(mgmtPort), XDSAddr: "127.0.0.1:0",
					ExtProcAddr: "127.0.0.1:0", MetricsAddr: "off",
					ModelsDir: filepath.Join(root, ".cache", "models"), GuardDir: filepath.Join(dir, "no-guard"),
					Getenv: func(k string) string {
						if k == hub.EnvManagementToken {
							return tc.token
						}
						return os.Getenv(k)
					},
					Ready: func(info serve.Info) { ready <- info },
				})
			}()
			if tc.token == "" {
				select {
				case err := <-done:
					if !errors.Is(err, hub.ErrInsecureManagement) {
						t.Fatalf("serve: %v, want ErrInsecureManagement", err)
					}
				case <-ready:
					t.Fatal("serve became ready with an open management API")
				}
				return
			}
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("serve stopped: %v", err)
			}
			url := "http://127.0.0.1:" + strconv.Itoa(mgmtPort) + "/config/router"
			for _, c := range []struct {
				auth string
				want int
			}{{"", http.StatusUnauthorized}, {"Bearer " + token, http.StatusOK}} {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if c.auth != "" {
					req.Header.Set("Authorization", c.auth)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != c.want {
					t.Errorf("GET /config/router with %q: %d, want %d", c.auth, resp.StatusCode, c.want)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("serve: %v", err)
			}
		})
	}
}

// httpBackend starts devllm (a development backend, NOT a language model)
// serving the test config's models and returns its host:port.
func httpBackend(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(devllm.New(devllm.Options{Models: []string{"small-chat", "code-expert"}}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
