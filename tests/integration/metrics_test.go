package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/metrics/metricstest"
)

// TestMetricsCountersMove scrapes the gateway's and the classifier's
// /metrics before and after traffic and a config push, and wants the
// counters to follow what happened.
func TestMetricsCountersMove(t *testing.T) {
	s := startSystem(t, systemOptions{embedders: 1, cache: true})
	ctx := testContext(t, 2*time.Minute)
	c := s.client()

	gw0, cls0 := metricstest.Scrape(t, s.gwMetrics), metricstest.Scrape(t, s.clsMetrics)
	const coding, general = 3, 2
	for i := range coding {
		if err := expectRoute(ctx, c, fmt.Sprintf("Please debug function number %d", i), "code-expert"); err != nil {
			t.Fatal(err)
		}
	}
	// Distinct enough that the second is no semantic cache hit of the first.
	generalPrompts := [general]string{"Tell me a nice story about a dog named Rex", "What should I pack for a week of hiking in Norway?"}
	for _, p := range generalPrompts {
		if err := expectRoute(ctx, c, p, "small-chat"); err != nil {
			t.Fatal(err)
		}
	}
	// The gateway publishes a latency observation per completed response;
	// the classifier consumes them asynchronously.
	waitFor(t, 30*time.Second, "classifier latency observations", func() error {
		cls := metricstest.Scrape(t, s.clsMetrics)
		if d := cls["semrouter_classifier_latency_observations_total"] - cls0["semrouter_classifier_latency_observations_total"]; d < coding+general {
			return fmt.Errorf("latency observations moved by %v, want at least %d", d, coding+general)
		}
		return nil
	})
	cls1 := metricstest.Scrape(t, s.clsMetrics)
	for series, want := range map[string]float64{
		`semrouter_classifier_requests_total{decision="coding",outcome="ok"}`:  coding,
		`semrouter_classifier_requests_total{decision="general",outcome="ok"}`: general,
		`semrouter_classifier_duration_seconds_count`:                          coding + general,
	} {
		if d := cls1[series] - cls0[series]; d != want {
			t.Errorf("classifier %s moved by %v, want %v", series, d, want)
		}
	}

	if len(s.caches) > 0 {
		// A repeated question of the cached decision is a hit on one of
		// the replicas (lookups are balanced over the queue group).
		hits := func() float64 {
			var sum float64
			for _, addr := range s.cacheAddrs {
				for series, v := range metricstest.Scrape(t, addr) {
					if strings.HasPrefix(series, "llm_cache_plugin_hits_total") {
						sum += v
					}
				}
			}
			return sum
		}
		before := hits()
		waitFor(t, 30*time.Second, "a cache hit", func() error {
			a, err := chat(ctx, c, generalPrompts[1])
			if err != nil {
				return err
			}
			if a.header.Get("x-vsr-cache-hit") != "true" {
				return fmt.Errorf("no hit yet")
			}
			return nil
		})
		// The gateway may report the hit (CacheService.Served) after the
		// client has its answer: poll the counter.
		waitFor(t, 30*time.Second, "llm_cache_plugin_hits_total over the cache replicas", func() error {
			if d := hits() - before; d < 1 {
				return fmt.Errorf("moved by %v, want at least 1", d)
			}
			return nil
		})
	}

	// A config push moves the gateway's and the classifier's revision
	// series.
	rev := s.activeRevision()
	v2 := s.params
	v2.V2 = true
	if status, body := s.putConfig(t, renderConfig(t, v2), rev); status != http.StatusOK {
		t.Fatalf("PUT config: %d %s", status, body)
	}
	waitFor(t, 30*time.Second, "gateway and classifier metrics at the new revision", func() error {
		gw, cls := metricstest.Scrape(t, s.gwMetrics), metricstest.Scrape(t, s.clsMetrics)
		if gw["semrouter_gateway_config_revision"] != float64(rev+1) {
			return fmt.Errorf("gateway revision gauge = %v, want %d", gw["semrouter_gateway_config_revision"], rev+1)
		}
		if cls["semrouter_classifier_config_revision"] != float64(rev+1) {
			return fmt.Errorf("classifier revision gauge = %v, want %d", cls["semrouter_classifier_config_revision"], rev+1)
		}
		accepted := `semrouter_gateway_config_revisions_total{outcome="accepted"}`
		if d := gw[accepted] - gw0[accepted]; d != 1 {
			return fmt.Errorf("gateway %s moved by %v, want 1", accepted, d)
		}
		return nil
	})
}
