package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/metrics"
)

func TestHallucinationSeries(t *testing.T) {
	reg := prometheus.NewRegistry()
	g, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	g.HallucinationVerdict("rag", metrics.HallucinationDetected)
	g.HallucinationVerdict("rag", metrics.HallucinationDetected)
	g.HallucinationVerdict("facts", metrics.HallucinationUnverified)
	var nilGateway *metrics.Gateway
	nilGateway.HallucinationVerdict("rag", metrics.HallucinationGrounded) // records nothing
	got := exposition(t, reg, metrics.GatewayHallucinationVerdicts)
	for _, want := range []string{
		`semrouter_gateway_hallucination_verdicts_total{decision_name="rag",verdict="hallucination_detected"} 2`,
		`semrouter_gateway_hallucination_verdicts_total{decision_name="facts",verdict="unverified_factual"} 1`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("want %q in\n%s", want, got)
		}
	}
}
