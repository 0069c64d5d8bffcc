package vectorstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Defaults of the Redis backend.
const (
	// DefaultRedisPrefix starts every key when collection_prefix is unset.
	DefaultRedisPrefix = "semrouter:vs:"
	// DefaultRedisMaxChunks caps the chunks of one store when
	// memory.max_entries_per_store is unset: a search reads every vector
	// of the store (about dimension+4 bytes each), so the cap bounds it.
	DefaultRedisMaxChunks = 20_000
	// ClaimTTL is how long an ingestion claim holds when its replica dies
	// without releasing it.
	ClaimTTL = 10 * time.Minute
	// DefaultResumeEvery is how often a replica resumes files another
	// replica left in progress.
	DefaultResumeEvery = time.Minute
)

// ErrUnavailable: the shared store cannot be reached (503).
var ErrUnavailable = errors.New("vector store backend unavailable")

// RedisStore is the vector store kept in Valkey/Redis, shared by every
// gateway replica pointed at the same server and prefix. Keys (P is the
// prefix):
//
//	P files              hash  file id → File (JSON)
//	P data:<file>        string  the uploaded bytes
//	P stores             hash  store id → VectorStore (JSON)
//	P sf:<store>         hash  file id → the store file's status record (JSON)
//	P vec:<store>        hash  file id → the file's chunk vectors (int8, vecs.go)
//	P text:<store>       hash  file id → the file's chunk texts
//	P claim:<store>:<file> string  the replica ingesting the file (expires after ClaimTTL)
//
// Search reads the store's status records and vectors (HGETALL), scans
// them with cosine similarity in the gateway (Redis without modules has
// no vector index) and then reads only the texts of the hit files. It is
// safe for concurrent use.
type RedisStore struct {
	cfg     Config
	formats map[string]bool
	emb     Embedder
	log     *slog.Logger
	settings
	rdb     *goredis.Client
	p       string
	replica string
	maxCk   int

	mu     sync.Mutex
	closed bool
	queued map[string]int // store\x00file → ingestions waiting or running here
	stop   chan struct{}  // closed by Close: no more resume sweeps
	sem    chan struct{}
	jobs   sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// sfRecord is a store file as Redis keeps it.
type sfRecord struct {
	StoreFile
	// Chunks is the number of chunks indexed (status completed).
	Chunks int `json:"chunks,omitempty"`
	// Gen names one attachment: a file attached again gets a new one, so
	// an ingestion of the older attachment cannot complete the newer.
	Gen string `json:"gen"`
}

// OpenRedis returns the shared store described by cfg.Redis. It does not
// need the server to be up: calls fail with ErrUnavailable until it is.
// Files another replica left in progress are resumed (claimed first).
func OpenRedis(cfg Config, emb Embedder, log *slog.Logger, opts ...Option) (*RedisStore, error) {
	cfg = cfg.withDefaults()
	if emb == nil {
		return nil, errors.New("open vector store: an embedder is required")
	}
	rc := cfg.Redis
	if rc.Addr == "" {
		return nil, errors.New("open vector store: the redis address is required")
	}
	if rc.DB < 0 {
		return nil, fmt.Errorf("open vector store: redis database %d must not be negative", rc.DB)
	}
	if rc.Prefix == "" {
		rc.Prefix = DefaultRedisPrefix
	}
	if rc.DialTimeout <= 0 {
		rc.DialTimeout = 5 * time.Second
	}
	if rc.Timeout <= 0 {
		rc.Timeout = 5 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &RedisStore{cfg: cfg, formats: cfg.formats(), emb: emb, log: log, settings: newSettings(opts),
		rdb: goredis.NewClient(&goredis.Options{Addr: rc.Addr, Password: rc.Password, DB: rc.DB,
			DialTimeout: rc.DialTimeout, ReadTimeout: rc.Timeout, WriteTimeout: rc.Timeout,
			MaxRetries: -1, DialerRetries: 1, ContextTimeoutEnabled: true, ConnMaxIdleTime: time.Minute}),
		p: rc.Prefix, replica: newID("replica-"), maxCk: cfg.MaxEntriesPerStore,
		queued: map[string]int{}, stop: make(chan struct{}), sem: make(chan struct{}, cfg.Workers), ctx: ctx, cancel: cancel}
	if s.maxCk <= 0 {
		s.maxCk = DefaultRedisMaxChunks
	}
	s.resume()
	every := rc.ResumeEvery
	if every == 0 {
		every = DefaultResumeEvery
	}
	if every > 0 {
		s.jobs.Add(1)
		go s.resumeLoop(every)
	}
	return s, nil
}

// resumeLoop resumes abandoned files every interval until Close.
func (s *RedisStore) resumeLoop(every time.Duration) {
	defer s.jobs.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.stop:
			return
		case <-t.C:
			s.resume()
		}
	}
}

