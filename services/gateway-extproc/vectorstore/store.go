package vectorstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Embedder turns texts into embeddings (the router's embedder).
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// File statuses of a vector store file.
const (
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
)

// File is an uploaded file.
type File struct {
	ID        string
	Filename  string
	Purpose   string
	Owner     string
	Bytes     int64
	CreatedAt int64
}

// VectorStore is a named collection of files.
type VectorStore struct {
	ID           string
	Name         string
	Owner        string
	Metadata     map[string]string
	CreatedAt    int64
	LastActiveAt int64
}

// StoreFile is a file attached to a vector store.
type StoreFile struct {
	FileID     string
	StoreID    string
	CreatedAt  int64
	Status     string
	ErrorCode  string
	ErrorMsg   string
	Attributes map[string]any
	// UsageBytes is the text indexed (bytes of the chunks).
	UsageBytes int64
}

// Counts are a vector store's file counts by status.
type Counts struct {
	InProgress, Completed, Failed, Total int64
}

// Chunk is one indexed passage with its unit-length embedding.
type Chunk struct {
	FileID string
	Text   string
	Vec    []float32
}

type storeState struct {
	VS     VectorStore
	Files  map[string]*StoreFile
	Chunks []Chunk
}

// Store is the vector store service. It is safe for concurrent use.
type Store struct {
	cfg     Config
	formats map[string]bool
	emb     Embedder
	log     *slog.Logger
	settings

	mu     sync.RWMutex
	files  map[string]*File
	stores map[string]*storeState
	closed bool

	saveMu sync.Mutex
	sem    chan struct{}
	jobs   sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// settings are what Options tune (both backends).
type settings struct {
	now     func() time.Time
	chunker Chunker
	// claimed, when set, is told each ingestion claim a shared store
	// attempts (won or lost).
	claimed func(storeID, fileID string, won bool)
}

// Option tunes a Store or a RedisStore.
type Option func(*settings)

// WithClock injects the time source of created_at fields.
func WithClock(now func() time.Time) Option { return func(s *settings) { s.now = now } }

// WithChunker replaces the default chunk sizes.
func WithChunker(c Chunker) Option { return func(s *settings) { s.chunker = c } }

// WithClaimObserver is told every ingestion claim a RedisStore attempts
// and whether it won it (metrics, tests); the local store claims nothing.
func WithClaimObserver(f func(storeID, fileID string, won bool)) Option {
	return func(s *settings) { s.claimed = f }
}

// Open loads (or creates) the store under cfg.Dir and resumes the
// ingestion of files left in progress.
func Open(cfg Config, emb Embedder, log *slog.Logger, opts ...Option) (*Store, error) {
	cfg = cfg.withDefaults()
	if emb == nil {
		return nil, errors.New("open vector store: an embedder is required")
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "files"), 0o750); err != nil {
		return nil, fmt.Errorf("open vector store %q: %w", cfg.Dir, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Store{cfg: cfg, formats: cfg.formats(), emb: emb, log: log, settings: newSettings(opts),
		files: map[string]*File{}, stores: map[string]*storeState{},
		sem: make(chan struct{}, cfg.Workers), ctx: ctx, cancel: cancel}
	if err := s.load(); err != nil {
		cancel()
		return nil, err
	}
	for _, st := range s.stores {
		for _, f := range st.Files {
			if f.Status == StatusInProgress {
				s.enqueue(st.VS.ID, f.FileID)
			}
		}
	}
	return s, nil
}

// Config is the store's configuration, defaults applied.
func (s *Store) Config() Config { return s.cfg }

// Close stops taking work, waits up to DrainTimeout for queued ingestion
// (what is left stays in_progress and resumes at the next Open), and
// saves the index.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	drain(&s.jobs, s.cfg.DrainTimeout, s.cancel, s.log, "unfinished files resume at the next start")
	return s.save()
}

func newSettings(opts []Option) settings {
	st := settings{now: time.Now}
	for _, o := range opts {
		o(&st)
	}
	return st
}

func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func (s *Store) unix() int64 { return s.now().Unix() }

// AddFile stores an upload for owner. The extension must be accepted and
// the data at most MaxFileBytes.
func (s *Store) AddFile(owner, filename, purpose string, data []byte) (*File, error) {
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
	if err := os.WriteFile(s.filePath(f.ID), data, 0o640); err != nil {
		return nil, fmt.Errorf("write file %s: %w", f.ID, err)
	}
	s.mu.Lock()
	s.files[f.ID] = f
	s.mu.Unlock()
	return f, s.save()
}

func (s *Store) filePath(id string) string { return filepath.Join(s.cfg.Dir, "files", id) }

// MaxFileBytes is the upload limit.
func (s *Store) MaxFileBytes() int64 { return s.cfg.MaxFileBytes }

// Files lists owner's files, newest first.
func (s *Store) Files(owner string) []File {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []File{}
	for _, f := range s.files {
		if f.Owner == owner {
			out = append(out, *f)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedAt != out[j].CreatedAt {
			return out[i].CreatedAt > out[j].CreatedAt
		}
		return out[i].ID > out[j].ID
	})
	return out
}

// File returns one of owner's files.
func (s *Store) File(owner, id string) (File, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, ok := s.files[id]
	if !ok || f.Owner != owner {
		return File{}, fmt.Errorf("%w: file %q", ErrNotFound, id)
	}
	return *f, nil
}

// FileContent returns the bytes of one of owner's files.
func (s *Store) FileContent(owner, id string) ([]byte, error) {
	if _, err := s.File(owner, id); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(s.filePath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: file %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read file %s: %w", id, err)
	}
	return b, nil
}

// DeleteFile removes one of owner's files, detaches it from every vector
// store and drops its chunks.
func (s *Store) DeleteFile(owner, id string) error {
	s.mu.Lock()
	f, ok := s.files[id]
	if !ok || f.Owner != owner {
		s.mu.Unlock()
		return fmt.Errorf("%w: file %q", ErrNotFound, id)
	}
	delete(s.files, id)
	var in []string
	for sid, st := range s.stores {
		if _, ok := st.Files[id]; ok {
			delete(st.Files, id)
			st.Chunks = dropChunks(st.Chunks, id)
			in = append(in, sid)
		}
	}
	s.mu.Unlock()
	for _, sid := range in {
		s.removeChunks(sid, id)
	}
	if err := os.Remove(s.filePath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("vector store: remove file", slog.String("file", id), slog.Any("error", err))
	}
	return s.save()
}

func dropChunks(cs []Chunk, fileID string) []Chunk {
	out := cs[:0]
	for _, c := range cs {
		if c.FileID != fileID {
			out = append(out, c)
		}
	}
	clear(cs[len(out):])
	return out
}

// CreateStore creates a vector store for owner and attaches fileIDs (all
// of them must be owner's).
func (s *Store) CreateStore(owner, name string, metadata map[string]string, fileIDs []string) (VectorStore, error) {
	now := s.unix()
	st := &storeState{VS: VectorStore{ID: newID("vs_"), Name: name, Owner: owner, Metadata: metadata, CreatedAt: now, LastActiveAt: now},
		Files: map[string]*StoreFile{}}
	s.mu.Lock()
	for _, id := range fileIDs {
		if f, ok := s.files[id]; !ok || f.Owner != owner {
			s.mu.Unlock()
			return VectorStore{}, fmt.Errorf("%w: file %q", ErrNotFound, id)
		}
	}
	s.stores[st.VS.ID] = st
	for _, id := range fileIDs {
		st.Files[id] = &StoreFile{FileID: id, StoreID: st.VS.ID, CreatedAt: now, Status: StatusInProgress}
	}
	out := st.VS
	s.mu.Unlock()
	for _, id := range fileIDs {
		s.enqueue(out.ID, id)
	}
	return out, s.save()
}

// Stores lists owner's vector stores, newest first.
func (s *Store) Stores(owner string) []VectorStore {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []VectorStore{}
	for _, st := range s.stores {
		if st.VS.Owner == owner {
			out = append(out, st.VS)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreatedAt != out[j].CreatedAt {
			return out[i].CreatedAt > out[j].CreatedAt
		}
		return out[i].ID > out[j].ID
	})
	return out
}

// VectorStoreInfo is a vector store with its counts and usage.
type VectorStoreInfo struct {
	VectorStore
	Counts     Counts
	UsageBytes int64
}

// GetStore returns one of owner's vector stores.
func (s *Store) GetStore(owner, id string) (VectorStoreInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.stores[id]
	if !ok || st.VS.Owner != owner {
		return VectorStoreInfo{}, fmt.Errorf("%w: vector store %q", ErrNotFound, id)
	}
	info := VectorStoreInfo{VectorStore: st.VS}
	for _, f := range st.Files {
		info.Counts.Total++
		info.UsageBytes += f.UsageBytes
		switch f.Status {
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
func (s *Store) DeleteStore(owner, id string) error {
	s.mu.Lock()
	st, ok := s.stores[id]
	if !ok || st.VS.Owner != owner {
		s.mu.Unlock()
		return fmt.Errorf("%w: vector store %q", ErrNotFound, id)
	}
	delete(s.stores, id)
	s.mu.Unlock()
	if err := os.RemoveAll(filepath.Join(s.cfg.Dir, chunksDir, id)); err != nil {
		s.log.Warn("vector store: remove chunks", slog.String("vector_store", id), slog.Any("error", err))
	}
	return s.save()
}

// AttachFile attaches one of owner's files to one of owner's vector
// stores; the ingestion runs in the background (status in_progress).
// Attaching a file again re-ingests it.
func (s *Store) AttachFile(owner, storeID, fileID string, attrs map[string]any) (StoreFile, error) {
	s.mu.Lock()
	st, ok := s.stores[storeID]
	if !ok || st.VS.Owner != owner {
		s.mu.Unlock()
		return StoreFile{}, fmt.Errorf("%w: vector store %q", ErrNotFound, storeID)
	}
	if f, ok := s.files[fileID]; !ok || f.Owner != owner {
		s.mu.Unlock()
		return StoreFile{}, fmt.Errorf("%w: file %q", ErrNotFound, fileID)
	}
	sf := &StoreFile{FileID: fileID, StoreID: storeID, CreatedAt: s.unix(), Status: StatusInProgress, Attributes: attrs}
	st.Files[fileID] = sf
	st.Chunks = dropChunks(st.Chunks, fileID)
	st.VS.LastActiveAt = sf.CreatedAt
	out := *sf
	s.mu.Unlock()
	s.removeChunks(storeID, fileID)
	s.enqueue(storeID, fileID)
	return out, s.save()
}

// StoreFiles lists the files of one of owner's vector stores (status ""
// : all).
func (s *Store) StoreFiles(owner, storeID, status string) ([]StoreFile, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.stores[storeID]
	if !ok || st.VS.Owner != owner {
		return nil, fmt.Errorf("%w: vector store %q", ErrNotFound, storeID)
	}
	out := []StoreFile{}
	for _, f := range st.Files {
		if status == "" || f.Status == status {
			out = append(out, *f)
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
func (s *Store) StoreFile(owner, storeID, fileID string) (StoreFile, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.stores[storeID]
	if !ok || st.VS.Owner != owner {
		return StoreFile{}, fmt.Errorf("%w: vector store %q", ErrNotFound, storeID)
	}
	f, ok := st.Files[fileID]
	if !ok {
		return StoreFile{}, fmt.Errorf("%w: file %q in vector store %q", ErrNotFound, fileID, storeID)
	}
	return *f, nil
}

// DetachFile removes a file (and its chunks) from one of owner's vector
// stores; the file itself stays.
func (s *Store) DetachFile(owner, storeID, fileID string) error {
	s.mu.Lock()
	st, ok := s.stores[storeID]
	if !ok || st.VS.Owner != owner {
		s.mu.Unlock()
		return fmt.Errorf("%w: vector store %q", ErrNotFound, storeID)
	}
	if _, ok := st.Files[fileID]; !ok {
		s.mu.Unlock()
		return fmt.Errorf("%w: file %q in vector store %q", ErrNotFound, fileID, storeID)
	}
	delete(st.Files, fileID)
	st.Chunks = dropChunks(st.Chunks, fileID)
	s.mu.Unlock()
	s.removeChunks(storeID, fileID)
	return s.save()
}

// ChunkCount is the number of indexed chunks of a vector store (any
// owner; tests and metrics).
func (s *Store) ChunkCount(storeID string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if st, ok := s.stores[storeID]; ok {
		return len(st.Chunks)
	}
	return 0
}
