package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/classifier/classifiertest/usetest"
)

// BenchmarkBatchVsSingle classifies 32 texts (intent, the real USE-Lite
// embedder and shipped domain head, the quickstart rules) over HTTP: in
// one batch request (one embedder call, fanned out) and as 32 single
// requests. The embed sub-benchmarks isolate the embedder: one call for
// 32 texts against 32 calls.
func BenchmarkBatchVsSingle(b *testing.B) {
	e := newHandlerEnv(b, quickstart(b))
	texts := manyTexts(32)
	send := func(b *testing.B, path string, body any) {
		raw, _ := json.Marshal(body)
		resp, err := http.Post(e.url+path, "application/json", bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: status %d", path, resp.StatusCode)
		}
	}
	b.Run("batch-32", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			send(b, "/api/v1/classify/batch", map[string]any{"texts": texts, "task_type": "intent"})
		}
	})
	b.Run("single-32", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, t := range texts {
				send(b, "/api/v1/classify/intent", map[string]any{"text": t})
			}
		}
	})
	emb := usetest.UseLite(b)
	ctx := context.Background()
	b.Run("embed-one-call-32", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := emb.Embed(ctx, texts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("embed-32-calls", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, t := range texts {
				if _, err := emb.Embed(ctx, []string{t}); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
