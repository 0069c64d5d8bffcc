package rag

import (
	"strconv"
	"strings"
	"testing"
)

// BenchmarkHybridMergeInject is the per-request work after a hybrid
// backend answered: merge and dedupe both lists, select, format and
// splice the passages into the body.
func BenchmarkHybridMergeInject(b *testing.B) {
	primary, fallback := make([]Document, 8), make([]Document, 8)
	for i := range primary {
		primary[i] = Document{Content: "primary passage " + strconv.Itoa(i) + " " + strings.Repeat("text ", 80), Score: 0.5 + float64(i)/20}
		// Every other fallback passage repeats a primary one (spacing and
		// case differ), the rest are new.
		c := "fallback passage " + strconv.Itoa(i) + " " + strings.Repeat("text ", 80)
		if i%2 == 0 {
			c = strings.ToUpper(primary[i].Content)
		}
		fallback[i] = Document{Content: c, Score: 0.55 + float64(i)/20, Metadata: map[string]any{"file_id": "f" + strconv.Itoa(i)}}
	}
	p := NewPlugin(Plugin{Threshold: 0.6, TopK: 6, MaxChars: 4000}, nil, nil, "")
	body := []byte(benchBody)
	for _, mode := range []string{InjectSystemPrompt, InjectToolRole} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				docs := p.Select(Merge(p.TopK, p.Threshold, primary, fallback))
				if len(docs) != 6 {
					b.Fatalf("%d docs", len(docs))
				}
				if _, _, err := Inject(body, mode, "What is the capital of France?", docs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
