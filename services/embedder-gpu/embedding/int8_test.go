package embedding_test

import (
	"context"
	"math"
	"testing"

	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/testenv"
)

// TestInt8DriftFromFP32 measures how far the int8 model's vectors move from
// the float32 model's on every sentence of testdata/sentences.txt, and that
// similarity rankings survive.
func TestInt8DriftFromFP32(t *testing.T) {
	fp32 := loadModel(t, embedding.ModelUSELite, embedding.Config{})
	int8 := loadModel(t, embedding.ModelUSELiteInt8, embedding.Config{})
	texts := testenv.Sentences(t)
	a, _, err := fp32.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := int8.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	sum, worst := 0.0, 1.0
	for i := range texts {
		c := embedding.Cosine(a[i], b[i])
		sum += c
		worst = math.Min(worst, c)
	}
	mean := sum / float64(len(texts))
	t.Logf("int8 vs fp32 over %d sentences: mean cosine %.5f, min %.5f", len(texts), mean, worst)
	if mean < 0.99 || worst < 0.95 {
		t.Errorf("int8 drift too large: mean cosine %.5f (want ≥ 0.99), min %.5f (want ≥ 0.95)", mean, worst)
	}
	q := []string{"how do I install this", "installation guide", "billing information"}
	v, _, err := int8.Embed(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if embedding.Cosine(v[0], v[1]) <= embedding.Cosine(v[0], v[2]) {
		t.Errorf("int8 ranks %q above %q for %q", q[2], q[1], q[0])
	}
}

// BenchmarkInt8VsFP32 runs use-lite and use-lite-int8 at batch 32 in one
// run; the int8 sub-benchmark reports speedup = its texts/s over fp32's.
func BenchmarkInt8VsFP32(b *testing.B) {
	const batch = 32
	texts := make([]string, batch)
	for i := range texts {
		texts[i] = benchText(16, i)
	}
	var fp32Rate float64
	for _, name := range []string{embedding.ModelUSELite, embedding.ModelUSELiteInt8} {
		b.Run(name+"/batch=32", func(b *testing.B) {
			m := loadModel(b, name, embedding.Config{MaxBatch: batch})
			if _, _, err := m.Embed(context.Background(), texts); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := m.Embed(context.Background(), texts); err != nil {
					b.Fatal(err)
				}
			}
			rate := float64(b.N*batch) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "texts/s")
			if name == embedding.ModelUSELite {
				fp32Rate = rate
			} else if fp32Rate > 0 {
				b.ReportMetric(rate/fp32Rate, "speedup")
			}
		})
	}
}
