package serve_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
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

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
	"github.com/semrouter/semrouter/pkg/devllm"
	"github.com/semrouter/semrouter/pkg/metrics/metricstest"
	"github.com/semrouter/semrouter/pkg/telemetry"
)

// repoRoot walks up to the directory holding go.work.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.work above the working directory")
		}
		dir = parent
	}
}

// requireAssets skips (fails under CI=true) without ONNX Runtime and the
// built embedding model that serve loads.
func requireAssets(t *testing.T, root string) {
	t.Helper()
	for _, p := range []string{
		filepath.Join(root, ".cache", "onnxruntime", "libonnxruntime.so.1"),
		filepath.Join(root, ".cache", "models", "use-lite", "model.onnx"),
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

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// notifyingExporter is an in-memory span exporter that signals every
// export, so a test can wait for a span without sleeping.
type notifyingExporter struct {
	*tracetest.InMemoryExporter
	mu      sync.Mutex
	waiters []chan struct{}
}

func (e *notifyingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.InMemoryExporter.ExportSpans(ctx, spans)
	e.mu.Lock()
	for _, w := range e.waiters {
		close(w)
	}
	e.waiters = nil
	e.mu.Unlock()
	return err
}

// waitFor returns the first exported span named name whose trace is
// traceID (zero: any), waiting for exports until ctx ends.
func (e *notifyingExporter) waitFor(ctx context.Context, name string) (tracetest.SpanStub, error) {
	for {
		e.mu.Lock()
		w := make(chan struct{})
		e.waiters = append(e.waiters, w)
		e.mu.Unlock()
		for _, s := range e.GetSpans() {
			if s.Name == name {
				return s, nil
			}
		}
		select {
		case <-w:
		case <-ctx.Done():
			return tracetest.SpanStub{}, fmt.Errorf("span %q: %w", name, ctx.Err())
		}
	}
}

// sumPrefix adds the samples whose key starts with prefix.
func sumPrefix(m map[string]float64, prefix string) float64 {
	var n float64
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

// TestServeObservability runs the all-in-one process in-process in front
// of devllm (a development backend, NOT a language model), sends one chat
// request carrying a W3C traceparent, and checks that one trace spans the
// gateway, the embedder and the classifier (over NATS), that the trace
// context reached the backend, and that /metrics (one endpoint for every
// service) counted the request.
func TestServeObservability(t *testing.T) {
	root := repoRoot(t)
	requireAssets(t, root)

	backend := devllm.New(devllm.Options{Models: []string{"small-chat", "code-expert"}})
	bsrv := httptest.NewServer(backend)
	defer bsrv.Close()

	dir := t.TempDir()
	tmpl := template.Must(template.ParseFiles(filepath.Join("testdata", "observability.yaml.tmpl")))
	var cfg bytes.Buffer
	listenerPort := freePort(t)
	if err := tmpl.Execute(&cfg, map[string]any{"ListenerPort": listenerPort, "Backend": strings.TrimPrefix(bsrv.URL, "http://")}); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, cfg.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	exp := &notifyingExporter{InMemoryExporter: tracetest.NewInMemoryExporter()}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	info, stop := startServe(ctx, t, serve.Options{
		ConfigPath: cfgPath, DataDir: filepath.Join(dir, "data"),
		NATSAddr: "127.0.0.1:0", ManagementAddr: "127.0.0.1:0", XDSAddr: "127.0.0.1:0",
		// Port 0: serve binds it first and config-hub's ext_proc
		// cluster names the bound port (no revision rejected, below).
		ExtProcAddr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0",
		ModelsDir: filepath.Join(root, ".cache", "models"), GuardDir: filepath.Join(dir, "no-guard"),
		TelemetryOptions: []telemetry.Option{telemetry.WithSpanExporter(exp)},
		// A loaded CI machine must not turn a slow first call into a
		// degraded route: this test is about accounting, not deadlines.
		StageTimeout: 10 * time.Second,
	})
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	apiAddr := info.APIAddrs["api"]
	if apiAddr != "127.0.0.1:"+strconv.Itoa(listenerPort) || info.MetricsAddr == "" {
		t.Fatalf("info = %+v, want the api listener on port %d and a metrics address", info, listenerPort)
	}
	before := metricstest.Scrape(t, info.MetricsAddr)

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	body := `{"model":"auto","messages":[{"role":"user","content":"please debug this function for me"}]}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+apiAddr+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chat: %s %s", resp.Status, respBody)
	}
	if got := resp.Header.Get("x-vsr-selected-model"); got != "code-expert" {
		t.Fatalf("selected model = %q, want code-expert (decision %q, degraded %q)", got, resp.Header.Get("x-vsr-selected-decision"), resp.Header.Get("x-vsr-degraded"))
	}

	// The request span ends after the response: wait for its export.
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	root0, err := exp.waitFor(wctx, "semantic_router.request.received")
	if err != nil {
		t.Fatal(err)
	}
	if got := root0.SpanContext.TraceID().String(); got != traceID {
		t.Fatalf("request span trace id = %s, want the caller's %s", got, traceID)
	}
	attrs := map[attribute.Key]attribute.Value{}
	for _, kv := range root0.Attributes {
		attrs[kv.Key] = kv.Value
	}
	if attrs["decision.name"].AsString() != "coding" || attrs["routing.selected_model"].AsString() != "code-expert" ||
		attrs["routing.response_path"].AsString() != "upstream" || attrs["cache.hit"].AsBool() {
		t.Errorf("request span attributes = %v", root0.Attributes)
	}

	byName := map[string][]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID().String() == traceID {
			byName[s.Name] = append(byName[s.Name], s)
		}
	}
	for n, ss := range byName {
		t.Logf("span %s ×%d", n, len(ss))
	}
	for _, name := range []string{
		"semantic_router.request.received",
		"semantic_router.signal.evaluation",
		"semantic_router.decision.evaluation",
		"semantic_router.cache.lookup",
		"semantic_router.upstream.request",
		"semrouter.embedding.v1.EmbeddingService/Embed",
		"semrouter.classifier.v1.ClassifierService/Classify",
	} {
		if len(byName[name]) == 0 {
			var names []string
			for n := range byName {
				names = append(names, n)
			}
			t.Errorf("no %q span in trace %s; spans of the trace: %v", name, traceID, names)
		}
	}
	if d := byName["semantic_router.decision.evaluation"]; len(d) > 0 {
		found := false
		for _, kv := range d[0].Attributes {
			found = found || (kv.Key == "decision.name" && kv.Value.AsString() == "coding")
		}
		if !found {
			t.Errorf("decision span attributes = %v, want decision.name=coding", d[0].Attributes)
		}
	}
	// The backend got the trace context too.
	rec := backend.Received()
	if len(rec) == 0 || !strings.Contains(rec[len(rec)-1].Header.Get("traceparent"), traceID) {
		t.Errorf("backend did not receive the trace context: %+v", rec)
	}

	after := metricstest.Scrape(t, info.MetricsAddr)
	for _, tc := range []struct {
		name, sample string
		min          float64
	}{
		{"model requests", `llm_model_requests_total{model="code-expert"}`, 1},
		{"routing latency", `llm_model_routing_latency_seconds_count`, 1},
		{"ttft", `llm_model_ttft_seconds_count{model="code-expert"}`, 1},
		{"prompt tokens", `llm_model_prompt_tokens_total{model="code-expert"}`, 1},
		{"completion tokens", `llm_model_completion_tokens_total{model="code-expert"}`, 1},
		{"decision match", `llm_decision_match_total{decision_name="coding"}`, 1},
		{"keyword matched", `llm_signal_match_total{signal_name="code_keywords",signal_type="keyword"}`, 1},
		{"heuristic signal latency", `llm_signal_extraction_latency_seconds_count{signal_type="heuristic"}`, 1},
		{"embedding signal latency", `llm_signal_extraction_latency_seconds_count{signal_type="embedding"}`, 1},
		{"cache miss (no cache service here)", `llm_cache_plugin_misses_total{decision_name="coding",plugin_type="semantic-cache"}`, 1},
		{"classify round trip", `semrouter_natsrpc_client_duration_seconds_count{code="ok",procedure="/semrouter.classifier.v1.ClassifierService/Classify"}`, 1},
		{"classify handled", `semrouter_natsrpc_server_duration_seconds_count{code="ok",procedure="/semrouter.classifier.v1.ClassifierService/Classify"}`, 1},
		{"embed handled", `semrouter_natsrpc_server_duration_seconds_count{code="ok",procedure="/semrouter.embedding.v1.EmbeddingService/Embed"}`, 1},
		{"classifier requests", `semrouter_classifier_requests_total{decision="coding",outcome="ok"}`, 1},
	} {
		if d := after[tc.sample] - before[tc.sample]; d < tc.min {
			t.Errorf("%s: %s moved by %v, want at least %v", tc.name, tc.sample, d, tc.min)
		}
	}
	if d := sumPrefix(after, "semrouter_embedder_batch_size_count{") - sumPrefix(before, "semrouter_embedder_batch_size_count{"); d < 1 {
		t.Errorf("embedder batch size histogram moved by %v, want at least 1", d)
	}
	if !hasPrefix(after, "semrouter_embedder_queue_depth{") {
		t.Error("no semrouter_embedder_queue_depth sample")
	}
	if !hasPrefix(after, "go_goroutines") || !hasPrefix(after, "semrouter_gateway_config_revision") {
		t.Error("the shared registry lacks the Go collector or the gateway's config series")
	}
	// The cache registers its own series beside the gateway's plugin
	// counters (which it leaves to the gateway in one process).
	if after["semrouter_cache_config_revision"] < 1 || !hasPrefix(after, "llm_cache_operations_total{") {
		t.Errorf("the shared registry lacks the cache's series: revision %v", after["semrouter_cache_config_revision"])
	}
	// config-hub's series are in the shared registry too, and the hub
	// applied the file's revision (built its xDS snapshots) rather than
	// rejecting it.
	hubSeen := waitForSeries(t, info.MetricsAddr, "semrouter_config_hub_config_revisions_total{")
	if hubSeen[`semrouter_config_hub_config_revisions_total{outcome="rejected"}`] > 0 {
		t.Errorf("config-hub rejected %v revisions", hubSeen[`semrouter_config_hub_config_revisions_total{outcome="rejected"}`])
	}
	if hubSeen[`semrouter_config_hub_config_revisions_total{outcome="accepted"}`] < 1 || hubSeen["semrouter_config_hub_config_revision"] < 1 {
		t.Errorf("config-hub applied no revision: accepted %v, serving %v",
			hubSeen[`semrouter_config_hub_config_revisions_total{outcome="accepted"}`], hubSeen["semrouter_config_hub_config_revision"])
	}
	if hubSeen[`semrouter_config_hub_revisions_published_total{source="file"}`] < 1 {
		t.Error("config-hub counted no revision published from the file")
	}
}

// waitForSeries scrapes addr until a sample starting with prefix appears
// (a service handles a revision asynchronously) or 30 seconds pass, and
// returns that scrape.
func waitForSeries(t *testing.T, addr, prefix string) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m := metricstest.Scrape(t, addr)
		if hasPrefix(m, prefix) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s sample on /metrics after 30s", prefix)
		}
	}
}

func hasPrefix(m map[string]float64, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// startServe runs serve.Run with o (its Ready callback is set here) and
// returns once serve reported ready. stop cancels the run and returns
// Run's error; it may be called more than once.
func startServe(ctx context.Context, t *testing.T, o serve.Options) (info serve.Info, stop func() error) {
	t.Helper()
	runCtx, cancel := context.WithCancel(ctx)
	ready := make(chan serve.Info, 1)
	done := make(chan error, 1)
	o.Ready = func(info serve.Info) { ready <- info }
	go func() { done <- serve.Run(runCtx, o) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	select {
	case info = <-ready:
		return info, stop
	case err := <-done:
		cancel()
		t.Fatalf("serve stopped before ready: %v", err)
	case <-ctx.Done():
		_ = stop()
		t.Fatal("serve not ready")
	}
	return serve.Info{}, stop
}
