package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/configwatch"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/services/config-hub/internal/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	nc := natstest.Connect(t, natstest.RunServer(t))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), js, "config", "active", nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// withDefaultModel rewrites the default model of the valid test document.
func withDefaultModel(t *testing.T, model string) []byte {
	t.Helper()
	return bytes.Replace(readTestdata(t, "valid.yaml"), []byte("default_model: small"), []byte("default_model: "+model), 1)
}

// compiled is what the test services compile a revision into.
type compiled struct {
	defaultModel string
}

// compileRejectingBig plays a service whose compiler refuses any config
// routing by default to "big" (a check the hub's validation does not make).
func compileRejectingBig(_ context.Context, doc []byte, rev uint64) (compiled, error) {
	cfg, _, err := config.Parse(doc, fmt.Sprintf("revision %d", rev))
	if err != nil {
		return compiled{}, err
	}
	if cfg.Providers.Defaults.DefaultModel == "big" {
		return compiled{}, errors.New("default model big is not served here")
	}
	return compiled{defaultModel: cfg.Providers.Defaults.DefaultModel}, nil
}

func TestPublishWatchRejectRollbackConflict(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openStore(t)

	type statusCh chan configwatch.Status
	var watchers []*configwatch.Watcher[compiled]
	var logs []statusCh
	for _, name := range []string{"gateway", "classifier"} {
		ch := make(statusCh, 16)
		w := configwatch.New(s.KV(), s.Key(), compileRejectingBig,
			configwatch.WithIdentity(name, "1"),
			configwatch.WithReporter(func(_ context.Context, st configwatch.Status) { ch <- st }))
		go func() { _ = w.Run(ctx) }()
		watchers, logs = append(watchers, w), append(logs, ch)
	}
	next := func(want uint64, accepted bool) {
		t.Helper()
		for i, ch := range logs {
			select {
			case st := <-ch:
				if st.Revision != want || st.Accepted != accepted {
					t.Fatalf("subscriber %d: got %+v, want revision %d accepted=%v", i, st, want, accepted)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("subscriber %d: no status for revision %d", i, want)
			}
		}
	}

	// 1. A first publish (create: nothing published yet).
	r1, err := s.Publish(ctx, readTestdata(t, "valid.yaml"), "valid.yaml", store.IfRevision(0))
	if err != nil {
		t.Fatal(err)
	}
	if !r1.Changed || r1.Revision == 0 {
		t.Fatalf("first publish: %+v", r1)
	}
	next(r1.Revision, true)
	cur, err := s.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Parse(cur.Document, "kv")
	if err != nil {
		t.Fatal(err)
	}
	canon, _ := config.Marshal(cfg)
	if !bytes.Equal(canon, cur.Document) {
		t.Fatal("the KV value is not the canonical document")
	}
	if h, _ := config.Hash(cfg); h != cur.Hash || h != r1.Hash {
		t.Fatalf("hash %q, store says %q / %q", h, cur.Hash, r1.Hash)
	}

	// 2. Republishing the same content writes nothing.
	same, err := s.Publish(ctx, readTestdata(t, "valid.yaml"), "valid.yaml", store.IfRevision(r1.Revision))
	if err != nil || same.Changed || same.Revision != r1.Revision {
		t.Fatalf("same content: %+v, %v", same, err)
	}

	// 3. An invalid document is rejected at publish and never reaches KV.
	bad := withDefaultModel(t, "no-such-model")
	_, err = s.Publish(ctx, bad, "bad.yaml", store.IfRevision(r1.Revision))
	var verr *store.ValidationError
	if !errors.As(err, &verr) || !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("invalid document: err = %v", err)
	}
	if len(verr.Problems.Errors()) == 0 || verr.Problems.Errors()[0].Path == "" {
		t.Fatalf("problems carry no path: %+v", verr.Problems)
	}
	if v, _ := s.Versions(ctx); len(v) != 1 {
		t.Fatalf("invalid document reached the bucket: %d versions", len(v))
	}

	// 4. A valid revision one subscriber's compiler rejects: the old one keeps serving.
	r2, err := s.Publish(ctx, withDefaultModel(t, "big"), "big.yaml", store.IfRevision(r1.Revision))
	if err != nil {
		t.Fatal(err)
	}
	next(r2.Revision, false)
	for i, w := range watchers {
		if c := w.Current(); c.Revision != r1.Revision || c.Value.defaultModel != "small" {
			t.Fatalf("subscriber %d serves %+v, want revision %d", i, c, r1.Revision)
		}
	}

	// 5. A stale write fails with a conflict.
	_, err = s.Publish(ctx, readTestdata(t, "valid.yaml"), "stale.yaml", store.IfRevision(r1.Revision))
	var cerr *store.ConflictError
	if !errors.Is(err, store.ErrConflict) || !errors.As(err, &cerr) || cerr.Current != r2.Revision {
		t.Fatalf("stale write: err = %v", err)
	}
	_, err = s.Publish(ctx, readTestdata(t, "valid.yaml"), "create.yaml", store.IfRevision(0))
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("create over an existing key: err = %v", err)
	}

	// 6. Rollback to revision 1 republishes it as a new revision.
	r3, err := s.Rollback(ctx, r1.Revision, store.IfRevision(r2.Revision))
	if err != nil {
		t.Fatal(err)
	}
	if !r3.Changed || r3.Revision <= r2.Revision || r3.Hash != r1.Hash {
		t.Fatalf("rollback: %+v (r1 hash %s)", r3, r1.Hash)
	}
	next(r3.Revision, true)
	for i, w := range watchers {
		if c := w.Current(); c.Revision != r3.Revision || c.Value.defaultModel != "small" {
			t.Fatalf("subscriber %d serves %+v after rollback", i, c)
		}
	}
	if _, err := s.Rollback(ctx, 9999, store.Precondition{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rollback to a missing revision: %v", err)
	}

	// 7. Versions: newest first, hashes, one active.
	vs, err := s.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 3 || vs[0].Revision != r3.Revision || !vs[0].Active || vs[1].Active ||
		vs[2].Revision != r1.Revision || vs[0].Hash != vs[2].Hash || vs[1].Hash == vs[0].Hash || vs[0].Created.IsZero() {
		t.Fatalf("versions: %+v", vs)
	}
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestFileWatcherDebouncesAndRejects(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	write := func(data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(readTestdata(t, "valid.yaml"))
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	w := store.NewFileWatcher(s, path, 2*time.Second, clock.now, nil)
	first, err := w.PublishNow(ctx)
	if err != nil || !first.Changed {
		t.Fatalf("startup publish: %+v %v", first, err)
	}

	steps := []struct {
		name    string
		write   []byte
		advance time.Duration
		want    store.PollResult
	}{
		{name: "no change", want: store.PollIdle},
		{name: "change seen", write: withDefaultModel(t, "big"), want: store.PollPending},
		{name: "still settling", advance: time.Second, want: store.PollPending},
		{name: "edited again restarts the debounce", write: append(withDefaultModel(t, "big"), "# edited\n"...), advance: 1500 * time.Millisecond, want: store.PollPending},
		{name: "wait", advance: 1500 * time.Millisecond, want: store.PollPending},
		{name: "published after debounce", advance: time.Second, want: store.PollPublished},
		{name: "idle after publish", advance: 10 * time.Second, want: store.PollIdle},
		{name: "formatting-only change seen", write: append(withDefaultModel(t, "big"), "# reformatted\n"...), want: store.PollPending},
		{name: "formatting-only change is no new revision", advance: 2 * time.Second, want: store.PollUnchanged},
		{name: "invalid seen", write: []byte("version: v0.3\nlisteners: 12\n"), want: store.PollPending},
		{name: "invalid rejected", advance: 3 * time.Second, want: store.PollRejected},
		{name: "invalid not retried", advance: 3 * time.Second, want: store.PollIdle},
	}
	for _, st := range steps {
		if st.write != nil {
			write(st.write)
		}
		clock.advance(st.advance)
		got, err := w.Poll(ctx)
		if got != st.want {
			t.Fatalf("%s: poll = %v (%v), want %v", st.name, got, err, st.want)
		}
		if (got == store.PollRejected) != (err != nil) {
			t.Fatalf("%s: err = %v", st.name, err)
		}
	}
	vs, err := s.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 {
		t.Fatalf("want 2 revisions (startup + one change), got %+v", vs)
	}
	cur, _ := s.Current(ctx)
	if !strings.Contains(string(cur.Document), "default_model: big") {
		t.Fatalf("active revision is not the edited file:\n%s", cur.Document)
	}

	// Run drives Poll from a tick channel.
	runCtx, cancel := context.WithCancel(ctx)
	ticks := make(chan time.Time)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx, ticks) }()
	write(withDefaultModel(t, "small"))
	at := clock.now()
	ticks <- at
	ticks <- at.Add(5 * time.Second)
	ticks <- at.Add(6 * time.Second) // accepted once the previous tick was handled
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	cur, _ = s.Current(ctx)
	if !strings.Contains(string(cur.Document), "default_model: small") {
		t.Fatalf("Run did not publish the change:\n%s", cur.Document)
	}
}