// resume enqueues every in-progress file of every store (a replica that
// stopped mid-ingestion, or whose drain timed out); the claim keeps a
// file from being ingested twice.
func (s *RedisStore) resume() {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Redis.Timeout+s.cfg.Redis.DialTimeout)
	defer cancel()
	ids, err := s.rdb.HKeys(ctx, s.p+"stores").Result()
	if err != nil {
		s.log.Warn("vector store: resume ingestion", slog.Any("error", s.unavailable("list stores", err)))
		return
	}
	for _, id := range ids {
		recs, err := s.records(ctx, id)
		if err != nil {
			s.log.Warn("vector store: resume ingestion", slog.String("vector_store", id), slog.Any("error", err))
			continue
		}
		for _, r := range recs {
			if r.Status == StatusInProgress && !s.isQueued(id, r.FileID) {
				s.enqueue(id, r.FileID)
			}
		}
	}
}

func (s *RedisStore) isQueued(storeID, fileID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queued[storeID+"\x00"+fileID] > 0
}

// Config is the store's configuration, defaults applied.
func (s *RedisStore) Config() Config { return s.cfg }

// MaxFileBytes is the upload limit.
func (s *RedisStore) MaxFileBytes() int64 { return s.cfg.MaxFileBytes }

// Close stops taking work, waits up to DrainTimeout for running
// ingestion (the rest stays in progress for any replica to resume) and
// closes the connections.
func (s *RedisStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	drain(&s.jobs, s.cfg.DrainTimeout, s.cancel, s.log, "unfinished files resume when a replica opens the store")
	return s.rdb.Close()
}

// unavailable wraps a Redis error.
func (s *RedisStore) unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: redis %s: %w", ErrUnavailable, op, s.cfg.Redis.Addr, err)
}

func (s *RedisStore) unix() int64 { return s.now().Unix() }

func (s *RedisStore) dataKey(id string) string        { return s.p + "data:" + id }
func (s *RedisStore) sfKey(store string) string       { return s.p + "sf:" + store }
func (s *RedisStore) vecKey(store string) string      { return s.p + "vec:" + store }
func (s *RedisStore) textKey(store string) string     { return s.p + "text:" + store }
func (s *RedisStore) claimKey(store, f string) string { return s.p + "claim:" + store + ":" + f }

// AddFile stores an upload (its bytes in Redis) for owner.
func (s *RedisStore) AddFile(ctx context.Context, owner, filename, purpose string, data []byte) (*File, error) {
	ext := Extension(filename)
	if !s.formats[ext] {
		return nil, fmt.Errorf("%w: %q (accepted: %s)", ErrUnsupportedFormat, filename, s.cfg.Formats)
	}
	if int64(len(data)) > s.cfg.MaxFileBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(data), s.cfg.MaxFileBytes)
	}
	if _, err := ExtractText(ext, data); err != nil {
		return nil, err
	}
	f := &File{ID: newID("file-"), Filename: filepath.Base(filename), Purpose: purpose, Owner: owner,
		Bytes: int64(len(data)), CreatedAt: s.unix()}
	meta, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode file %s: %w", f.ID, err)
	}
	if _, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, s.dataKey(f.ID), data, 0)
		p.HSet(ctx, s.p+"files", f.ID, meta)
		return nil
	}); err != nil {
		return nil, s.unavailable("store file "+f.ID, err)
	}
	return f, nil
}

