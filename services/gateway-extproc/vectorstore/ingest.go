package vectorstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"
)

// enqueue starts the ingestion of (storeID, fileID) in its own goroutine;
// at most Workers run at once (the others wait for a slot or for Close's
// drain to give up).
func (s *Store) enqueue(storeID, fileID string) {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return // stays in_progress; resumes at the next Open
	}
	s.jobs.Add(1)
	go func() {
		defer s.jobs.Done()
		select {
		case s.sem <- struct{}{}:
		case <-s.ctx.Done():
			return
		}
		defer func() { <-s.sem }()
		s.ingest(s.ctx, storeID, fileID)
	}()
}

// ingest extracts, chunks and embeds one file and indexes its chunks, or
// marks it failed. A file detached meanwhile is dropped.
func (s *Store) ingest(ctx context.Context, storeID, fileID string) {
	chunks, err := s.prepare(ctx, fileID)
	if ctx.Err() != nil {
		return // shutdown: stays in_progress
	}
	if err == nil {
		err = s.writeChunks(storeID, fileID, chunks)
	}
	s.mu.Lock()
	st, ok := s.stores[storeID]
	var sf *StoreFile
	if ok {
		sf = st.Files[fileID]
	}
	if sf == nil || sf.Status != StatusInProgress {
		s.mu.Unlock()
		if sf == nil && err == nil {
			s.removeChunks(storeID, fileID) // detached meanwhile
		}
		return
	}
	if err == nil && s.cfg.MaxEntriesPerStore > 0 && len(st.Chunks)+len(chunks) > s.cfg.MaxEntriesPerStore {
		err = fmt.Errorf("%w: the vector store would hold %d chunks, the limit is %d (memory.max_entries_per_store)",
			ErrInvalid, len(st.Chunks)+len(chunks), s.cfg.MaxEntriesPerStore)
	}
	if err != nil {
		sf.Status, sf.ErrorCode, sf.ErrorMsg = StatusFailed, errorCode(err), err.Error()
	} else {
		var usage int64
		for _, c := range chunks {
			usage += int64(len(c.Text))
		}
		st.Chunks = append(st.Chunks, chunks...)
		sf.Status, sf.UsageBytes = StatusCompleted, usage
	}
	st.VS.LastActiveAt = s.unix()
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("vector store: ingestion failed", slog.String("vector_store", storeID), slog.String("file", fileID), slog.Any("error", err))
	}
	if err := s.save(); err != nil {
		s.log.Warn("vector store: save the index", slog.Any("error", err))
	}
}

func errorCode(err error) string {
	switch {
	case errors.Is(err, ErrUnsupportedFormat):
		return "unsupported_file"
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrNotFound):
		return "invalid_file"
	default:
		return "server_error"
	}
}

// prepare reads, extracts, chunks and embeds a file (batches of
// EmbedBatch chunks).
func (s *Store) prepare(ctx context.Context, fileID string) ([]Chunk, error) {
	s.mu.RLock()
	f, ok := s.files[fileID]
	var name string
	if ok {
		name = f.Filename
	}
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: file %q was deleted", ErrNotFound, fileID)
	}
	data, err := os.ReadFile(s.filePath(fileID))
	if err != nil {
		return nil, fmt.Errorf("read file %s: %w", fileID, err)
	}
	return embedFile(ctx, s.emb, s.chunker, s.cfg.Dimension, fileID, name, data)
}

// embedFile extracts, chunks and embeds one file's data (batches of
// EmbedBatch chunks); the vectors come back unit length.
func embedFile(ctx context.Context, emb Embedder, chunker Chunker, dim int, fileID, name string, data []byte) ([]Chunk, error) {
	text, err := ExtractText(Extension(name), data)
	if err != nil {
		return nil, err
	}
	texts := chunker.Chunk(text)
	if len(texts) == 0 {
		return nil, fmt.Errorf("%w: file %q has no text", ErrInvalid, name)
	}
	out := make([]Chunk, 0, len(texts))
	for i := 0; i < len(texts); i += EmbedBatch {
		batch := texts[i:min(i+EmbedBatch, len(texts))]
		vecs, err := emb.Embed(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("embed chunks of %s: %w", fileID, err)
		}
		if len(vecs) != len(batch) {
			return nil, fmt.Errorf("embed chunks of %s: %d embeddings for %d texts", fileID, len(vecs), len(batch))
		}
		for j, v := range vecs {
			if dim > 0 && len(v) != dim {
				return nil, fmt.Errorf("%w: the embedder returned %d dimensions, embedding_dimension is %d", ErrInvalid, len(v), dim)
			}
			out = append(out, Chunk{FileID: fileID, Text: batch[j], Vec: normalize(v)})
		}
	}
	return out, nil
}

// normalize returns v scaled to unit length (a copy).
func normalize(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if n == 0 {
		return out
	}
	inv := float32(1 / math.Sqrt(n))
	for i, x := range v {
		out[i] = x * inv
	}
	return out
}

// drain waits up to timeout for the running ingestion jobs, then cancels
// them (cancel stops their embedding calls) and waits for them to return;
// cancel is called either way. resume says, in the timeout's log line,
// what becomes of unfinished files.
func drain(jobs *sync.WaitGroup, timeout time.Duration, cancel func(), log *slog.Logger, resume string) {
	done := make(chan struct{})
	go func() { jobs.Wait(); close(done) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		log.Warn("vector store: ingestion drain timed out; "+resume, slog.Duration("timeout", timeout))
		cancel()
		<-done
	}
	cancel()
}
