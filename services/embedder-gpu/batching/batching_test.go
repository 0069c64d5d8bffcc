package batching_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/embedder-gpu/batching"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/modeltest"
)

// recorder wraps the real model: it records the texts of every model call
// and, when gate is set, holds each call until the test lets it go.
type recorder struct {
	embedding.Embedder
	mu      sync.Mutex
	calls   [][]string
	entered chan struct{} // receives when a call starts (if gate is set)
	gate    chan struct{}
	panicOn string
}

func (r *recorder) Embed(ctx context.Context, texts []string) ([][]float32, embedding.Info, error) {
	r.mu.Lock()
	r.calls = append(r.calls, slices.Clone(texts))
	r.mu.Unlock()
	if r.gate != nil {
		r.entered <- struct{}{}
		<-r.gate
	}
	if r.panicOn != "" && slices.Contains(texts, r.panicOn) {
		panic("test wrapper: model blew up on " + r.panicOn)
	}
	return r.Embedder.Embed(ctx, texts)
}

func (r *recorder) callTexts() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// manualDeadline is a context whose deadline passes when the test says so.
type manualDeadline struct {
	context.Context
	done chan struct{}
}

func newManualDeadline() *manualDeadline {
	return &manualDeadline{Context: context.Background(), done: make(chan struct{})}
}
func (c *manualDeadline) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }
func (c *manualDeadline) Done() <-chan struct{}       { return c.done }
func (c *manualDeadline) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
func (c *manualDeadline) expire() { close(c.done) }

func TestConcurrentRequestsShareOneRun(t *testing.T) {
	m := modeltest.Load(t, embedding.ModelUSELite, embedding.Config{})
	rec := &recorder{Embedder: m}
	const n = 16
	// A window far longer than the test: the batch closes because it is full.
	b := batching.New(slog.New(slog.DiscardHandler), rec, batching.Config{Window: time.Hour, MaxBatch: n})
	t.Cleanup(b.Close)
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("request number %d asks how to install the router", i)
	}
	results := make([]batching.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i], errs[i] = b.Embed(context.Background(), texts[i:i+1]) })
	}
	wg.Wait()
	want, _, err := m.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if len(results[i].Vectors) != 1 || results[i].BatchTexts != n {
			t.Fatalf("request %d: %d vectors, batch of %d; want 1 vector from a batch of %d", i, len(results[i].Vectors), results[i].BatchTexts, n)
		}
		if c := embedding.Cosine(results[i].Vectors[0], want[i]); c < 0.9999 {
			t.Errorf("request %d: cosine to the direct embedding %.6f", i, c)
		}
		if results[i].Info.Tokens[0] == 0 || results[i].Info.Model != "use-lite" {
			t.Errorf("request %d: info %+v", i, results[i].Info)
		}
	}
	calls := rec.callTexts()
	if len(calls) != 1 || len(calls[0]) != n {
		t.Fatalf("model calls %d (first with %d texts): want one call with %d texts", len(calls), len(calls[0]), n)
	}
}

func TestOversizedRequestRunsAloneAndSplitsResults(t *testing.T) {
	m := modeltest.Load(t, embedding.ModelGloveSIF100D, embedding.Config{})
	rec := &recorder{Embedder: m}
	b := batching.New(slog.New(slog.DiscardHandler), rec, batching.Config{Window: -1, MaxBatch: 4})
	t.Cleanup(b.Close)
	texts := []string{"one apple", "two pears", "three plums", "four figs", "five limes", "six dates"}
	res, err := b.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Vectors) != len(texts) || len(res.Info.Tokens) != len(texts) || len(res.Info.Truncated) != len(texts) {
		t.Fatalf("got %d vectors, %d token counts, %d truncation flags for %d texts", len(res.Vectors), len(res.Info.Tokens), len(res.Info.Truncated), len(texts))
	}
	if got := len(rec.callTexts()); got != 1 {
		t.Errorf("model calls: %d, want 1", got)
	}
}

