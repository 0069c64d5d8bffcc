package natsrpc_test

import (
	"context"
	"testing"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	configv1 "github.com/semrouter/semrouter/gen/semrouter/config/v1"
	"github.com/semrouter/semrouter/gen/semrouter/config/v1/configv1connect"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	"github.com/semrouter/semrouter/pkg/natstest"
)

// histogramCounts maps "procedure code" to the sample count of metric.
func histogramCounts(t *testing.T, g prometheus.Gatherer, metric string) map[string]uint64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			var proc, code string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "procedure":
					proc = l.GetValue()
				case "code":
					code = l.GetValue()
				}
			}
			out[proc+" "+code] = m.GetHistogram().GetSampleCount()
		}
	}
	return out
}

func TestMetricsRecordRoundTrips(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewRPC(reg)
	if err != nil {
		t.Fatal(err)
	}
	s := natstest.RunServer(t)
	// Nobody serves yet: the client records the transport failure.
	cli := configv1connect.NewConfigServiceClient(natsrpc.NewClient(natstest.Connect(t, s), natsrpc.WithMetrics(m)), natsrpc.BaseURL)
	if _, err := cli.GetConfig(context.Background(), connect.NewRequest(&configv1.GetConfigRequest{})); connect.CodeOf(err) != connect.CodeUnavailable {
		t.Fatalf("err = %v, want unavailable", err)
	}
	serveConfig(t, natstest.Connect(t, s), newConfigService(), natsrpc.WithMetrics(m))
	for range 2 {
		if _, err := cli.GetConfig(context.Background(), connect.NewRequest(&configv1.GetConfigRequest{})); err != nil {
			t.Fatal(err)
		}
	}
	const proc = configv1connect.ConfigServiceGetConfigProcedure
	tests := []struct {
		name, metric, key string
		want              uint64
	}{
		{"client ok", metrics.RPCClientDuration, proc + " ok", 2},
		{"client unavailable", metrics.RPCClientDuration, proc + " unavailable", 1},
		{"server ok", metrics.RPCServerDuration, proc + " ok", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := histogramCounts(t, reg, tc.metric)
			if got[tc.key] != tc.want {
				t.Errorf("%s[%s] = %d, want %d (all: %v)", tc.metric, tc.key, got[tc.key], tc.want, got)
			}
		})
	}
}