// recorder is a store.Observer that keeps what it was told.
type recorder struct{ events []string }

func (r *recorder) Published(source string) { r.events = append(r.events, "published "+source) }
func (r *recorder) Rejected(source string)  { r.events = append(r.events, "rejected "+source) }

var _ store.Observer = (*recorder)(nil)

// TestObserverSeesEveryWrite: the observer is told which source wrote a
// revision or had a document refused by validation; unchanged documents,
// conflicts and missing revisions are neither.
func TestObserverSeesEveryWrite(t *testing.T) {
	ctx := context.Background()
	nc := natstest.Connect(t, natstest.RunServer(t))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	s, err := store.Open(ctx, js, "config", "active", nil, store.WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, readTestdata(t, "valid.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	files := store.NewFileWatcher(s, path, time.Second, nil, nil)
	invalid := []byte("version: v0.3\nlisteners: 12\n")
	steps := []struct {
		name string
		do   func() error
		want string // "" = nothing observed
	}{
		{"file published", func() error { _, err := files.PublishNow(ctx); return err }, "published file"},
		{"same document through the API", func() error {
			_, err := s.Publish(ctx, readTestdata(t, "valid.yaml"), "same", store.Precondition{})
			return err
		}, ""},
		{"API write", func() error {
			_, err := s.Publish(ctx, withDefaultModel(t, "big"), "big", store.IfRevision(1))
			return err
		}, "published api"},
		{"stale API write", func() error {
			_, err := s.Publish(ctx, readTestdata(t, "valid.yaml"), "stale", store.IfRevision(1))
			return ignore(err, store.ErrConflict)
		}, ""},
		{"invalid API write", func() error {
			_, err := s.Publish(ctx, invalid, "bad", store.Precondition{})
			return ignore(err, config.ErrInvalid)
		}, "rejected api"},
		{"rollback", func() error { _, err := s.Rollback(ctx, 1, store.IfRevision(2)); return err }, "published rollback"},
		{"rollback to a missing revision", func() error {
			_, err := s.Rollback(ctx, 99, store.Precondition{})
			return ignore(err, store.ErrNotFound)
		}, ""},
		{"invalid file", func() error {
			if err := os.WriteFile(path, invalid, 0o600); err != nil {
				return err
			}
			_, err := files.PublishNow(ctx)
			return ignore(err, config.ErrInvalid)
		}, "rejected file"},
	}
	for _, st := range steps {
		before := len(rec.events)
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		var got string
		switch n := len(rec.events) - before; n {
		case 0:
		case 1:
			got = rec.events[before]
		default:
			t.Fatalf("%s: %d events %v", st.name, n, rec.events[before:])
		}
		if got != st.want {
			t.Errorf("%s: observed %q, want %q", st.name, got, st.want)
		}
	}
}

// ignore returns nil when err wraps target, and an error otherwise.
func ignore(err, target error) error {
	if errors.Is(err, target) {
		return nil
	}
	return fmt.Errorf("err = %v, want one wrapping %v", err, target)
}
