package server

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/natstest"
)

// TestNewMetricsInSharedRegistry: in one process the gateway owns the
// plugin hit/miss counters; the cache registers the rest beside them.
func TestNewMetricsInSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	gatewayHits := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "llm_cache_plugin_hits_total", Help: "gateway"},
		[]string{"decision_name", "plugin_type"})
	reg.MustRegister(gatewayHits)
	m, err := NewMetricsIn(reg)
	if err != nil {
		t.Fatalf("NewMetricsIn beside the gateway's counters: %v", err)
	}
	m.lookup("d", true) // left to the gateway: must not panic or count
	m.op("lookup", nil, 0)
	m.setRevision(7)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, name := range []string{"llm_cache_operations_total", "llm_cache_operation_duration_seconds", "semrouter_cache_config_revision"} {
		if !got[name] {
			t.Errorf("%s not registered; have %v", name, got)
		}
	}
	if got["go_goroutines"] {
		t.Error("the runtime collectors belong to the shared registry's owner")
	}
	if _, err := NewMetricsIn(reg); err == nil {
		t.Error("registering the cache metrics twice did not fail")
	}
}

func TestRunRegistererExcludesMetricsAddr(t *testing.T) {
	ns := natstest.RunServer(t)
	err := Run(t.Context(), Options{NATS: natstest.Connect(t, ns), Registerer: prometheus.NewRegistry(), MetricsAddr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "either Registerer or a metrics address") {
		t.Fatalf("err %v", err)
	}
}
