package apimode

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/windows"
)

// tickingClock advances by step at every reading, so that every request
// has a positive, deterministic-enough latency and every read of the
// windows is past update_interval.
type tickingClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *tickingClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

const modelStatsDoc = `version: v0.3
listeners: [{name: http, port: 8899}]
providers:
  defaults: {default_model: m1}
  models:
    - {name: m1, backend_refs: [{name: b1, endpoint: "M1"}]}
    - {name: m2, backend_refs: [{name: b2, endpoint: "M2"}]}
    - {name: m3, backend_refs: [{name: b3, endpoint: "M3"}]}
    - {name: m4, backend_refs: [{name: b4, endpoint: "M4"}]}
global:
  services:
    observability:
      metrics:
        windowed_metrics: {enabled: WINDOWED, time_windows: [1m, 5m], update_interval: 1ms, model_metrics: true, queue_depth_estimation: true, max_models: 3}
`

type modelStatsFixture struct {
	e   *E2E
	reg *prometheus.Registry
	llm map[string]*fakeLLM
}

// newModelStatsFixture serves four models on FAKE LLM backends (httptest
// servers imitating OpenAI-compatible servers; no real model runs here):
// m1 streams, m2 and m4 answer JSON, m3 answers 500. max_models is 3, so
// m4 counts as "other".
func newModelStatsFixture(t *testing.T, enabled bool, opts ...Option) *modelStatsFixture {
	t.Helper()
	f := &modelStatsFixture{reg: prometheus.NewRegistry(), llm: map[string]*fakeLLM{
		"M1": newFakeLLM(t, "fake-m1", "stream"), "M2": newFakeLLM(t, "fake-m2", "ok"),
		"M3": newFakeLLM(t, "fake-m3", "status:500"), "M4": newFakeLLM(t, "fake-m4", "ok")}}
	doc := strings.Replace(modelStatsDoc, "WINDOWED", map[bool]string{true: "true", false: "false"}[enabled], 1)
	for k, l := range f.llm {
		doc = strings.Replace(doc, `"`+k+`"`, `"`+l.endpoint()+`"`, 1)
	}
	spec := SpecFromYAML(t, doc, "model-stats", nil, nil)
	gm, err := metrics.NewGateway(f.reg)
	if err != nil {
		t.Fatal(err)
	}
	clk := &tickingClock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), step: 5 * time.Millisecond}
	f.e = StartE2E(t, spec, gateway.Stages{}, E2EOptions{Options: opts,
		GatewayOptions: []gateway.Option{gateway.WithMetrics(gm), gateway.WithClock(clk.now)}})
	return f
}

