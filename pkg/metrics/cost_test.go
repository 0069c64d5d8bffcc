package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/metrics"
)

// TestCostSeries adds costs through a real registry and reads them back
// with a gather: amounts add per label set, negative amounts are ignored,
// and a nil Gateway records nothing.
func TestCostSeries(t *testing.T) {
	var none *metrics.Gateway
	none.ModelCost("m", "USD", 1)
	none.DecisionCost("d", "USD", 1)
	none.CacheSavedCost("d", "USD", 1)
	none.CostUnknown("m")

	reg := prometheus.NewRegistry()
	g, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	g.ModelCost("m", "USD", 0.25)
	g.ModelCost("m", "USD", 0.5)
	g.ModelCost("m", "EUR", 2)
	g.ModelCost("m", "USD", -7)
	g.DecisionCost("d", "USD", 0.125)
	g.CacheSavedCost("d", "USD", 0.0625)
	g.CostUnknown("m")
	want := map[string]float64{
		metrics.ModelCost + `{currency="USD",model="m"}`:                     0.75,
		metrics.ModelCost + `{currency="EUR",model="m"}`:                     2,
		metrics.GatewayDecisionCost + `{currency="USD",decision_name="d"}`:   0.125,
		metrics.GatewayCacheSavedCost + `{currency="USD",decision_name="d"}`: 0.0625,
		metrics.GatewayCostUnknown + `{model="m"}`:                           1,
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName() + "{"
			for i, lp := range m.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += lp.GetName() + `="` + lp.GetValue() + `"`
			}
			got[key+"}"] = m.GetCounter().GetValue()
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}
