package apimode

// The model servers here are LLM FAKES: httptest servers imitating an
// OpenAI-compatible LLM (fakeLLM, fakes_test.go); no real model runs here.

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// TestSickReplicaEjectedAlone: model m has two replicas (two backend_refs);
// one answers 500. Its failures eject that replica alone: the healthy
// replica of the same model keeps serving m (the fallback model is never
// used, nothing reports m ejected or failed), and once the ejection time
// has passed the sick replica is probed again.
func TestSickReplicaEjectedAlone(t *testing.T) {
	sick := newFakeLLM(t, "sick", "status:500") // FAKE LLM replica 1 of m
	healthy := newFakeLLM(t, "healthy", "ok")   // FAKE LLM replica 2 of m
	fallback := newFakeLLM(t, "fallback", "ok") // FAKE LLM of the default model
	spec := baseSpec()
	spec.Models = []routes.Model{
		{Name: "m", RetryCount: 1, Outlier: routes.Outlier{Consecutive5xx: 3, BaseEjectionTime: 30 * time.Second},
			Backends: []routes.Backend{backend("replica-1", sick), backend("replica-2", healthy)}},
		{Name: "small", Backends: []routes.Backend{backend("small-1", fallback)}},
	}
	spec.Decisions = []routes.Decision{{Name: "d", ModelRefs: []routes.ModelRef{{Model: "m"}}}}
	fx := newFailoverFixture(t, spec, gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "d"}}}, 10*time.Second)
	send := func(n int) {
		t.Helper()
		for range n {
			resp, err := http.Post(fx.url+"/v1/chat/completions", "application/json",
				strings.NewReader(`{"model":"auto","messages":[{"role":"user","content":"q"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "answer from healthy") {
				t.Fatalf("%d %s, want the healthy replica's answer", resp.StatusCode, body)
			}
			if got := resp.Header.Get("x-vsr-selected-model"); got != "m" {
				t.Fatalf("x-vsr-selected-model %q, want m (served by its healthy replica)", got)
			}
		}
	}
	sickLabels := map[string]string{"model": "m", "backend": "replica-1"}
	healthyLabels := map[string]string{"model": "m", "backend": "replica-2"}
	steps := []struct {
		name         string
		advance      time.Duration
		requests     int
		wantSick     int // requests the sick replica received so far
		wantHealthy  int
		wantEjected  float64 // the sick replica's gauge
		wantEjection float64
	}{
		{"three 500s eject the sick replica, the healthy one takes everything", 0, 10, 3, 10, 1, 1},
		{"still ejected just before the ejection time", 30*time.Second - time.Nanosecond, 5, 3, 15, 1, 1},
		{"probed again after the ejection time", time.Nanosecond, 1, 4, 16, 0, 1},
		{"ejected again after three more failures, for twice as long", 0, 5, 6, 21, 1, 2},
	}
	for _, st := range steps {
		fx.clock.advance(st.advance)
		send(st.requests)
		if n := len(sick.requests()); n != st.wantSick {
			t.Fatalf("%s: sick replica got %d requests, want %d", st.name, n, st.wantSick)
		}
		if n := len(healthy.requests()); n != st.wantHealthy {
			t.Fatalf("%s: healthy replica got %d requests, want %d", st.name, n, st.wantHealthy)
		}
		if n := len(fallback.requests()); n != 0 {
			t.Fatalf("%s: the fallback model got %d requests while a replica of m was healthy", st.name, n)
		}
		if got := fx.metric(t, metrics.GatewayEjected, sickLabels); got != st.wantEjected {
			t.Errorf("%s: sick replica ejected gauge = %v, want %v", st.name, got, st.wantEjected)
		}
		if got := fx.metric(t, metrics.GatewayEjections, sickLabels); got != st.wantEjection {
			t.Errorf("%s: sick replica ejections = %v, want %v", st.name, got, st.wantEjection)
		}
		if got := fx.metric(t, metrics.GatewayEjections, healthyLabels); got != 0 {
			t.Errorf("%s: healthy replica ejected %v times", st.name, got)
		}
		if got := fx.metric(t, metrics.RequestErrors, map[string]string{"model": "m"}); got != 0 {
			t.Errorf("%s: %v request errors for m, whose healthy replica answered every request", st.name, got)
		}
	}
	if got := fx.metric(t, metrics.GatewayAttemptFailures, map[string]string{"model": "m", "backend": "replica-1", "reason": metrics.ReasonUpstream5xx}); got != 6 {
		t.Errorf("attempt failures {m,replica-1,upstream_5xx} = %v, want 6", got)
	}
}
