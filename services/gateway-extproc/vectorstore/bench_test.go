package vectorstore

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// BenchmarkSearch10k scans 10,000 chunks of 512 dimensions (USE-Lite's
// size) for the 10 best: the cost of one search after the query is
// embedded.
func BenchmarkSearch10k(b *testing.B) {
	const n, dim = 10_000, 512
	r := rand.New(rand.NewPCG(1, 2))
	randVec := func() []float32 {
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return normalize(v)
	}
	chunks := make([]Chunk, n)
	allowed := map[string]bool{}
	for i := range chunks {
		id := "file-" + string(rune('a'+i%20))
		chunks[i] = Chunk{FileID: id, Vec: randVec()}
		allowed[id] = true
	}
	q := randVec()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if got := topK(chunks, q, 10, 0, allowed); len(got) != 10 {
			b.Fatal(len(got))
		}
	}
}

// BenchmarkChunk splits a ~20 KB document with the default sizes.
func BenchmarkChunk(b *testing.B) {
	para := "The router keeps uploaded documents in a local vector store. Each file is split into passages, embedded, and searched by cosine similarity. "
	doc := strings.Repeat(strings.Repeat(para, 5)+"\n\n", 30)
	var c Chunker
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if len(c.Chunk(doc)) == 0 {
			b.Fatal("no chunks")
		}
	}
}