func TestExpiredRequestIsDroppedFromItsBatch(t *testing.T) {
	m := modeltest.Load(t, embedding.ModelGloveSIF100D, embedding.Config{})
	rec := &recorder{Embedder: m, gate: make(chan struct{}), entered: make(chan struct{}, 4)}
	enqueued := make(chan struct{}, 8)
	b := batching.NewWithHook(slog.New(slog.DiscardHandler), rec, batching.Config{Window: -1, MaxBatch: 8},
		func() { enqueued <- struct{}{} })
	t.Cleanup(b.Close)

	// A occupies the model.
	aDone := make(chan error, 1)
	go func() {
		_, err := b.Embed(context.Background(), []string{"first request"})
		aDone <- err
	}()
	<-enqueued
	<-rec.entered

	// B and C queue behind it; B's deadline passes while it waits.
	bCtx := newManualDeadline()
	bDone := make(chan error, 1)
	go func() {
		_, err := b.Embed(bCtx, []string{"late request"})
		bDone <- err
	}()
	<-enqueued
	type result struct {
		res batching.Result
		err error
	}
	cDone := make(chan result, 1)
	go func() {
		res, err := b.Embed(context.Background(), []string{"patient request"})
		cDone <- result{res, err}
	}()
	<-enqueued
	bCtx.expire()
	if err := <-bDone; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired request: %v, want context.DeadlineExceeded", err)
	}

	rec.gate <- struct{}{} // A finishes
	if err := <-aDone; err != nil {
		t.Fatalf("first request: %v", err)
	}
	<-rec.entered
	rec.gate <- struct{}{} // the batch of B and C runs
	c := <-cDone
	if c.err != nil || len(c.res.Vectors) != 1 {
		t.Fatalf("patient request: %d vectors, %v", len(c.res.Vectors), c.err)
	}
	calls := rec.callTexts()
	want := [][]string{{"first request"}, {"patient request"}}
	if !slices.EqualFunc(calls, want, slices.Equal) {
		t.Errorf("model calls %q, want %q (the expired request dropped)", calls, want)
	}
}

func TestModelPanicBecomesAnErrorAndTheBatcherGoesOn(t *testing.T) {
	m := modeltest.Load(t, embedding.ModelGloveSIF100D, embedding.Config{})
	rec := &recorder{Embedder: m, panicOn: "boom"}
	b := batching.New(slog.New(slog.DiscardHandler), rec, batching.Config{Window: -1})
	t.Cleanup(b.Close)
	if _, err := b.Embed(context.Background(), []string{"boom"}); !errors.Is(err, batching.ErrPanic) {
		t.Fatalf("panicking batch: %v, want ErrPanic", err)
	}
	if res, err := b.Embed(context.Background(), []string{"still alive"}); err != nil || len(res.Vectors) != 1 {
		t.Fatalf("after the panic: %d vectors, %v", len(res.Vectors), err)
	}
}

func TestClosedBatcherRefuses(t *testing.T) {
	m := modeltest.Load(t, embedding.ModelGloveSIF100D, embedding.Config{})
	b := batching.New(slog.New(slog.DiscardHandler), m, batching.Config{})
	b.Close()
	b.Close()
	if _, err := b.Embed(context.Background(), []string{"hello"}); !errors.Is(err, batching.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

func TestConcurrencyRunsBatchesSideBySide(t *testing.T) {
	m := modeltest.Load(t, embedding.ModelGloveSIF100D, embedding.Config{})
	rec := &recorder{Embedder: m, gate: make(chan struct{}), entered: make(chan struct{}, 4)}
	b := batching.New(slog.New(slog.DiscardHandler), rec, batching.Config{Window: -1, MaxBatch: 1, Concurrency: 2})
	t.Cleanup(b.Close)
	errs := make(chan error, 2)
	for _, text := range []string{"first", "second"} {
		go func() {
			_, err := b.Embed(context.Background(), []string{text})
			errs <- err
		}()
	}
	// Both batches are inside the model before either is let go.
	<-rec.entered
	<-rec.entered
	rec.gate <- struct{}{}
	rec.gate <- struct{}{}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