// Files lists owner's files, newest first.
func (s *RedisStore) Files(ctx context.Context, owner string) ([]File, error) {
	all, err := s.rdb.HGetAll(ctx, s.p+"files").Result()
	if err != nil {
		return nil, s.unavailable("list files", err)
	}
	out := []File{}
	for id, v := range all {
		var f File
		if err := json.Unmarshal([]byte(v), &f); err != nil {
			return nil, fmt.Errorf("decode file %s: %w", id, err)
		}
		if f.Owner == owner {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedAt != out[j].CreatedAt {
			return out[i].CreatedAt > out[j].CreatedAt
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// File returns one of owner's files.
func (s *RedisStore) File(ctx context.Context, owner, id string) (File, error) {
	v, err := s.rdb.HGet(ctx, s.p+"files", id).Result()
	if errors.Is(err, goredis.Nil) {
		return File{}, fmt.Errorf("%w: file %q", ErrNotFound, id)
	}
	if err != nil {
		return File{}, s.unavailable("read file "+id, err)
	}
	var f File
	if err := json.Unmarshal([]byte(v), &f); err != nil {
		return File{}, fmt.Errorf("decode file %s: %w", id, err)
	}
	if f.Owner != owner {
		return File{}, fmt.Errorf("%w: file %q", ErrNotFound, id)
	}
	return f, nil
}

// FileContent returns the bytes of one of owner's files.
func (s *RedisStore) FileContent(ctx context.Context, owner, id string) ([]byte, error) {
	if _, err := s.File(ctx, owner, id); err != nil {
		return nil, err
	}
	b, err := s.rdb.Get(ctx, s.dataKey(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("%w: file %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, s.unavailable("read file "+id, err)
	}
	return b, nil
}

// DeleteFile removes one of owner's files, detaches it from every vector
// store and drops its chunks.
func (s *RedisStore) DeleteFile(ctx context.Context, owner, id string) error {
	if _, err := s.File(ctx, owner, id); err != nil {
		return err
	}
	stores, err := s.rdb.HKeys(ctx, s.p+"stores").Result()
	if err != nil {
		return s.unavailable("list stores", err)
	}
	if _, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HDel(ctx, s.p+"files", id)
		p.Del(ctx, s.dataKey(id))
		for _, st := range stores {
			p.HDel(ctx, s.sfKey(st), id)
			p.HDel(ctx, s.vecKey(st), id)
			p.HDel(ctx, s.textKey(st), id)
		}
		return nil
	}); err != nil {
		return s.unavailable("delete file "+id, err)
	}
	return nil
}

// CreateStore creates a vector store for owner and attaches fileIDs (all
// of them must be owner's).
func (s *RedisStore) CreateStore(ctx context.Context, owner, name string, metadata map[string]string, fileIDs []string) (VectorStore, error) {
	for _, id := range fileIDs {
		if _, err := s.File(ctx, owner, id); err != nil {
			return VectorStore{}, err
		}
	}
	now := s.unix()
	vs := VectorStore{ID: newID("vs_"), Name: name, Owner: owner, Metadata: metadata, CreatedAt: now, LastActiveAt: now}
	meta, err := json.Marshal(vs)
	if err != nil {
		return VectorStore{}, fmt.Errorf("encode vector store: %w", err)
	}
	recs := make([]any, 0, 2*len(fileIDs))
	for _, id := range fileIDs {
		b, err := json.Marshal(sfRecord{StoreFile: StoreFile{FileID: id, StoreID: vs.ID, CreatedAt: now, Status: StatusInProgress}, Gen: newID("g")})
		if err != nil {
			return VectorStore{}, fmt.Errorf("encode vector store file: %w", err)
		}
		recs = append(recs, id, b)
	}
	if _, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, s.p+"stores", vs.ID, meta)
		if len(recs) > 0 {
			p.HSet(ctx, s.sfKey(vs.ID), recs...)
		}
		return nil
	}); err != nil {
		return VectorStore{}, s.unavailable("create vector store", err)
	}
	for _, id := range fileIDs {
		s.enqueue(vs.ID, id)
	}
	return vs, nil
}

// store reads one of owner's vector stores (any owner when anyOwner).
func (s *RedisStore) store(ctx context.Context, owner, id string, anyOwner bool) (VectorStore, error) {
	v, err := s.rdb.HGet(ctx, s.p+"stores", id).Result()
	if errors.Is(err, goredis.Nil) {
		return VectorStore{}, fmt.Errorf("%w: vector store %q", ErrNotFound, id)
	}
	if err != nil {
		return VectorStore{}, s.unavailable("read vector store "+id, err)
	}
	var vs VectorStore
	if err := json.Unmarshal([]byte(v), &vs); err != nil {
		return VectorStore{}, fmt.Errorf("decode vector store %s: %w", id, err)
	}
	if !anyOwner && vs.Owner != owner {
		return VectorStore{}, fmt.Errorf("%w: vector store %q", ErrNotFound, id)
	}
	return vs, nil
}

// Stores lists owner's vector stores, newest first.
func (s *RedisStore) Stores(ctx context.Context, owner string) ([]VectorStore, error) {
	all, err := s.rdb.HGetAll(ctx, s.p+"stores").Result()
	if err != nil {
		return nil, s.unavailable("list vector stores", err)
	}
	out := []VectorStore{}
	for id, v := range all {
		var vs VectorStore
		if err := json.Unmarshal([]byte(v), &vs); err != nil {
			return nil, fmt.Errorf("decode vector store %s: %w", id, err)
		}
		if vs.Owner == owner {
			out = append(out, vs)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedAt != out[j].CreatedAt {
			return out[i].CreatedAt > out[j].CreatedAt
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// records reads a store's file records.
func (s *RedisStore) records(ctx context.Context, storeID string) (map[string]*sfRecord, error) {
	all, err := s.rdb.HGetAll(ctx, s.sfKey(storeID)).Result()
	if err != nil {
		return nil, s.unavailable("read vector store files of "+storeID, err)
	}
	return decodeRecords(all)
}

func decodeRecords(all map[string]string) (map[string]*sfRecord, error) {
	out := make(map[string]*sfRecord, len(all))
	for id, v := range all {
		r := &sfRecord{}
		if err := json.Unmarshal([]byte(v), r); err != nil {
			return nil, fmt.Errorf("decode vector store file %s: %w", id, err)
		}
		out[id] = r
	}
	return out, nil
}

// GetStore returns one of owner's vector stores with its counts.
func (s *RedisStore) GetStore(ctx context.Context, owner, id string) (VectorStoreInfo, error) {
	vs, err := s.store(ctx, owner, id, false)
	if err != nil {
		return VectorStoreInfo{}, err
	}
	recs, err := s.records(ctx, id)
	if err != nil {
		return VectorStoreInfo{}, err
	}
	info := VectorStoreInfo{VectorStore: vs}
	for _, r := range recs {
		info.Counts.Total++
		info.UsageBytes += r.UsageBytes
		switch r.Status {
		case StatusInProgress:
			info.Counts.InProgress++
		case StatusCompleted:
			info.Counts.Completed++
		case StatusFailed:
			info.Counts.Failed++
		}
	}
	return info, nil
}

// DeleteStore removes one of owner's vector stores and its chunks (the
// files stay).
func (s *RedisStore) DeleteStore(ctx context.Context, owner, id string) error {
	if _, err := s.store(ctx, owner, id, false); err != nil {
		return err
	}
	if _, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HDel(ctx, s.p+"stores", id)
		p.Del(ctx, s.sfKey(id), s.vecKey(id), s.textKey(id))
		return nil
	}); err != nil {
		return s.unavailable("delete vector store "+id, err)
	}
	return nil
}

// AttachFile attaches one of owner's files to one of owner's vector
// stores; a replica ingests it in the background (status in_progress).
// Attaching a file again re-ingests it.
func (s *RedisStore) AttachFile(ctx context.Context, owner, storeID, fileID string, attrs map[string]any) (StoreFile, error) {
	vs, err := s.store(ctx, owner, storeID, false)
	if err != nil {
		return StoreFile{}, err
	}
	if _, err := s.File(ctx, owner, fileID); err != nil {
		return StoreFile{}, err
	}
	r := sfRecord{StoreFile: StoreFile{FileID: fileID, StoreID: storeID, CreatedAt: s.unix(), Status: StatusInProgress, Attributes: attrs},
		Gen: newID("g")}
	b, err := json.Marshal(r)
	if err != nil {
		return StoreFile{}, fmt.Errorf("encode vector store file: %w", err)
	}
	vs.LastActiveAt = r.CreatedAt
	meta, err := json.Marshal(vs)
	if err != nil {
		return StoreFile{}, fmt.Errorf("encode vector store: %w", err)
	}
	if _, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, s.sfKey(storeID), fileID, b)
		p.HDel(ctx, s.vecKey(storeID), fileID)
		p.HDel(ctx, s.textKey(storeID), fileID)
		p.HSet(ctx, s.p+"stores", storeID, meta)
		return nil
	}); err != nil {
		return StoreFile{}, s.unavailable("attach file "+fileID, err)
	}
	s.enqueue(storeID, fileID)
	return r.StoreFile, nil
}

