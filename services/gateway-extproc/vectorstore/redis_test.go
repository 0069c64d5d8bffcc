package vectorstore_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/gateway-extproc/embedtest"
	"github.com/semrouter/semrouter/services/gateway-extproc/vectorstore"
)

func redisConfig(addr string) vectorstore.Config {
	return vectorstore.Config{Enabled: true, Backend: vectorstore.BackendRedis, DrainTimeout: 20 * time.Second,
		Redis: vectorstore.RedisConfig{Addr: addr, Prefix: "t:", Timeout: 2 * time.Second, DialTimeout: time.Second}}
}

func openRedis(t *testing.T, cfg vectorstore.Config, emb vectorstore.Embedder, opts ...vectorstore.Option) *vectorstore.RedisStore {
	t.Helper()
	s, err := vectorstore.OpenRedis(cfg, emb, quiet(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitRedis polls (bounded) until the file leaves in_progress.
func waitRedis(t *testing.T, s *vectorstore.RedisStore, owner, vs, file string) vectorstore.StoreFile {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for range 6000 {
		f, err := s.StoreFile(context.Background(), owner, vs, file)
		if err != nil {
			t.Fatal(err)
		}
		if f.Status != vectorstore.StatusInProgress {
			return f
		}
		<-tick.C
	}
	t.Fatal("still in progress")
	return vectorstore.StoreFile{}
}

// TestRedisReplicasShare: two stores on one real redis-server see each
// other's files, stores, statuses and search results.
func TestRedisReplicasShare(t *testing.T) {
	emb := embedtest.UseLite(t)
	srv := redistest.Start(t)
	ctx := context.Background()
	a := openRedis(t, redisConfig(srv.Addr), emb)
	b := openRedis(t, redisConfig(srv.Addr), emb)

	cats, err := a.AddFile(ctx, "alice", "cats.txt", "assistants", []byte("Cats sleep for most of the day and purr when they are content."))
	if err != nil {
		t.Fatal(err)
	}
	rockets, err := b.AddFile(ctx, "alice", "rockets.md", "assistants", []byte("Rockets burn liquid fuel to reach orbit around the planet."))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := a.CreateStore(ctx, "alice", "kb", map[string]string{"team": "x"}, []string{cats.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.AttachFile(ctx, "alice", vs.ID, rockets.ID, map[string]any{"topic": "space"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{cats.ID, rockets.ID} {
		if got := waitRedis(t, b, "alice", vs.ID, id); got.Status != vectorstore.StatusCompleted {
			t.Fatalf("%s: %+v", id, got)
		}
	}
	info, err := a.GetStore(ctx, "alice", vs.ID)
	if err != nil || info.Counts.Completed != 2 || info.Name != "kb" || info.Metadata["team"] != "x" || info.UsageBytes == 0 {
		t.Fatalf("store seen from a: %+v %v", info, err)
	}
	for _, tc := range []struct {
		name  string
		st    *vectorstore.RedisStore
		req   vectorstore.SearchRequest
		files []string
	}{
		{"a ranks b's file first", a, vectorstore.SearchRequest{Query: "How do spacecraft get into orbit?"}, []string{rockets.ID, cats.ID}},
		{"b ranks a's file first", b, vectorstore.SearchRequest{Query: "Which animal purrs?"}, []string{cats.ID, rockets.ID}},
		{"attribute filter", a, vectorstore.SearchRequest{Query: "purring", Filter: &vectorstore.Filter{Type: "eq", Key: "topic", Value: "space"}}, []string{rockets.ID}},
		{"file restriction", b, vectorstore.SearchRequest{Query: "orbit", FileIDs: []string{cats.ID}}, []string{cats.ID}},
		{"threshold", a, vectorstore.SearchRequest{Query: "orbit", Threshold: 0.99}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := tc.st.Search(ctx, "alice", vs.ID, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, h := range hits {
				ids = append(ids, h.FileID)
				if h.Text == "" || h.Filename == "" {
					t.Errorf("hit without text or name: %+v", h)
				}
			}
			if strings.Join(ids, ",") != strings.Join(tc.files, ",") {
				t.Fatalf("hits %v, want %v", ids, tc.files)
			}
		})
	}
	if _, err := b.Search(ctx, "mallory", vs.ID, vectorstore.SearchRequest{Query: "x"}); !errors.Is(err, vectorstore.ErrNotFound) {
		t.Errorf("another owner searches: %v", err)
	}
	if list, err := b.Files(ctx, "alice"); err != nil || len(list) != 2 {
		t.Fatalf("b lists %d files (%v)", len(list), err)
	}
	if data, err := a.FileContent(ctx, "alice", rockets.ID); err != nil || !strings.Contains(string(data), "liquid fuel") {
		t.Fatalf("a reads b's upload: %q %v", data, err)
	}
	if err := b.DeleteFile(ctx, "alice", cats.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.File(ctx, "alice", cats.ID); !errors.Is(err, vectorstore.ErrNotFound) {
		t.Fatalf("deleted on b, a still finds it: %v", err)
	}
	hits, err := a.Search(ctx, "alice", vs.ID, vectorstore.SearchRequest{Query: "Which animal purrs?"})
	if err != nil || len(hits) != 1 || hits[0].FileID != rockets.ID {
		t.Fatalf("after deletion: %+v %v", hits, err)
	}
	if err := a.DeleteStore(ctx, "alice", vs.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetStore(ctx, "alice", vs.ID); !errors.Is(err, vectorstore.ErrNotFound) {
		t.Fatalf("deleted store on b: %v", err)
	}
}

// holdFirst wraps the real embedder: its first call says so on entered
// and waits for release (a test double around timing only).
type holdFirst struct {
	vectorstore.Embedder
	entered, release chan struct{}
	calls            atomic.Int64
}

func (h *holdFirst) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if h.calls.Add(1) == 1 {
		close(h.entered)
		select {
		case <-h.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return h.Embedder.Embed(ctx, texts)
}

// TestRedisIngestionClaimedOnce: replica a holds a file's ingestion;
// replica b, opened meanwhile, resumes the in-progress file, loses the
// claim and embeds nothing; the chunks are written once, by a.
func TestRedisIngestionClaimedOnce(t *testing.T) {
	lite := embedtest.UseLite(t)
	srv := redistest.Start(t)
	ctx := context.Background()
	ha := &holdFirst{Embedder: lite, entered: make(chan struct{}), release: make(chan struct{})}
	a := openRedis(t, redisConfig(srv.Addr), ha)
	doc := strings.Repeat("Every sentence here adds a few more words to the shared document. ", 40)
	f, err := a.AddFile(ctx, "", "doc.txt", "assistants", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := a.CreateStore(ctx, "", "", nil, []string{f.ID})
	if err != nil {
		t.Fatal(err)
	}
	<-ha.entered // a holds the claim and is embedding
	claims := make(chan bool, 4)
	hb := &holdFirst{Embedder: lite, entered: make(chan struct{}), release: make(chan struct{})}
	close(hb.release)
	b := openRedis(t, redisConfig(srv.Addr), hb, vectorstore.WithClaimObserver(func(_, _ string, won bool) { claims <- won }))
	if won := <-claims; won {
		t.Fatal("b won the claim a holds")
	}
	close(ha.release)
	if got := waitRedis(t, b, "", vs.ID, f.ID); got.Status != vectorstore.StatusCompleted {
		t.Fatalf("%+v", got)
	}
	if n := hb.calls.Load(); n != 0 {
		t.Fatalf("b embedded %d batches", n)
	}
	n, err := b.ChunkCount(ctx, vs.ID)
	if err != nil || n < 2 {
		t.Fatalf("%d chunks (%v)", n, err)
	}
	if want := (n + vectorstore.EmbedBatch - 1) / vectorstore.EmbedBatch; ha.calls.Load() != int64(want) {
		t.Fatalf("a embedded %d batches for %d chunks", ha.calls.Load(), n)
	}
	// Attached again on b: b ingests it now that nobody holds it.
	if _, err := b.AttachFile(ctx, "", vs.ID, f.ID, nil); err != nil {
		t.Fatal(err)
	}
	if won := <-claims; !won {
		t.Fatal("b lost a free claim")
	}
	if got := waitRedis(t, a, "", vs.ID, f.ID); got.Status != vectorstore.StatusCompleted {
		t.Fatalf("re-attached: %+v", got)
	}
	if m, _ := a.ChunkCount(ctx, vs.ID); m != n {
		t.Fatalf("re-ingested to %d chunks, want %d", m, n)
	}
}

// TestRedisLimits: the per-store chunk cap fails a file; unknown formats
// and large uploads are refused before Redis.
func TestRedisLimits(t *testing.T) {
	emb := embedtest.UseLite(t)
	srv := redistest.Start(t)
	ctx := context.Background()
	cfg := redisConfig(srv.Addr)
	cfg.MaxEntriesPerStore, cfg.MaxFileBytes = 1, 4<<10
	s := openRedis(t, cfg, emb)
	long := strings.Repeat("Every sentence here adds a few more words to the document. ", 60)
	f, err := s.AddFile(ctx, "", "long.txt", "assistants", []byte(long))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := s.CreateStore(ctx, "", "", nil, []string{f.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got := waitRedis(t, s, "", vs.ID, f.ID); got.Status != vectorstore.StatusFailed || !strings.Contains(got.ErrorMsg, "max_entries_per_store") {
		t.Fatalf("%+v", got)
	}
	for _, tc := range []struct {
		name, file string
		size       int
		want       error
	}{
		{"format", "a.pdf", 10, vectorstore.ErrUnsupportedFormat},
		{"size", "a.txt", 5 << 10, vectorstore.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.AddFile(ctx, "", tc.file, "assistants", []byte(strings.Repeat("a", tc.size))); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestRedisDown: every call fails with ErrUnavailable once the server is
// gone.
func TestRedisDown(t *testing.T) {
	emb := embedtest.UseLite(t)
	srv := redistest.Start(t)
	ctx := context.Background()
	s := openRedis(t, redisConfig(srv.Addr), emb)
	f, err := s.AddFile(ctx, "", "a.txt", "assistants", []byte("Up while the server runs."))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"upload", func() error { _, err := s.AddFile(ctx, "", "b.txt", "assistants", []byte("x")); return err }},
		{"list files", func() error { _, err := s.Files(ctx, ""); return err }},
		{"get file", func() error { _, err := s.File(ctx, "", f.ID); return err }},
		{"create store", func() error { _, err := s.CreateStore(ctx, "", "", nil, nil); return err }},
		{"search", func() error {
			_, err := s.SearchAny(ctx, "vs_x", vectorstore.SearchRequest{Query: "q"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, vectorstore.ErrUnavailable) {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
		})
	}
}

// TestRedisResumesAbandoned: a replica that stops mid-ingestion (drain
// timeout) leaves the file in progress with its claim released; a replica
// already running picks it up at its next resume sweep.
func TestRedisResumesAbandoned(t *testing.T) {
	emb := embedtest.UseLite(t)
	srv := redistest.Start(t)
	ctx := context.Background()
	live := redisConfig(srv.Addr)
	live.Redis.ResumeEvery = 10 * time.Millisecond
	survivor := openRedis(t, live, emb)
	gone := redisConfig(srv.Addr)
	gone.DrainTimeout, gone.Redis.ResumeEvery = 20*time.Millisecond, -1
	dying, err := vectorstore.OpenRedis(gone, gated{}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	f, err := dying.AddFile(ctx, "", "a.txt", "assistants", []byte("Left behind by a replica that stopped."))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := dying.CreateStore(ctx, "", "", nil, []string{f.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := dying.Close(); err != nil { // the drain times out: gated never answers
		t.Fatal(err)
	}
	if got := waitRedis(t, survivor, "", vs.ID, f.ID); got.Status != vectorstore.StatusCompleted {
		t.Fatalf("%+v", got)
	}
}
