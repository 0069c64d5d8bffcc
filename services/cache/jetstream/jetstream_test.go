package jetstream

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/subjects"
)

func setup(t *testing.T) (*nats.Conn, natsjs.JetStream) {
	t.Helper()
	ns := natstest.RunServer(t)
	nc := natstest.Connect(t, ns)
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func write(decision, exact string) *cachev1.StoreRequest {
	return &cachev1.StoreRequest{ExactFingerprint: exact, Partition: &cachev1.Partition{Decision: decision}}
}

func TestEnsureStreamIdempotent(t *testing.T) {
	_, js := setup(t)
	ctx := t.Context()
	for range 2 {
		if _, err := EnsureStream(ctx, js, StreamConfig{MaxAge: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := EnsureStream(ctx, js, StreamConfig{MaxAge: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := info.Config
	if c.MaxAge != 2*time.Hour || c.Storage != natsjs.FileStorage || len(c.Subjects) != 1 || c.Subjects[0] != subjects.CacheWritesAll() {
		t.Fatalf("stream config %+v", c)
	}
}

// collector records applied writes in order.
type collector struct {
	mu   sync.Mutex
	seen []string
}

func (c *collector) apply(_ context.Context, w Write) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, w.Request.GetExactFingerprint())
	return nil
}

func (c *collector) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

func runReplica(t *testing.T, js natsjs.JetStream, c *collector) *Replica {
	t.Helper()
	r := NewReplica(js, c.apply, nil)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

func wait(t *testing.T, r *Replica, seq uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := r.WaitApplied(ctx, seq); err != nil {
		t.Fatal(err)
	}
}

func TestReplicaAppliesInOrderFromTheStart(t *testing.T) {
	_, js := setup(t)
	ctx := t.Context()
	if _, err := EnsureStream(ctx, js, StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if _, err := Publish(ctx, js, write("d", k)); err != nil {
			t.Fatal(err)
		}
	}
	var c collector
	r := runReplica(t, js, &c)
	seq, err := Publish(ctx, js, write("e", "c"))
	if err != nil {
		t.Fatal(err)
	}
	wait(t, r, seq)
	if got := c.got(); len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "c" {
		t.Fatalf("applied %v, want [a b c]", got)
	}
	// A malformed message is counted and skipped, not fatal.
	ack, err := js.Publish(ctx, subjects.CacheWrite("d"), []byte{0xff, 0xff})
	if err != nil {
		t.Fatal(err)
	}
	wait(t, r, ack.Sequence)
	if r.Failed() != 1 {
		t.Fatalf("failed=%d, want 1", r.Failed())
	}
}

func TestPurgeDecisionAndCatchUp(t *testing.T) {
	_, js := setup(t)
	ctx := t.Context()
	if _, err := EnsureStream(ctx, js, StreamConfig{}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*cachev1.StoreRequest{write("keep", "k1"), write("drop", "d1"), write("drop", "d2")} {
		if _, err := Publish(ctx, js, w); err != nil {
			t.Fatal(err)
		}
	}
	last, err := LastSequence(ctx, js)
	if err != nil || last != 3 {
		t.Fatalf("last=%d err=%v", last, err)
	}
	if err := PurgeDecision(ctx, js, "drop", last); err != nil {
		t.Fatal(err)
	}
	var c collector
	r := runReplica(t, js, &c)
	wait(t, r, last) // the purged tail must not make this hang
	if got := c.got(); len(got) != 1 || got[0] != "k1" {
		t.Fatalf("applied %v, want [k1]", got)
	}
	if err := PurgeAll(ctx, js); err != nil {
		t.Fatal(err)
	}
	var c2 collector
	r2 := runReplica(t, js, &c2)
	wait(t, r2, last)
	if got := c2.got(); len(got) != 0 {
		t.Fatalf("applied %v after a full purge", got)
	}
}

func TestControlRoundTrip(t *testing.T) {
	nc, _ := setup(t)
	got := make(chan Control, 4)
	bad := make(chan error, 4)
	sub, err := SubscribeControl(nc, func(c Control) { got <- c }, func(err error) { bad <- err })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	inv := &cachev1.InvalidateRequest{Partition: &cachev1.Partition{Decision: "math"}, DryRun: proto.Bool(false)}
	if err := PublishControl(nc, Control{Kind: KindInvalidate, Invalidate: inv, Origin: "a", UpTo: 42}); err != nil {
		t.Fatal(err)
	}
	c := <-got
	if c.Kind != KindInvalidate || c.Origin != "a" || c.UpTo != 42 || !proto.Equal(c.Invalidate, inv) {
		t.Fatalf("got %+v", c)
	}
	if err := PublishControl(nc, Control{Kind: KindFlush, Origin: "b", UpTo: 7}); err != nil {
		t.Fatal(err)
	}
	if c := <-got; c.Kind != KindFlush || c.UpTo != 7 {
		t.Fatalf("got %+v", c)
	}
	if err := PublishControl(nc, Control{Kind: "explode"}); err != nil {
		t.Fatal(err)
	}
	if err := <-bad; err == nil {
		t.Fatal("unknown kind accepted")
	}
}

// TestRemoved: a write counts as removed only once the stream no longer
// holds it; one still stored (for instance waiting for its redelivery)
// or not yet published does not.
func TestRemoved(t *testing.T) {
	_, js := setup(t)
	ctx := t.Context()
	s, err := EnsureStream(ctx, js, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, exact := range []string{"a", "b", "c"} {
		if _, err := Publish(ctx, js, write("d", exact)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteMsg(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		seq  uint64
		want bool
	}{{1, false}, {2, true}, {3, false}, {4, false}} {
		if got, err := Removed(ctx, js, tc.seq); err != nil || got != tc.want {
			t.Errorf("Removed(%d) = %v, %v; want %v", tc.seq, got, err, tc.want)
		}
	}
	if err := PurgeAll(ctx, js); err != nil {
		t.Fatal(err)
	}
	if got, err := Removed(ctx, js, 1); err != nil || !got {
		t.Errorf("after a purge Removed(1) = %v, %v; want true", got, err)
	}
}
