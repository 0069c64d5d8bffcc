package memory

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/redistest"
)

// benchEntries returns 200 memories with random 384-dimensional
// embeddings and a random query.
func benchEntries(p *Plugin) ([]Entry, []float32) {
	r := rand.New(rand.NewPCG(1, 2))
	randVec := func() []float32 {
		v := make([]float32, 384)
		for i := range v {
			v[i] = r.Float32()*2 - 1
		}
		return v
	}
	es := make([]Entry, 200)
	for i := range es {
		at := t0.Add(time.Duration(i) * time.Minute)
		es[i] = Entry{ID: p.NewID(at), Text: "I prefer short answers about topic", Embedding: randVec(), CreatedAt: at}
	}
	return es, randVec()
}

// BenchmarkValkeyRetrieve200 is a whole retrieval from a real
// redis-server: HGETALL of 200 memories, decoding, and Select.
func BenchmarkValkeyRetrieve200(b *testing.B) {
	srv := redistest.Start(b)
	v, err := NewValkey(ValkeyConfig{Addr: srv.Addr})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	p, err := NewPlugin(v, Settings{SimilarityThreshold: 0.05, RecencySemantic: true, DedupThreshold: 0.9})
	if err != nil {
		b.Fatal(err)
	}
	es, q := benchEntries(p)
	ctx := context.Background()
	for _, e := range es {
		if err := v.Add(ctx, "u", e, 200); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := p.Retrieve(ctx, "u", q, t0)
		if err != nil || len(got) == 0 {
			b.Fatalf("retrieve: %d, %v", len(got), err)
		}
	}
}

// BenchmarkSelect200 is the retrieval scan over a user's 200 memories
// (the default cap) with 384-dimensional embeddings.
func BenchmarkSelect200(b *testing.B) {
	p, err := NewPlugin(nil, Settings{SimilarityThreshold: 0.05, RecencySemantic: true, RecencyDecayDays: 14,
		DedupThreshold: 0.9, BlockPatterns: []string{"api key", "password"}})
	if err != nil {
		b.Fatal(err)
	}
	es, q := benchEntries(p)
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Select(es, q, t0)
	}
}
