package metrics_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/metrics"
)

// recorder is a Registerer that remembers the metric names of everything
// registered through it.
type recorder struct {
	*prometheus.Registry
	names map[string]bool
}

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (r *recorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return r.Registry.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// registeredNames builds every series of this package and returns their
// names.
func registeredNames(t *testing.T) map[string]bool {
	t.Helper()
	r := &recorder{Registry: prometheus.NewRegistry(), names: map[string]bool{}}
	if _, err := metrics.NewGateway(r); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.NewClassifier(r); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.NewEmbedder(r); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.NewRPC(r); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.NewCache(r); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.NewConfigHub(r); err != nil {
		t.Fatal(err)
	}
	return r.names
}

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

// exprs collects every "expr" string of a dashboard JSON value.
func exprs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "expr" {
				*out = append(*out, s)
				continue
			}
			exprs(c, out)
		}
	case []any:
		for _, c := range x {
			exprs(c, out)
		}
	}
}

var (
	matchers   = regexp.MustCompile(`\{[^}]*\}`)
	ranges     = regexp.MustCompile(`\[[^\]]*\]`)
	grouping   = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	identifier = regexp.MustCompile(`(?:^|[^a-zA-Z0-9_:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	promqlWord = map[string]bool{
		"sum": true, "avg": true, "min": true, "max": true, "count": true, "rate": true, "irate": true, "increase": true,
		"histogram_quantile": true, "clamp_min": true, "clamp_max": true, "topk": true, "bottomk": true, "and": true,
		"or": true, "unless": true, "offset": true, "bool": true, "vector": true, "scalar": true, "abs": true, "e": true,
	}
)

// metricNames returns the metric names a PromQL expression selects, with
// histogram and summary suffixes removed.
func metricNames(expr string) []string {
	s := matchers.ReplaceAllString(expr, " ")
	s = ranges.ReplaceAllString(s, " ")
	s = grouping.ReplaceAllString(s, " ")
	var out []string
	for _, m := range identifier.FindAllStringSubmatch(s, -1) {
		name := m[1]
		if promqlWord[name] {
			continue
		}
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			name = strings.TrimSuffix(name, suf)
		}
		out = append(out, name)
	}
	return out
}

func TestMetricNames(t *testing.T) {
	for _, tc := range []struct{ name, expr string }{
		{"quantile", `histogram_quantile(0.99, sum by (le, model) (rate(llm_model_ttft_seconds_bucket{job=~"$job"}[$__rate_interval])))`},
		{"ratio", `sum(rate(a_total[5m])) / clamp_min(sum(rate(b_total{code!="ok"}[5m])), 1e-9)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := metricNames(tc.expr)
			want := map[string][]string{"quantile": {"llm_model_ttft_seconds"}, "ratio": {"a_total", "b_total"}}[tc.name]
			if !slices.Equal(got, want) {
				t.Errorf("metricNames = %v, want %v", got, want)
			}
		})
	}
}

// TestDashboardQueriesRegisteredMetrics parses the Grafana dashboard and
// checks that every metric it queries is one this package registers, and
// that it covers the series operators need.
func TestDashboardQueriesRegisteredMetrics(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "grafana", "semrouter-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	if dash["title"] == "" || dash["uid"] == "" {
		t.Errorf("dashboard needs a title and a uid")
	}
	var all []string
	exprs(dash["panels"], &all)
	if len(all) < 10 {
		t.Fatalf("only %d queries in the dashboard", len(all))
	}
	known := registeredNames(t)
	used := map[string]bool{}
	for _, e := range all {
		names := metricNames(e)
		if len(names) == 0 {
			t.Errorf("query selects no metric: %s", e)
		}
		for _, n := range names {
			used[n] = true
			if !known[n] {
				t.Errorf("query uses %q, which is not a registered metric: %s", n, e)
			}
		}
	}
	for _, n := range []string{
		metrics.ModelRequests, metrics.DecisionMatch, metrics.ModelRoutingLatency, metrics.ModelTTFT, metrics.ModelTPOT,
		metrics.CachePluginHits, metrics.CachePluginMisses, metrics.SignalExtractionLatency, metrics.EmbedderBatchSize,
		metrics.EmbedderQueueDepth, metrics.RPCClientDuration, metrics.RPCServerDuration, metrics.RequestErrors,
		metrics.ConfigHubConfigRevision, metrics.ConfigHubRevisionsPublished, metrics.ConfigHubRevisionsRejected, metrics.ConfigHubXDSStreams,
	} {
		if !used[n] {
			t.Errorf("the dashboard does not query %s", n)
		}
	}
}