func (f *modelStatsFixture) chat(t *testing.T, model string, stream bool) int {
	t.Helper()
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"q"}]`
	if stream {
		body += `,"stream":true`
	}
	resp, err := http.Post(f.e.URL+"/v1/chat/completions", "application/json", strings.NewReader(body+"}"))
	if err != nil {
		t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func (f *modelStatsFixture) stats(t *testing.T) (int, *windows.Report, string) {
	t.Helper()
	resp, err := http.Get(f.e.URL + PathRouterModelStats)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, string(raw)
	}
	var r windows.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return resp.StatusCode, &r, string(raw)
}

// gauge gathers the registry and returns name{labels}; ok is false when
// the series is absent.
func (f *modelStatsFixture) gauge(t *testing.T, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		if mf.GetType() != dto.MetricType_GAUGE {
			t.Fatalf("%s is a %v, want a gauge", name, mf.GetType())
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

func modelOf(r *windows.Report, name string) *windows.ModelReport {
	for i := range r.Models {
		if r.Models[i].Model == name {
			return &r.Models[i]
		}
	}
	return nil
}

// TestModelStatsE2E drives API mode with FAKE LLM backends and checks the
// windowed series through a real Prometheus registry gather and the JSON
// endpoint: counts, error ratio, latency/TTFT quantiles, the max_models
// overflow, and the in-flight count while a request is held upstream.
func TestModelStatsE2E(t *testing.T) {
	f := newModelStatsFixture(t, true)

	// Hold one m2 request at the FAKE backend: it is in flight.
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	m2 := f.llm["M2"]
	m2.mu.Lock()
	m2.onRequest = func() {
		first := false
		once.Do(func() { first = true })
		if first {
			close(arrived)
			<-release
		}
	}
	m2.mu.Unlock()
	held := make(chan int, 1)
	go func() { held <- f.chat(t, "m2", false) }()
	<-arrived
	if v, ok := f.gauge(t, metrics.GatewayInflight, map[string]string{"model": "m2"}); !ok || v != 1 {
		t.Errorf("in flight m2 while held = %v (present %v), want 1", v, ok)
	}
	code, rep, raw := f.stats(t)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", PathRouterModelStats, code, raw)
	}
	if m := modelOf(rep, "m2"); m == nil || m.InFlight == nil || *m.InFlight != 1 {
		t.Errorf("JSON in flight of m2 while held: %s", raw)
	}
	close(release)
	if c := <-held; c != http.StatusOK {
		t.Fatalf("held request: %d", c)
	}

	for range 2 {
		if c := f.chat(t, "m1", true); c != http.StatusOK {
			t.Fatalf("m1 stream: %d", c)
		}
	}
	for range 2 {
		if c := f.chat(t, "m2", false); c != http.StatusOK {
			t.Fatalf("m2: %d", c)
		}
	}
	for range 2 {
		if c := f.chat(t, "m3", false); c != http.StatusInternalServerError {
			t.Fatalf("m3: %d, want the FAKE's 500", c)
		}
	}
	if c := f.chat(t, "m4", false); c != http.StatusOK {
		t.Fatalf("m4: %d", c)
	}
	f.e.Gateway.Wait()

	for _, tc := range []struct {
		model    string
		requests float64
		errRatio float64
	}{{"m1", 2, 0}, {"m2", 3, 0}, {"m3", 2, 1}, {windows.Other, 1, 0}} {
		for _, w := range []string{"1m", "5m"} {
			l := map[string]string{"model": tc.model, "window": w}
			if v, ok := f.gauge(t, metrics.GatewayWindowRequests, l); !ok || v != tc.requests {
				t.Errorf("%s %s requests = %v (present %v), want %v", tc.model, w, v, ok, tc.requests)
			}
			if v, _ := f.gauge(t, metrics.GatewayWindowErrorRatio, l); v != tc.errRatio {
				t.Errorf("%s %s error ratio = %v, want %v", tc.model, w, v, tc.errRatio)
			}
			if v, ok := f.gauge(t, metrics.GatewayWindowRequestRate, l); !ok || v <= 0 {
				t.Errorf("%s %s request rate = %v (present %v)", tc.model, w, v, ok)
			}
		}
		if v, ok := f.gauge(t, metrics.GatewayInflight, map[string]string{"model": tc.model}); !ok || v != 0 {
			t.Errorf("%s in flight after the requests = %v (present %v)", tc.model, v, ok)
		}
		if _, ok := f.gauge(t, metrics.GatewayQueueEstimate, map[string]string{"model": tc.model}); !ok {
			t.Errorf("%s: no queue estimate", tc.model)
		}
	}
	if _, ok := f.gauge(t, metrics.GatewayWindowRequests, map[string]string{"model": "m4"}); ok {
		t.Error("m4 has its own series past max_models")
	}
	for _, q := range []string{"0.5", "0.95", "0.99"} {
		if v, ok := f.gauge(t, metrics.GatewayWindowLatency, map[string]string{"model": "m2", "window": "1m", "quantile": q}); !ok || v <= 0 {
			t.Errorf("m2 latency q%s = %v (present %v)", q, v, ok)
		}
	}
	for _, q := range []string{"0.5", "0.95"} {
		if v, ok := f.gauge(t, metrics.GatewayWindowTTFT, map[string]string{"model": "m1", "window": "1m", "quantile": q}); !ok || v <= 0 {
			t.Errorf("m1 (streamed) TTFT q%s = %v (present %v)", q, v, ok)
		}
		if _, ok := f.gauge(t, metrics.GatewayWindowTTFT, map[string]string{"model": "m2", "window": "1m", "quantile": q}); ok {
			t.Errorf("m2 (not streamed) has a TTFT series")
		}
	}
	if v, ok := f.gauge(t, metrics.GatewayWindowTokenRate, map[string]string{"model": "m1", "window": "1m"}); !ok || v <= 0 {
		t.Errorf("m1 completion tokens/s = %v (present %v); the FAKE reports 3 per answer", v, ok)
	}

	code, rep, raw = f.stats(t)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", PathRouterModelStats, code, raw)
	}
	if strings.Join(rep.Windows, ",") != "1m,5m" || !rep.QueueDepthEstimation || rep.MaxModels != 3 {
		t.Errorf("report header: %s", raw)
	}
	m1, m3 := modelOf(rep, "m1"), modelOf(rep, "m3")
	if m1 == nil || m3 == nil || modelOf(rep, windows.Other) == nil || modelOf(rep, "m4") != nil {
		t.Fatalf("models in %s", raw)
	}
	if w := m1.Windows[0]; w.Requests != 2 || w.TTFT == nil || w.TTFT.Count != 2 || w.Latency == nil || w.CompletionTokensPerSecond <= 0 {
		t.Errorf("m1 1m window: %+v", w)
	}
	if w := m3.Windows[1]; w.Window != "5m" || w.Errors != 2 || w.ErrorRatio != 1 {
		t.Errorf("m3 5m window: %+v", w)
	}
}

func TestModelStatsDisabled(t *testing.T) {
	f := newModelStatsFixture(t, false)
	if c := f.chat(t, "m2", false); c != http.StatusOK {
		t.Fatalf("m2: %d", c)
	}
	code, _, raw := f.stats(t)
	if code != http.StatusNotFound || !strings.Contains(raw, "windowed_metrics_disabled") {
		t.Errorf("GET %s with windowed_metrics off: %d %s", PathRouterModelStats, code, raw)
	}
	for _, name := range []string{metrics.GatewayWindowRequests, metrics.GatewayInflight} {
		if _, ok := f.gauge(t, name, nil); ok {
			t.Errorf("%s exported with windowed_metrics off", name)
		}
	}
}

func TestModelStatsAccess(t *testing.T) {
	f := newModelStatsFixture(t, true, WithTrustedProxies(nil), WithEnv(func(k string) string {
		if k == EnvManagementToken {
			return "s3cret"
		}
		return ""
	}))
	get := func(method, token string) int {
		req, err := http.NewRequest(method, f.e.URL+PathRouterModelStats, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name, method, token string
		want                int
	}{
		{"untrusted peer", http.MethodGet, "", http.StatusForbidden},
		{"wrong token", http.MethodGet, "nope", http.StatusForbidden},
		{"management token", http.MethodGet, "s3cret", http.StatusOK},
		{"POST", http.MethodPost, "s3cret", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := get(tc.method, tc.token); got != tc.want {
				t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
			}
		})
	}
}
