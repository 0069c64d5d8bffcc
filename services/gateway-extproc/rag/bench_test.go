package rag

import (
	"strings"
	"testing"
)

func benchDocs() []Document {
	docs := make([]Document, 8)
	for i := range docs {
		docs[i] = Document{Content: strings.Repeat("retrieved passage text ", 40), Score: 0.5 + float64(i)/20}
	}
	return docs
}

const benchBody = `{"model":"auto","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"hello"},{"role":"assistant","content":"hi"},{"role":"user","content":"What is the capital of France?"}],"stream":true}`

// BenchmarkInject is the per-request injection path: select, format and
// splice into the body.
func BenchmarkInject(b *testing.B) {
	p := NewPlugin(Plugin{Threshold: 0.6, TopK: 5, MaxChars: 3000}, nil, nil, "")
	docs := benchDocs()
	for _, mode := range []string{InjectSystemPrompt, InjectToolRole} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			body := []byte(benchBody)
			for b.Loop() {
				sel := p.Select(docs)
				if _, _, err := Inject(body, mode, "What is the capital of France?", sel); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	e, err := NewExternalAPI(map[string]any{"endpoint": "http://s/q"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(threeDocs)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Parse(body); err != nil {
			b.Fatal(err)
		}
	}
}
