package server_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedclient"
	"github.com/semrouter/semrouter/services/embedder-gpu/server"
)

// TestRunRecordsMetrics serves a real model with a Registerer and checks
// the batch, queue and NATS handling series after one request.
func TestRunRecordsMetrics(t *testing.T) {
	ms := loadModels(t)
	ns := natstest.RunServer(t)
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	nc := natstest.Connect(t, ns) // closed after the Cleanup below (cleanups run last-in first-out)
	go func() {
		done <- server.Run(ctx, server.Options{NATS: nc, Models: []server.Model{{Embedder: ms.use, Default: true}},
			Registerer: reg, Ready: func(string) { close(ready) }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("run stopped: %v", err)
	}
	if _, err := embedclient.New(natstest.Connect(t, ns)).Embed(context.Background(), "", []string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetHistogram() != nil:
				got[mf.GetName()+"_count"] += float64(m.GetHistogram().GetSampleCount())
				got[mf.GetName()+"_sum"] += m.GetHistogram().GetSampleSum()
			case m.GetGauge() != nil:
				got[mf.GetName()] += m.GetGauge().GetValue()
				got[mf.GetName()+"_series"]++
			}
		}
	}
	for _, tc := range []struct {
		name string
		key  string
		want float64
	}{
		{"one model run", metrics.EmbedderBatchSize + "_count", 1},
		{"of three texts", metrics.EmbedderBatchSize + "_sum", 3},
		{"run timed", metrics.EmbedderBatchDuration + "_count", 1},
		{"queue reported", metrics.EmbedderQueueDepth + "_series", 1},
		{"queue empty after the request", metrics.EmbedderQueueDepth, 0},
		{"request handled over NATS", metrics.RPCServerDuration + "_count", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got[tc.key] != tc.want {
				t.Errorf("%s = %v, want %v (all: %v)", tc.key, got[tc.key], tc.want, got)
			}
		})
	}
}
