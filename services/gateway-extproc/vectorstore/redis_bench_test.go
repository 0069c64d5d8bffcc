package vectorstore

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/redistest"
)

func randUnit(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return normalize(v)
}

// TestQ8Scores: int8 vectors score within 0.01 of float32 cosine and
// keep the order of well-separated chunks.
func TestQ8Scores(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, dim := range []int{5, 384, 512, 1024} {
		t.Run(strconv.Itoa(dim), func(t *testing.T) {
			cs := make([]Chunk, 50)
			for i := range cs {
				cs[i] = Chunk{Text: "t" + strconv.Itoa(i), Vec: randUnit(r, dim)}
			}
			q := randUnit(r, dim)
			blob := string(encodeVectors(cs))
			best := scanQ8(nil, "f", blob, q, len(cs), 0)
			if len(best) != len(cs) {
				t.Fatalf("%d scores for %d chunks", len(best), len(cs))
			}
			for _, b := range best {
				if d := math.Abs(float64(b.score - dot(q, cs[b.idx].Vec))); d > 0.01 {
					t.Fatalf("chunk %d: q8 %v, float %v", b.idx, b.score, dot(q, cs[b.idx].Vec))
				}
				if txt, ok := textAt(string(encodeTexts(cs)), b.idx); !ok || txt != cs[b.idx].Text {
					t.Fatalf("text %d: %q", b.idx, txt)
				}
			}
			if top := scanQ8(nil, "f", blob, cs[7].Vec, 1, 0); top[0].idx != 7 {
				t.Fatalf("a chunk's own vector found chunk %d", top[0].idx)
			}
		})
	}
}

// fixedQuery is a FAKE embedder: every text embeds to the same vector,
// so the benchmark measures the Redis read and the scan only.
type fixedQuery []float32

func (f fixedQuery) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = f
	}
	return out, nil
}

// BenchmarkRedisSearch10k: one search of a store of 10,000 chunks of 512
// dimensions (20 files of 500) kept in a real redis-server: the status
// records and the int8 vectors are read and scanned, then the texts of
// the hit files.
func BenchmarkRedisSearch10k(b *testing.B) {
	const files, per, dim = 20, 500, 512
	srv := redistest.Start(b)
	r := rand.New(rand.NewPCG(1, 2))
	cfg := Config{Enabled: true, Backend: BackendRedis, Redis: RedisConfig{Addr: srv.Addr, Timeout: 10 * time.Second}}
	s, err := OpenRedis(cfg, fixedQuery(randUnit(r, dim)), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	vs, err := s.CreateStore(ctx, "", "bench", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	for f := range files {
		id := "file-" + strconv.Itoa(f)
		cs := make([]Chunk, per)
		for i := range cs {
			cs[i] = Chunk{FileID: id, Text: "passage " + strconv.Itoa(i) + " of a benchmark document with some words in it", Vec: randUnit(r, dim)}
		}
		rec, _ := json.Marshal(sfRecord{StoreFile: StoreFile{FileID: id, StoreID: vs.ID, Status: StatusCompleted}, Chunks: per, Gen: "g"})
		meta, _ := json.Marshal(File{ID: id, Filename: id + ".txt"})
		for _, err := range []error{
			s.rdb.HSet(ctx, s.sfKey(vs.ID), id, rec).Err(),
			s.rdb.HSet(ctx, s.vecKey(vs.ID), id, encodeVectors(cs)).Err(),
			s.rdb.HSet(ctx, s.textKey(vs.ID), id, encodeTexts(cs)).Err(),
			s.rdb.HSet(ctx, s.p+"files", id, meta).Err(),
		} {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		hits, err := s.SearchAny(ctx, vs.ID, SearchRequest{Query: "q", MaxResults: 10})
		if err != nil || len(hits) != 10 {
			b.Fatal(len(hits), err)
		}
	}
}
