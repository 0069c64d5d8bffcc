package vectorstore_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/embedtest"
	"github.com/semrouter/semrouter/services/gateway-extproc/vectorstore"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// wait polls (bounded) until the file leaves in_progress.
func wait(t *testing.T, s *vectorstore.Store, vs, file string) vectorstore.StoreFile {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for range 6000 {
		f, err := s.StoreFile("", vs, file)
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

func open(t *testing.T, cfg vectorstore.Config, emb vectorstore.Embedder) *vectorstore.Store {
	t.Helper()
	s, err := vectorstore.Open(cfg, emb, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestIngestionAndSearch(t *testing.T) {
	emb := embedtest.UseLite(t)
	s := open(t, vectorstore.Config{Enabled: true, Dir: t.TempDir()}, emb)
	a, err := s.AddFile("", "cats.txt", "assistants", []byte("Cats sleep for most of the day and purr when they are content."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.AddFile("", "rockets.txt", "assistants", []byte("Rockets burn liquid fuel to reach orbit around the planet."))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := s.CreateStore("", "kb", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AttachFile("", vs.ID, a.ID, map[string]any{"topic": "pets"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AttachFile("", vs.ID, b.ID, map[string]any{"topic": "space"}); err != nil {
		t.Fatal(err)
	}
	wait(t, s, vs.ID, a.ID)
	wait(t, s, vs.ID, b.ID)
	before := emb.Calls()
	for _, tc := range []struct {
		name   string
		req    vectorstore.SearchRequest
		wantID []string
	}{
		{"ranking", vectorstore.SearchRequest{Query: "How do spacecraft get into orbit?"}, []string{b.ID, a.ID}},
		{"filter on attributes", vectorstore.SearchRequest{Query: "How do spacecraft get into orbit?",
			Filter: &vectorstore.Filter{Type: "eq", Key: "topic", Value: "pets"}}, []string{a.ID}},
		{"file restriction", vectorstore.SearchRequest{Query: "orbit", FileIDs: []string{a.ID}}, []string{a.ID}},
		{"max results", vectorstore.SearchRequest{Query: "purring cat", MaxResults: 1}, []string{a.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := s.Search(context.Background(), "", vs.ID, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, h := range hits {
				ids = append(ids, h.FileID)
			}
			if len(ids) != len(tc.wantID) {
				t.Fatalf("hits %v, want %v", ids, tc.wantID)
			}
			for i := range ids {
				if ids[i] != tc.wantID[i] {
					t.Fatalf("hits %v, want %v", ids, tc.wantID)
				}
			}
		})
	}
	if got := emb.Calls() - before; got != 4 {
		t.Errorf("%d embed calls for 4 searches", got)
	}
	if _, err := s.Search(context.Background(), "mallory", vs.ID, vectorstore.SearchRequest{Query: "x"}); !errors.Is(err, vectorstore.ErrNotFound) {
		t.Errorf("another owner: %v", err)
	}
}

func TestIngestionFailsOnDimension(t *testing.T) {
	s := open(t, vectorstore.Config{Enabled: true, Dir: t.TempDir(), Dimension: 7}, embedtest.UseLite(t))
	f, err := s.AddFile("", "a.md", "assistants", []byte("Some text."))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := s.CreateStore("", "", nil, []string{f.ID})
	if err != nil {
		t.Fatal(err)
	}
	got := wait(t, s, vs.ID, f.ID)
	if got.Status != vectorstore.StatusFailed || got.ErrorCode != "invalid_file" || got.ErrorMsg == "" {
		t.Fatalf("%+v", got)
	}
	if n := s.ChunkCount(vs.ID); n != 0 {
		t.Fatalf("%d chunks of a failed file", n)
	}
}

// gated holds every Embed call until its context ends: ingestion that
// cannot finish before the drain timeout (a test double around timing).
type gated struct{}

func (gated) Embed(ctx context.Context, _ []string) ([][]float32, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestDrainAndResume(t *testing.T) {
	emb := embedtest.UseLite(t)
	dir := t.TempDir()
	cfg := vectorstore.Config{Enabled: true, Dir: dir, DrainTimeout: 20 * time.Millisecond, Workers: 1}

	t.Run("drained work is saved", func(t *testing.T) {
		s, err := vectorstore.Open(vectorstore.Config{Enabled: true, Dir: dir, Workers: 1}, emb, quiet())
		if err != nil {
			t.Fatal(err)
		}
		f, _ := s.AddFile("", "a.txt", "assistants", []byte("Drained before the store closed."))
		vs, _ := s.CreateStore("", "drained", nil, []string{f.ID})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := vectorstore.Open(cfg, gated{}, quiet())
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got, err := r.StoreFile("", vs.ID, f.ID)
		if err != nil || got.Status != vectorstore.StatusCompleted || r.ChunkCount(vs.ID) != 1 {
			t.Fatalf("after reopen %+v %v chunks=%d", got, err, r.ChunkCount(vs.ID))
		}
	})

	t.Run("unfinished work resumes at the next open", func(t *testing.T) {
		s, err := vectorstore.Open(cfg, gated{}, quiet())
		if err != nil {
			t.Fatal(err)
		}
		f, _ := s.AddFile("", "b.txt", "assistants", []byte("Resumed after a restart."))
		vs, _ := s.CreateStore("", "resumed", nil, []string{f.ID})
		if err := s.Close(); err != nil { // drain times out: the embedder never answers
			t.Fatal(err)
		}
		r := open(t, cfg, emb)
		if got := wait(t, r, vs.ID, f.ID); got.Status != vectorstore.StatusCompleted {
			t.Fatalf("%+v", got)
		}
	})
}

// TestChunkFiles: each completed file's chunks live in their own file,
// removed with the file; a lost one is ingested again at the next open.
func TestChunkFiles(t *testing.T) {
	emb := embedtest.UseLite(t)
	dir := t.TempDir()
	cfg := vectorstore.Config{Enabled: true, Dir: dir}
	s, err := vectorstore.Open(cfg, emb, quiet())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.AddFile("", "a.txt", "assistants", []byte("Kept across restarts."))
	b, _ := s.AddFile("", "b.txt", "assistants", []byte("Deleted before the restart."))
	vs, _ := s.CreateStore("", "", nil, []string{a.ID, b.ID})
	wait(t, s, vs.ID, a.ID)
	wait(t, s, vs.ID, b.ID)
	chunkFile := func(id string) string { return filepath.Join(dir, "chunks", vs.ID, id) }
	for _, id := range []string{a.ID, b.ID} {
		if _, err := os.Stat(chunkFile(id)); err != nil {
			t.Fatalf("chunks of %s: %v", id, err)
		}
	}
	if err := s.DeleteFile("", b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(chunkFile(b.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("chunks of a deleted file: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(chunkFile(a.ID)); err != nil {
		t.Fatal(err)
	}
	r := open(t, cfg, emb)
	if got := wait(t, r, vs.ID, a.ID); got.Status != vectorstore.StatusCompleted || r.ChunkCount(vs.ID) != 1 {
		t.Fatalf("after losing the chunks: %+v, %d chunks", got, r.ChunkCount(vs.ID))
	}
	if _, err := r.File("", b.ID); !errors.Is(err, vectorstore.ErrNotFound) {
		t.Fatalf("deleted file after restart: %v", err)
	}
}

// TestMaxEntriesPerStore: a file that would overfill the store fails.
func TestMaxEntriesPerStore(t *testing.T) {
	s := open(t, vectorstore.Config{Enabled: true, Dir: t.TempDir(), MaxEntriesPerStore: 1}, embedtest.UseLite(t))
	long := strings.Repeat("Every sentence here adds a few more words to the document. ", 60) // ≈ 600 words: several chunks
	f, err := s.AddFile("", "long.txt", "assistants", []byte(long))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := s.CreateStore("", "", nil, []string{f.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got := wait(t, s, vs.ID, f.ID); got.Status != vectorstore.StatusFailed || !strings.Contains(got.ErrorMsg, "max_entries_per_store") {
		t.Fatalf("%+v", got)
	}
}
