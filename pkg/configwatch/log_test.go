package configwatch_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/semrouter/semrouter/pkg/configwatch"
)

// keyCounter is a slog.Handler that records, for every record, how often
// each attribute key occurs (attributes added with Logger.With included).
type keyCounter struct {
	mu      *sync.Mutex
	records *[]map[string]int
	attrs   []slog.Attr
}

func newKeyCounter() keyCounter {
	return keyCounter{mu: &sync.Mutex{}, records: &[]map[string]int{}}
}

func (h keyCounter) Enabled(context.Context, slog.Level) bool { return true }

func (h keyCounter) Handle(_ context.Context, r slog.Record) error {
	counts := map[string]int{}
	for _, a := range h.attrs {
		counts[a.Key]++
	}
	r.Attrs(func(a slog.Attr) bool { counts[a.Key]++; return true })
	counts["msg:"+r.Message]++
	h.mu.Lock()
	*h.records = append(*h.records, counts)
	h.mu.Unlock()
	return nil
}

func (h keyCounter) WithAttrs(attrs []slog.Attr) slog.Handler {
	h.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return h
}

func (h keyCounter) WithGroup(string) slog.Handler { return h }

func (h keyCounter) snapshot() []map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]int(nil), *h.records...)
}

// TestWatcherLogsServiceOnce gives the watcher a logger that already names
// the service (as semrouter serve and config-hub do): its applied and
// rejected lines carry service and revision exactly once.
func TestWatcherLogsServiceOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kv := newKV(t, runJetStream(t))
	h := newKeyCounter()
	logger := slog.New(h).With(slog.String("service", "cache"))
	st := &statusLog{ch: make(chan configwatch.Status, 4)}
	w := configwatch.New(kv, "router", compileInt, configwatch.WithLogger(logger),
		configwatch.WithIdentity("cache", "1"), configwatch.WithReporter(st.report))
	go func() { _ = w.Run(ctx) }()
	for _, doc := range []string{"1", "not a number"} {
		if _, err := kv.Put(ctx, "router", []byte(doc)); err != nil {
			t.Fatal(err)
		}
		if s := <-st.ch; s.Service != "cache" {
			t.Fatalf("status names service %q, want cache", s.Service)
		}
	}
	recs := h.snapshot()
	want := []string{"msg:config revision applied", "msg:config revision rejected; previous revision keeps serving"}
	if len(recs) != len(want) {
		t.Fatalf("%d log records, want %d: %v", len(recs), len(want), recs)
	}
	for i, rec := range recs {
		if rec[want[i]] != 1 || rec["service"] != 1 || rec["revision"] != 1 {
			t.Errorf("record %d = %v, want %q with service and revision once each", i, rec, want[i])
		}
	}
}
