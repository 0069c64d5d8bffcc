package integration

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scrape reads a Prometheus text exposition into series → value, the
// series written as the exposition prints it (name{labels}).
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d", addr, resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape %s: bad sample %q", addr, line)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	return out
}

// TestMetricsCountersMove scrapes the gateway's and the classifier's
// /metrics before and after traffic and a config push, and wants the
// counters to follow what happened.
func TestMetricsCountersMove(t *testing.T) {
	s := startSystem(t, systemOptions{embedders: 1, cache: true})
	ctx := testContext(t, 2*time.Minute)
	c := s.client()

	gw0, cls0 := scrape(t, s.gwMetrics), scrape(t, s.clsMetrics)
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
		cls := scrape(t, s.clsMetrics)
		if d := cls["semrouter_classifier_latency_observations_total"] - cls0["semrouter_classifier_latency_observations_total"]; d < coding+general {
			return fmt.Errorf("latency observations moved by %v, want at least %d", d, coding+general)
		}
		return nil
	})
	cls1 := scrape(t, s.clsMetrics)
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
				for series, v := range scrape(t, addr) {
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
		gw, cls := scrape(t, s.gwMetrics), scrape(t, s.clsMetrics)
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
