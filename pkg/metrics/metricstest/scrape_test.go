package metricstest_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/semrouter/semrouter/pkg/metrics/metricstest"
)

// A real registry served by promhttp: the scraped values are the ones set.
func TestScrapeReadsSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "demo_total", Help: "demo"}, []string{"outcome"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "demo_level", Help: "demo"})
	reg.MustRegister(c, g)
	c.WithLabelValues("accepted").Add(3)
	g.Set(1.5)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	m := metricstest.Scrape(t, strings.TrimPrefix(srv.URL, "http://"))
	if m[`demo_total{outcome="accepted"}`] != 3 || m["demo_level"] != 1.5 {
		t.Fatalf("scraped %v", m)
	}
	if _, ok := m["demo_missing"]; ok {
		t.Fatal("a series that was never written is present")
	}
}
