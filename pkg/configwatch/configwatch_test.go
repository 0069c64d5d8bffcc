package configwatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/semrouter/semrouter/pkg/configwatch"
	"github.com/semrouter/semrouter/pkg/natstest"
)

// runJetStream starts a real in-process nats-server with JetStream.
func runJetStream(t *testing.T) *nats.Conn {
	t.Helper()
	return natstest.Connect(t, natstest.RunServer(t))
}

func newKV(t *testing.T, nc *nats.Conn) jetstream.KeyValue {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: "config", History: 32})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// compileInt accepts documents that hold an integer and rejects the rest.
func compileInt(_ context.Context, doc []byte, _ uint64) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(string(doc)))
	if err != nil {
		return 0, errors.New("not a number")
	}
	return n, nil
}

type statusLog struct {
	ch chan configwatch.Status
}

func (s *statusLog) report(_ context.Context, st configwatch.Status) { s.ch <- st }

func TestWatcherAppliesRejectsAndKeepsServing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc := runJetStream(t)
	kv := newKV(t, nc)

	logA := &statusLog{ch: make(chan configwatch.Status, 16)}
	logB := &statusLog{ch: make(chan configwatch.Status, 16)}
	a := configwatch.New(kv, "router", compileInt, configwatch.WithIdentity("a", "1"), configwatch.WithReporter(logA.report))
	b := configwatch.New(kv, "router", compileInt, configwatch.WithIdentity("b", "1"), configwatch.WithReporter(logB.report))
	for _, w := range []*configwatch.Watcher[int]{a, b} {
		go func() { _ = w.Run(ctx) }()
	}

	if a.Current() != nil {
		t.Fatal("a watcher must not serve before the first revision")
	}
	rev1, err := kv.Put(ctx, "router", []byte("41"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []*statusLog{logA, logB} {
		st := <-l.ch
		if !st.Accepted || st.Revision != rev1 || st.Serving != rev1 {
			t.Fatalf("first revision: got %+v", st)
		}
	}
	<-a.Ready()
	<-b.Ready()
	if got := a.Current().Value; got != 41 {
		t.Fatalf("a serves %d, want 41", got)
	}

	// An invalid revision is rejected in every service; the old one keeps serving.
	rev2, err := kv.Put(ctx, "router", []byte("forty-two"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []*statusLog{logA, logB} {
		st := <-l.ch
		if st.Accepted || st.Revision != rev2 || st.Serving != rev1 || st.Error != "not a number" {
			t.Fatalf("invalid revision: got %+v", st)
		}
	}
	if got := b.Current(); got.Value != 41 || got.Revision != rev1 {
		t.Fatalf("b serves %+v after a rejected revision, want 41 at %d", got, rev1)
	}

	rev3, err := kv.Put(ctx, "router", []byte("43"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []*statusLog{logA, logB} {
		if st := <-l.ch; !st.Accepted || st.Revision != rev3 {
			t.Fatalf("third revision: got %+v", st)
		}
	}
	if a.Current().Value != 43 || b.Current().Value != 43 {
		t.Fatalf("watchers serve %d and %d, want 43", a.Current().Value, b.Current().Value)
	}
}

func TestWatcherStartsFromExistingRevision(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nc := runJetStream(t)
	kv := newKV(t, nc)
	if _, err := kv.Put(ctx, "router", []byte("1")); err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Put(ctx, "router", []byte("2"))
	if err != nil {
		t.Fatal(err)
	}
	w := configwatch.New(kv, "router", compileInt)
	go func() { _ = w.Run(ctx) }()
	select {
	case <-w.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("watcher never became ready")
	}
	if got := w.Current(); got.Value != 2 || got.Revision != rev {
		t.Fatalf("serves %+v, want the latest revision %d", got, rev)
	}
}

func TestNATSReporterPublishesJSON(t *testing.T) {
	nc := runJetStream(t)
	sub, err := nc.SubscribeSync("status.test")
	if err != nil {
		t.Fatal(err)
	}
	report := configwatch.NATSReporter(nc, "status.test", nil)
	report(context.Background(), configwatch.Status{Service: "classifier", Revision: 7, Accepted: false, Error: "boom", Serving: 6})
	msg, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var st configwatch.Status
	if err := json.Unmarshal(msg.Data, &st); err != nil {
		t.Fatal(err)
	}
	if st.Service != "classifier" || st.Revision != 7 || st.Accepted || st.Error != "boom" || st.Serving != 6 {
		t.Fatalf("decoded %+v", st)
	}
}
