package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/services/embedder-gpu/batching"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedclient"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/modeltest"
	"github.com/semrouter/semrouter/services/embedder-gpu/server"
)

// benchQuery returns a query-sized text (about 16 words), different per seed.
func benchQuery(seed int) string {
	words := strings.Fields("the router sends every request to the model that fits the task best and keeps the cost low while the answer stays good for the user who asked it")
	out := make([]string, 16)
	for i := range out {
		out[i] = words[(i+seed)%len(words)]
	}
	return strings.Join(out, " ")
}

// BenchmarkThroughput compares, per model, the in-process ONNX Runtime
// throughput at batch 32 with the throughput of concurrent one-text Embed
// calls through NATS (natsrpc + Connect + the dynamic batcher, max batch 32)
// against an in-process nats-server, without and with client-side
// coalescing. The nats sub-benchmarks report ratio = their texts/s over the
// in-process texts/s of the same run.
func BenchmarkThroughput(b *testing.B) {
	const batch = 32
	for _, name := range []string{embedding.ModelUSELite, embedding.ModelGloveSIF100D} {
		b.Run(name, func(b *testing.B) {
			m := modeltest.Load(b, name, embedding.Config{MaxBatch: batch})
			var inProcess float64
			b.Run(fmt.Sprintf("in-process/batch=%d", batch), func(b *testing.B) {
				texts := make([]string, batch)
				for i := range texts {
					texts[i] = benchQuery(i)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := m.Embed(context.Background(), texts); err != nil {
						b.Fatal(err)
					}
				}
				inProcess = float64(b.N*batch) / b.Elapsed().Seconds()
				b.ReportMetric(inProcess, "texts/s")
			})
			b.Run(fmt.Sprintf("nats/concurrency=%d", batch), func(b *testing.B) {
				benchNATS(b, m, name, batch, batch, inProcess)
			})
			// nats-coalesced: the same callers, with the client coalescing
			// concurrent calls into requests of up to 32 texts
			// (embedclient.WithCoalescing) and the server not waiting for
			// company (--batch-window 0: the requests come batched); at
			// concurrency 64 two such requests are in flight, so transport
			// can overlap model runs.
			for _, conc := range []int{batch, 2 * batch} {
				b.Run(fmt.Sprintf("nats-coalesced/concurrency=%d", conc), func(b *testing.B) {
					benchNATS(b, m, name, batch, conc, inProcess, embedclient.WithCoalescing(coalesceWindow, batch))
				})
			}
			// interleaved: see benchInterleaved; -coalesced with the
			// coalescing client.
			b.Run(fmt.Sprintf("interleaved/batch=%d", batch), func(b *testing.B) {
				benchInterleaved(b, m, name, batch)
			})
			b.Run(fmt.Sprintf("interleaved-coalesced/batch=%d", batch), func(b *testing.B) {
				benchInterleaved(b, m, name, batch, embedclient.WithCoalescing(coalesceWindow, batch))
			})
		})
	}
}

// coalesceWindow is how long a coalescing client waits for company.
const coalesceWindow = 500 * time.Microsecond

// benchNATS runs concurrency goroutines sending one-text Embed requests
// through NATS to m (server max batch: batch) and reports texts/s, texts per
// model run and the ratio to the in-process rate.
func benchNATS(b *testing.B, m embedding.Embedder, name string, batch, concurrency int, inProcess float64, opts ...embedclient.Option) {
	counted := &batchCounter{Embedder: m}
	c := serveForBench(b, counted, batch, opts...)
	var seed atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(max(1, concurrency/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		text := []string{benchQuery(int(seed.Add(1)))}
		for pb.Next() {
			if _, err := c.Embed(context.Background(), name, text); err != nil {
				b.Error(err)
				return
			}
		}
	})
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "texts/s")
	if calls := counted.calls.Load(); calls > 0 {
		b.ReportMetric(float64(counted.texts.Load())/float64(calls), "texts/batch")
	}
	if inProcess > 0 {
		b.ReportMetric(rate/inProcess, "ratio")
	}
}

// benchInterleaved alternates one in-process batch with one round of batch
// concurrent one-text NATS requests, timing each separately, so a machine
// whose load drifts during the run (shared CI) still gives a fair ratio.
func benchInterleaved(b *testing.B, m embedding.Embedder, name string, batch int, opts ...embedclient.Option) {
	c := serveForBench(b, m, batch, opts...)
	texts := make([]string, batch)
	for i := range texts {
		texts[i] = benchQuery(i)
	}
	var inTime, natsTime time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if _, _, err := m.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
		inTime += time.Since(start)
		start = time.Now()
		var wg sync.WaitGroup
		for i := range batch {
			wg.Go(func() {
				if _, err := c.Embed(context.Background(), name, texts[i:i+1]); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		natsTime += time.Since(start)
	}
	texts64 := float64(b.N * batch)
	b.ReportMetric(texts64/inTime.Seconds(), "in-process-texts/s")
	b.ReportMetric(texts64/natsTime.Seconds(), "nats-texts/s")
	b.ReportMetric(inTime.Seconds()/natsTime.Seconds(), "ratio")
}

// serveForBench serves m alone over an in-process NATS server (dynamic
// batching up to batch texts; window 2 ms, or none when the client
// coalesces, i.e. opts are given) and returns a client with opts.
func serveForBench(b *testing.B, m embedding.Embedder, batch int, opts ...embedclient.Option) *embedclient.Client {
	b.Helper()
	cfg := batching.Config{MaxBatch: batch}
	if len(opts) > 0 {
		cfg.Window = -1
	}
	ns := natstest.RunServer(b)
	svc, err := server.NewService(slog.New(slog.DiscardHandler), []server.Model{{Embedder: m}}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	servers, err := svc.ServeNATS(natstest.Connect(b, ns), server.NATSOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, s := range servers {
			s.Close()
		}
	})
	return embedclient.New(natstest.Connect(b, ns), opts...)
}

// batchCounter wraps the real model to measure the batch sizes the
// dynamic batcher forms.
type batchCounter struct {
	embedding.Embedder
	calls, texts atomic.Int64
}

func (c *batchCounter) Embed(ctx context.Context, texts []string) ([][]float32, embedding.Info, error) {
	c.calls.Add(1)
	c.texts.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

// BenchmarkServiceEmbed calls the Embed handler directly (no transport) with
// one text on the fast model: the cost of validation, the batcher and the
// response on top of the model.
func BenchmarkServiceEmbed(b *testing.B) {
	m := modeltest.Load(b, embedding.ModelGloveSIF100D, embedding.Config{})
	svc, err := server.NewService(slog.New(slog.DiscardHandler), []server.Model{{Embedder: m}}, batching.Config{Window: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	req := connect.NewRequest(&embeddingv1.EmbedRequest{Texts: []string{benchQuery(0)}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.Embed(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
}
