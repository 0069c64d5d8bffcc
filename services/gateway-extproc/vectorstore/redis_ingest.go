package vectorstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"
)

// releaseClaim deletes a claim only while it is still the caller's.
var releaseClaim = goredis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// enqueue starts the ingestion of (storeID, fileID) in its own goroutine;
// at most Workers run at once on this replica.
func (s *RedisStore) enqueue(storeID, fileID string) {
	key := storeID + "\x00" + fileID
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.jobs.Add(1)
		s.queued[key]++
	}
	s.mu.Unlock()
	if closed {
		return // stays in_progress; a replica resumes it
	}
	go func() {
		defer s.jobs.Done()
		defer func() {
			s.mu.Lock()
			if s.queued[key]--; s.queued[key] <= 0 {
				delete(s.queued, key)
			}
			s.mu.Unlock()
		}()
		select {
		case s.sem <- struct{}{}:
		case <-s.ctx.Done():
			return
		}
		defer func() { <-s.sem }()
		s.ingest(s.ctx, storeID, fileID)
	}()
}

// ingest claims the file (SET NX with ClaimTTL: one replica ingests it),
// extracts, chunks and embeds it, and completes it in a transaction that
// checks the attachment is still the one claimed and in progress, so an
// expired claim taken over by another replica still writes the chunks
// once.
func (s *RedisStore) ingest(ctx context.Context, storeID, fileID string) {
	key := s.claimKey(storeID, fileID)
	won, err := s.rdb.SetNX(ctx, key, s.replica, ClaimTTL).Result()
	if err != nil {
		s.log.Warn("vector store: claim ingestion", slog.String("vector_store", storeID), slog.String("file", fileID),
			slog.Any("error", s.unavailable("claim", err)))
		return
	}
	if s.claimed != nil {
		s.claimed(storeID, fileID, won)
	}
	if !won {
		return // another replica ingests it
	}
	stale := false
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Redis.Timeout)
		defer cancel()
		if err := releaseClaim.Run(rctx, s.rdb, []string{key}, s.replica).Err(); err != nil {
			s.log.Warn("vector store: release ingestion claim (it expires)", slog.String("file", fileID), slog.Any("error", err))
		}
		if stale {
			s.enqueue(storeID, fileID) // attached again meanwhile: ingest the new attachment
		}
	}()
	rec, err := s.record(ctx, s.rdb, storeID, fileID)
	if err != nil || rec.Status != StatusInProgress {
		return // detached, or already done by another replica
	}
	chunks, err := s.prepare(ctx, fileID)
	if ctx.Err() != nil {
		return // shutdown: stays in_progress
	}
	if errors.Is(err, ErrUnavailable) {
		s.log.Warn("vector store: ingestion left in progress", slog.String("file", fileID), slog.Any("error", err))
		return
	}
	err = s.complete(ctx, storeID, fileID, rec.Gen, chunks, err)
	if errors.Is(err, errStale) {
		stale = true
		return
	}
	if err != nil {
		s.log.Warn("vector store: complete ingestion", slog.String("vector_store", storeID), slog.String("file", fileID), slog.Any("error", err))
	}
}

// prepare reads and embeds a file.
func (s *RedisStore) prepare(ctx context.Context, fileID string) ([]Chunk, error) {
	v, err := s.rdb.HGet(ctx, s.p+"files", fileID).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("%w: file %q was deleted", ErrNotFound, fileID)
	}
	if err != nil {
		return nil, s.unavailable("read file "+fileID, err)
	}
	var f File
	if err := json.Unmarshal([]byte(v), &f); err != nil {
		return nil, fmt.Errorf("decode file %s: %w", fileID, err)
	}
	data, err := s.rdb.Get(ctx, s.dataKey(fileID)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("%w: file %q was deleted", ErrNotFound, fileID)
	}
	if err != nil {
		return nil, s.unavailable("read file "+fileID, err)
	}
	return embedFile(ctx, s.emb, s.chunker, s.cfg.Dimension, fileID, f.Filename, data)
}

// errStale: the attachment changed while it was ingested.
var errStale = errors.New("the vector store file changed during ingestion")

// complete records the outcome of one ingestion (chunks, or ingestErr as
// failed) when the record is still generation gen and in progress
// (errStale otherwise: detached, deleted or attached again). It
// watches the store's records: a concurrent change retries, so the chunk
// cap counts every completed file.
func (s *RedisStore) complete(ctx context.Context, storeID, fileID, gen string, chunks []Chunk, ingestErr error) error {
	sfKey := s.sfKey(storeID)
	var vecs, texts []byte
	var usage int64
	if ingestErr == nil {
		vecs, texts = encodeVectors(chunks), encodeTexts(chunks)
		for _, c := range chunks {
			usage += int64(len(c.Text))
		}
	}
	for range 16 {
		err := s.rdb.Watch(ctx, func(tx *goredis.Tx) error {
			all, err := tx.HGetAll(ctx, sfKey).Result()
			if err != nil {
				return s.unavailable("read vector store files", err)
			}
			recs, err := decodeRecords(all)
			if err != nil {
				return err
			}
			r, ok := recs[fileID]
			if !ok || r.Gen != gen || r.Status != StatusInProgress {
				return errStale
			}
			failed := ingestErr
			if failed == nil {
				total := len(chunks)
				for id, o := range recs {
					if id != fileID && o.Status == StatusCompleted {
						total += o.Chunks
					}
				}
				if total > s.maxCk {
					failed = fmt.Errorf("%w: the vector store would hold %d chunks, the limit is %d (memory.max_entries_per_store)",
						ErrInvalid, total, s.maxCk)
				}
			}
			if failed != nil {
				r.Status, r.ErrorCode, r.ErrorMsg = StatusFailed, errorCode(failed), failed.Error()
				s.log.Warn("vector store: ingestion failed", slog.String("vector_store", storeID), slog.String("file", fileID), slog.Any("error", failed))
			} else {
				r.Status, r.UsageBytes, r.Chunks = StatusCompleted, usage, len(chunks)
			}
			b, err := json.Marshal(r)
			if err != nil {
				return fmt.Errorf("encode vector store file: %w", err)
			}
			_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				if failed == nil {
					p.HSet(ctx, s.vecKey(storeID), fileID, vecs)
					p.HSet(ctx, s.textKey(storeID), fileID, texts)
				}
				p.HSet(ctx, sfKey, fileID, b)
				return nil
			})
			return err
		}, sfKey)
		switch {
		case errors.Is(err, goredis.TxFailedErr):
			continue // another file of the store changed: count again
		case errors.Is(err, errStale):
			return errStale
		case err != nil && !errors.Is(err, ErrUnavailable):
			return s.unavailable("complete ingestion", err)
		default:
			return err
		}
	}
	return fmt.Errorf("complete ingestion of %s: the store kept changing", fileID)
}
