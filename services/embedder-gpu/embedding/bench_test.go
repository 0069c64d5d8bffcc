package embedding_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
)

// benchText returns a text of about n tokens made of common English words,
// rotated by seed so the texts of a batch differ.
func benchText(n, seed int) string {
	words := strings.Fields("the router sends every request to the model that fits the task best and keeps the cost low while the answer stays good for the user who asked it")
	out := make([]string, n)
	for i := range out {
		out[i] = words[(i+seed)%len(words)]
	}
	return strings.Join(out, " ")
}

func BenchmarkEmbed(b *testing.B) {
	for _, name := range []string{"use-lite", "glove-sif-100d"} {
		b.Run(name, func(b *testing.B) {
			m := loadModel(b, name, embedding.Config{MaxBatch: 64})
			for _, tokens := range []int{16, 64} {
				for _, batch := range []int{1, 8, 32} {
					b.Run(fmt.Sprintf("tokens=%d/batch=%d", tokens, batch), func(b *testing.B) {
						texts := make([]string, batch)
						for i := range texts {
							texts[i] = benchText(tokens, i)
						}
						_, info, err := m.Embed(context.Background(), texts)
						if err != nil {
							b.Fatal(err)
						}
						b.ReportAllocs()
						b.ResetTimer()
						for b.Loop() {
							if _, _, err := m.Embed(context.Background(), texts); err != nil {
								b.Fatal(err)
							}
						}
						b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "texts/s")
						b.ReportMetric(float64(info.Tokens[0]), "tokens/text")
					})
				}
			}
		})
	}
}
