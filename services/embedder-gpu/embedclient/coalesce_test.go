package embedclient_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/services/embedder-gpu/batching"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedclient"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/modeltest"
	"github.com/semrouter/semrouter/services/embedder-gpu/server"
)

// countingModel wraps the real model and counts model runs and texts.
type countingModel struct {
	embedding.Embedder
	calls, texts atomic.Int64
}

func (c *countingModel) Embed(ctx context.Context, texts []string) ([][]float32, embedding.Info, error) {
	c.calls.Add(1)
	c.texts.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

// serve runs the real embedder service for the real glove model over an
// in-process nats-server (server batching window off, so each request is
// one model run) and returns a coalescing client, the plain model and the
// counter.
func serve(t *testing.T, window time.Duration, maxTexts int) (*embedclient.Client, *embedding.Model, *countingModel) {
	t.Helper()
	m := modeltest.Load(t, embedding.ModelGloveSIF100D, embedding.Config{})
	counted := &countingModel{Embedder: m}
	ns := natstest.RunServer(t)
	svc, err := server.NewService(slog.New(slog.DiscardHandler), []server.Model{{Embedder: counted, Default: true}}, batching.Config{Window: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	servers, err := svc.ServeNATS(natstest.Connect(t, ns), server.NATSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range servers {
			s.Close()
		}
	})
	return embedclient.New(natstest.Connect(t, ns), embedclient.WithCoalescing(window, maxTexts)), m, counted
}

func assertVector(t *testing.T, m *embedding.Model, text string, got []float32) {
	t.Helper()
	want, _, err := m.Embed(context.Background(), []string{text})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want[0]) {
		t.Fatalf("%q: %d dims, want %d", text, len(got), len(want[0]))
	}
	for k := range got {
		if math.Abs(float64(got[k]-want[0][k])) > 1e-5 {
			t.Fatalf("%q: component %d is %v, want %v", text, k, got[k], want[0][k])
		}
	}
}

// TestCoalescingMergesConcurrentCalls: with a window far longer than the
// test, only the size limit can close the request, so 8 concurrent one-text
// calls must travel as one 8-text request, and each caller must get the
// vector of its own text.
func TestCoalescingMergesConcurrentCalls(t *testing.T) {
	c, m, counted := serve(t, time.Hour, 8)
	texts := make([]string, 8)
	for i := range texts {
		texts[i] = fmt.Sprintf("query number %d about billing and installation", i)
	}
	got := make([][][]float32, len(texts))
	errs := make([]error, len(texts))
	var wg sync.WaitGroup
	for i := range texts {
		wg.Go(func() { got[i], errs[i] = c.Embed(context.Background(), "", texts[i:i+1]) })
	}
	wg.Wait()
	for i := range texts {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if len(got[i]) != 1 {
			t.Fatalf("call %d: %d vectors", i, len(got[i]))
		}
		assertVector(t, m, texts[i], got[i][0])
	}
	if calls, n := counted.calls.Load(), counted.texts.Load(); calls != 1 || n != 8 {
		t.Fatalf("%d model runs for %d texts, want 1 run of 8", calls, n)
	}
}

// TestCoalescingWindowFlushes: a lone call is sent when the window ends.
func TestCoalescingWindowFlushes(t *testing.T) {
	c, m, counted := serve(t, time.Millisecond, 32)
	got, err := c.Embed(context.Background(), "", []string{"installation guide", "refund policy"})
	if err != nil {
		t.Fatal(err)
	}
	assertVector(t, m, "installation guide", got[0])
	assertVector(t, m, "refund policy", got[1])
	if counted.calls.Load() != 1 {
		t.Fatalf("%d model runs, want 1", counted.calls.Load())
	}
}

// TestCoalescingKeepsErrorsPerCall: a blank text spoils only its own call.
func TestCoalescingKeepsErrorsPerCall(t *testing.T) {
	c, m, _ := serve(t, time.Hour, 4)
	texts := []string{"good one", "   ", "another good one", "a third"}
	errs := make([]error, len(texts))
	got := make([][][]float32, len(texts))
	var wg sync.WaitGroup
	for i := range texts {
		wg.Go(func() { got[i], errs[i] = c.Embed(context.Background(), "", texts[i:i+1]) })
	}
	wg.Wait()
	for i, text := range texts {
		if i == 1 {
			if connect.CodeOf(errs[i]) != connect.CodeInvalidArgument {
				t.Fatalf("blank text: %v, want INVALID_ARGUMENT", errs[i])
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		assertVector(t, m, text, got[i][0])
	}
}

// TestCoalescingHonoursTheCallersContext: a call whose context has ended
// returns its error at once instead of waiting for the window.
func TestCoalescingHonoursTheCallersContext(t *testing.T) {
	c, _, counted := serve(t, time.Hour, 32)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Embed(ctx, "", []string{"never sent"}); connect.CodeOf(err) != connect.CodeCanceled {
		t.Fatalf("canceled call: %v, want CANCELED", err)
	}
	dl, cancelDL := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelDL()
	if _, err := c.Embed(dl, "", []string{"never sent either"}); connect.CodeOf(err) != connect.CodeDeadlineExceeded {
		t.Fatalf("expired call: %v, want DEADLINE_EXCEEDED", err)
	}
	if counted.calls.Load() != 0 {
		t.Fatalf("%d model runs, want none", counted.calls.Load())
	}
}

// TestCoalescingDropsAnExpiredCaller: a caller whose deadline passes while
// it waits gets DEADLINE_EXCEEDED at its deadline; the calls that joined
// with it are still answered, and its text is never embedded.
func TestCoalescingDropsAnExpiredCaller(t *testing.T) {
	c, m, counted := serve(t, 200*time.Millisecond, 3)
	hurried, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	errA := make(chan error, 1)
	go func() {
		_, err := c.Embed(hurried, "", []string{"too late for this one"})
		errA <- err
	}()
	type result struct {
		vecs [][]float32
		err  error
	}
	resB := make(chan result, 1)
	go func() {
		v, err := c.Embed(context.Background(), "", []string{"patient caller"})
		resB <- result{v, err}
	}()
	if err := <-errA; connect.CodeOf(err) != connect.CodeDeadlineExceeded {
		t.Fatalf("hurried caller: %v, want DEADLINE_EXCEEDED", err)
	}
	vecsC, err := c.Embed(context.Background(), "", []string{"late joiner"})
	if err != nil {
		t.Fatal(err)
	}
	assertVector(t, m, "late joiner", vecsC[0])
	b := <-resB
	if b.err != nil {
		t.Fatal(b.err)
	}
	assertVector(t, m, "patient caller", b.vecs[0])
	if n := counted.texts.Load(); n != 2 {
		t.Fatalf("%d texts embedded, want 2 (the expired call dropped)", n)
	}
}