// StoreFiles lists the files of one of owner's vector stores (status ""
// : all).
func (s *RedisStore) StoreFiles(ctx context.Context, owner, storeID, status string) ([]StoreFile, error) {
	if _, err := s.store(ctx, owner, storeID, false); err != nil {
		return nil, err
	}
	recs, err := s.records(ctx, storeID)
	if err != nil {
		return nil, err
	}
	out := []StoreFile{}
	for _, r := range recs {
		if status == "" || r.Status == status {
			out = append(out, r.StoreFile)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedAt != out[j].CreatedAt {
			return out[i].CreatedAt > out[j].CreatedAt
		}
		return out[i].FileID > out[j].FileID
	})
	return out, nil
}

// StoreFile returns one file of one of owner's vector stores.
func (s *RedisStore) StoreFile(ctx context.Context, owner, storeID, fileID string) (StoreFile, error) {
	if _, err := s.store(ctx, owner, storeID, false); err != nil {
		return StoreFile{}, err
	}
	r, err := s.record(ctx, s.rdb, storeID, fileID)
	if err != nil {
		return StoreFile{}, err
	}
	return r.StoreFile, nil
}

// record reads one store file record through c (the client or a
// transaction's connection).
func (s *RedisStore) record(ctx context.Context, c goredis.Cmdable, storeID, fileID string) (*sfRecord, error) {
	v, err := c.HGet(ctx, s.sfKey(storeID), fileID).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("%w: file %q in vector store %q", ErrNotFound, fileID, storeID)
	}
	if err != nil {
		return nil, s.unavailable("read vector store file "+fileID, err)
	}
	r := &sfRecord{}
	if err := json.Unmarshal([]byte(v), r); err != nil {
		return nil, fmt.Errorf("decode vector store file %s: %w", fileID, err)
	}
	return r, nil
}

// DetachFile removes a file (and its chunks) from one of owner's vector
// stores; the file itself stays.
func (s *RedisStore) DetachFile(ctx context.Context, owner, storeID, fileID string) error {
	if _, err := s.StoreFile(ctx, owner, storeID, fileID); err != nil {
		return err
	}
	if _, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HDel(ctx, s.sfKey(storeID), fileID)
		p.HDel(ctx, s.vecKey(storeID), fileID)
		p.HDel(ctx, s.textKey(storeID), fileID)
		return nil
	}); err != nil {
		return s.unavailable("detach file "+fileID, err)
	}
	return nil
}

// ChunkCount is the number of indexed chunks of a vector store (any
// owner; tests and metrics).
func (s *RedisStore) ChunkCount(ctx context.Context, storeID string) (int, error) {
	recs, err := s.records(ctx, storeID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		if r.Status == StatusCompleted {
			n += r.Chunks
		}
	}
	return n, nil
}
