package server

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"connectrpc.com/connect"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/services/cache/cachetest"
)

// BenchmarkLookupNATS measures a Lookup through NATS (natsrpc client →
// queue group → replica → memory backend) with 10k cached entries.
func BenchmarkLookupNATS(b *testing.B) {
	const entries, dim = 10000, 128
	ns := natstest.RunServer(b)
	s := DefaultSettings()
	s.Options.Dim, s.Options.MaxEntries, s.Options.DefaultTTL = dim, 2*entries, time.Hour
	r := startReplica(b, ns, "bench", withSettings(s))
	nc := natstest.Connect(b, ns)
	js, err := natsjs.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vecs := make([][]float32, entries)
	for i := range entries {
		vecs[i] = cachetest.Unit(rng, dim)
		req := &cachev1.StoreRequest{ExactFingerprint: fp(name(i)), ContextFingerprint: fp(fmt.Sprint("ctx", i%50)),
			Partition: basePartition, QueryEmbedding: &commonv1.Vector{Values: vecs[i]},
			Response: &cachev1.CachedResponse{Body: []byte(`{"choices":[{"message":{"content":"an answer of moderate length"}}]}`),
				ContentType: "application/json", StatusCode: 200}}
		data, _ := proto.Marshal(req)
		if _, err := js.PublishAsync(subjects.CacheWrite("math"), data); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publishing timed out")
	}
	waitAll(b, ns, r)
	if st := stats(b, r.http); st.GetEntries() != entries {
		b.Fatalf("%d entries, want %d", st.GetEntries(), entries)
	}
	cli := natsClient(b, ns)
	b.Run("exact", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			res, err := cli.Lookup(b.Context(), connect.NewRequest(exactLookup(basePartition, name(i%entries))))
			if err != nil || !res.Msg.GetHit() {
				b.Fatalf("lookup %d: %v", i, err)
			}
			i++
		}
	})
	b.Run("semantic", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := i % entries
			req := &cachev1.LookupRequest{ContextFingerprint: fp(fmt.Sprint("ctx", k%50)), Partition: basePartition,
				Mode: cachev1.LookupMode_LOOKUP_MODE_SEMANTIC, QueryEmbedding: &commonv1.Vector{Values: vecs[k]}, SimilarityThreshold: 0.95}
			res, err := cli.Lookup(b.Context(), connect.NewRequest(req))
			if err != nil || !res.Msg.GetHit() {
				b.Fatalf("lookup %d: %v", i, err)
			}
			i++
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := cli.Lookup(b.Context(), connect.NewRequest(exactLookup(basePartition, "absent")))
			if err != nil || res.Msg.GetHit() {
				b.Fatalf("lookup: %v", err)
			}
		}
	})
}
