package windows

import (
	"testing"
	"time"
)

// BenchmarkRecord is the per-request path: look up the model, count it in
// flight, end it and record it in three windows (latency, TTFT, TPOT,
// tokens), with the clock moving 1ms per request so slots rotate.
func BenchmarkRecord(b *testing.B) {
	tr := New(settings(), t0, nil)
	s := Sample{Latency: 1200 * time.Millisecond, Responded: true, TTFT: 150 * time.Millisecond, TPOT: 20 * time.Millisecond, CompletionTokens: 64}
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		m := tr.Model("qwen3-8b")
		m.Start()
		m.Done()
		m.Record(now, s)
	}
}

// BenchmarkRecordParallel records from every P into one model.
func BenchmarkRecordParallel(b *testing.B) {
	tr := New(settings(), t0, nil)
	s := Sample{Latency: 1200 * time.Millisecond, Responded: true, CompletionTokens: 64}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		now := t0
		for pb.Next() {
			now = now.Add(time.Millisecond)
			m := tr.Model("qwen3-8b")
			m.Start()
			m.Done()
			m.Record(now, s)
		}
	})
}

// BenchmarkReport recomputes a report of 50 models with traffic.
func BenchmarkReport(b *testing.B) {
	s := settings()
	s.UpdateInterval = 0
	tr := New(s, t0, nil)
	for i := range 50 {
		m := tr.Model(string(rune('a'+i%26)) + string(rune('a'+i/26)))
		for j := range 200 {
			m.Record(t0.Add(time.Duration(j)*time.Second), Sample{Latency: time.Duration(j) * time.Millisecond, Responded: true})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		tr.Report(t0.Add(200 * time.Second))
	}
}
