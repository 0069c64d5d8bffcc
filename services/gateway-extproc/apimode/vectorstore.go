package apimode

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/semrouter/semrouter/services/gateway-extproc/chatreq"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/rag"
	"github.com/semrouter/semrouter/services/gateway-extproc/vectorstore"
)

// OpenAI-compatible files and vector stores endpoints, served from the
// local vector store (global.stores.vector_store; package vectorstore).
const (
	PathFiles        = "/v1/files"
	PathVectorStores = "/v1/vector_stores"
)

// vectorStores keeps the vector store across config revisions: a new one
// is opened only when global.stores.vector_store changes (the old one is
// closed first: its ingestion drains).
type vectorStores struct {
	mu     sync.Mutex
	cfg    vectorstore.Config
	st     vectorStore
	closed bool
}

// vectorStore is what the files and vector stores API and the rag
// backend need of a store: the in-process one (localStore) or the
// shared Redis one.
type vectorStore interface {
	MaxFileBytes() int64
	AddFile(ctx context.Context, owner, filename, purpose string, data []byte) (*vectorstore.File, error)
	Files(ctx context.Context, owner string) ([]vectorstore.File, error)
	File(ctx context.Context, owner, id string) (vectorstore.File, error)
	FileContent(ctx context.Context, owner, id string) ([]byte, error)
	DeleteFile(ctx context.Context, owner, id string) error
	CreateStore(ctx context.Context, owner, name string, metadata map[string]string, fileIDs []string) (vectorstore.VectorStore, error)
	Stores(ctx context.Context, owner string) ([]vectorstore.VectorStore, error)
	GetStore(ctx context.Context, owner, id string) (vectorstore.VectorStoreInfo, error)
	DeleteStore(ctx context.Context, owner, id string) error
	AttachFile(ctx context.Context, owner, storeID, fileID string, attrs map[string]any) (vectorstore.StoreFile, error)
	StoreFiles(ctx context.Context, owner, storeID, status string) ([]vectorstore.StoreFile, error)
	StoreFile(ctx context.Context, owner, storeID, fileID string) (vectorstore.StoreFile, error)
	DetachFile(ctx context.Context, owner, storeID, fileID string) error
	Search(ctx context.Context, owner, storeID string, req vectorstore.SearchRequest) ([]vectorstore.Hit, error)
	SearchAny(ctx context.Context, storeID string, req vectorstore.SearchRequest) ([]vectorstore.Hit, error)
	Close() error
}

var (
	_ vectorStore = (*vectorstore.RedisStore)(nil)
	_ vectorStore = localStore{}
)

// openVectorStore opens cfg's backend.
func openVectorStore(cfg vectorstore.Config, emb vectorstore.Embedder, log *slog.Logger) (vectorStore, error) {
	if cfg.Backend == vectorstore.BackendRedis {
		return vectorstore.OpenRedis(cfg, emb, log)
	}
	st, err := vectorstore.Open(cfg, emb, log)
	if err != nil {
		return nil, err
	}
	return localStore{st}, nil
}

// CodeVectorStoreUnavailable is the error code of a 503 answer: the store
// cannot be opened, or its shared backend (valkey/redis) is unreachable.
const CodeVectorStoreUnavailable = "vector_store_unavailable"

// errVectorStoreOff: the active config has no enabled vector store.
var errVectorStoreOff = errors.New("the vector store is not enabled (global.stores.vector_store.enabled)")

// errNoEmbedder: the gateway has no embedding stage to index with.
var errNoEmbedder = errors.New("the vector store needs the embedding stage, and none is configured")

func (v *vectorStores) get(cfg vectorstore.Config, emb vectorstore.Embedder, log *slog.Logger) (vectorStore, error) {
	if !cfg.Enabled {
		return nil, errVectorStoreOff
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil, errVectorStoreOff
	}
	if v.st != nil && v.cfg == cfg {
		return v.st, nil
	}
	if emb == nil {
		return nil, errNoEmbedder
	}
	if v.st != nil {
		if err := v.st.Close(); err != nil {
			log.Warn("vector store: close", slog.Any("error", err))
		}
		v.st = nil
	}
	st, err := openVectorStore(cfg, emb, log)
	if err != nil {
		return nil, err
	}
	v.cfg, v.st = cfg, st
	return st, nil
}

func (v *vectorStores) close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	if v.st == nil {
		return nil
	}
	err := v.st.Close()
	v.st = nil
	return err
}

// CloseVectorStore drains the vector store's ingestion
// (ingestion_drain_timeout_seconds) and saves its index; Serve does it
// when it returns. Later requests find the store off.
func (s *Server) CloseVectorStore() error { return s.vstores.close() }

// WithVectorStoreDir is where the vector store keeps its files and index
// when global.stores.vector_store.file_storage_dir is unset (default:
// vectorstore.DefaultDir, under the temporary directory).
func WithVectorStoreDir(dir string) Option { return func(s *Server) { s.vsDir = dir } }

// vectorStore opens (or returns) the active config's store.
func (s *Server) vectorStore() (vectorStore, error) {
	var emb vectorstore.Embedder
	if e := s.gw.Embedder(); e != nil {
		emb = e
	}
	cfg := s.gw.Routes().VectorStore
	if cfg.Dir == "" && cfg.Backend != vectorstore.BackendRedis {
		cfg.Dir = s.vsDir
	}
	return s.vstores.get(cfg, emb, s.log)
}

// vectorSearcher adapts the store to the rag plugin.
type vectorSearcher struct{ s *Server }

var _ rag.VectorSearcher = vectorSearcher{}

func (v vectorSearcher) SearchPassages(ctx context.Context, storeID string, fileIDs []string, q rag.Query) ([]rag.Document, error) {
	st, err := v.s.vectorStore()
	if err != nil {
		return nil, err
	}
	hits, err := st.SearchAny(ctx, storeID, vectorstore.SearchRequest{Query: q.Text, MaxResults: q.TopK,
		Threshold: q.Threshold, FileIDs: fileIDs})
	if err != nil {
		return nil, err
	}
	docs := make([]rag.Document, len(hits))
	for i, h := range hits {
		docs[i] = rag.Document{Content: h.Text, Score: h.Score,
			Metadata: map[string]any{"file_id": h.FileID, "filename": h.Filename, "vector_store_id": storeID}}
	}
	return docs, nil
}

// serveVectorStores answers PathFiles, PathVectorStores and below; false
// when the path is another. Callers must be trusted peers or hold the
// management token (as for PathRouterReplay). A trusted peer's identity
// header (global.services.authz.identity.user_id_header) scopes every
// file and vector store to that user; other callers share the unscoped
// space.
func (s *Server) serveVectorStores(ctx context.Context, w http.ResponseWriter, r *http.Request) bool {
	var rest string
	var files bool
	switch {
	case r.URL.Path == PathFiles || strings.HasPrefix(r.URL.Path, PathFiles+"/"):
		rest, files = strings.TrimPrefix(r.URL.Path, PathFiles), true
	case r.URL.Path == PathVectorStores || strings.HasPrefix(r.URL.Path, PathVectorStores+"/"):
		rest = strings.TrimPrefix(r.URL.Path, PathVectorStores)
	default:
		return false
	}
	if !s.replayAllowed(r) {
		writeAPIError(w, &chatreq.APIError{Status: http.StatusForbidden, Type: chatreq.TypeInvalidRequest, Code: "forbidden",
			Message: "the files and vector stores API is only served to trusted proxies or with the management token"})
		return true
	}
	st, err := s.vectorStore()
	if err != nil {
		if errors.Is(err, errVectorStoreOff) {
			writeAPIError(w, &chatreq.APIError{Status: http.StatusNotFound, Type: chatreq.TypeInvalidRequest, Code: "vector_store_disabled",
				Message: err.Error()})
			return true
		}
		s.log.Warn("vector store: open", slog.Any("error", err))
		writeAPIError(w, &chatreq.APIError{Status: http.StatusServiceUnavailable, Type: chatreq.TypeServer, Code: CodeVectorStoreUnavailable,
			Message: "the vector store cannot be opened right now"})
		return true
	}
	h := vsHandler{s: s, st: st, w: w, r: r, owner: s.vsOwner(r)}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if rest == "" || rest == "/" {
		parts = nil
	}
	if files {
		h.files(parts)
	} else {
		h.vectorStores(ctx, parts)
	}
	return true
}

// vsOwner is the caller's identity when a trusted peer names it.
func (s *Server) vsOwner(r *http.Request) string {
	if !s.trusted.Contains(r.RemoteAddr) {
		return ""
	}
	hdr := s.gw.Routes().Identity.UserIDHeader
	if hdr == "" {
		return ""
	}
	return strings.TrimSpace(r.Header.Get(hdr))
}

// writeJSONOK answers 200 with v.
func writeJSONOK(w http.ResponseWriter, status int, b []byte) {
	writeImmediate(w, &gateway.Immediate{Status: status, Body: b,
		Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}, {Name: "cache-control", Value: "no-store"}}})
}

// methodNotAllowed answers 405 naming the allowed methods.
func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	writeImmediate(w, &gateway.Immediate{Status: http.StatusMethodNotAllowed, Body: chatreq.MethodNotAllowed(r.Method, r.URL.Path).Body(),
		Headers: []gateway.Header{{Name: "content-type", Value: "application/json"}, {Name: "allow", Value: allow}}})
}

// writeStoreError maps the store's errors to API errors.
func (s *Server) writeStoreError(w http.ResponseWriter, err error) {
	e := &chatreq.APIError{Status: http.StatusInternalServerError, Type: chatreq.TypeServer, Code: "vector_store_error", Message: err.Error()}
	switch {
	case errors.Is(err, vectorstore.ErrNotFound):
		e.Status, e.Type, e.Code = http.StatusNotFound, chatreq.TypeInvalidRequest, "not_found"
	case errors.Is(err, vectorstore.ErrTooLarge):
		e.Status, e.Type, e.Code = http.StatusRequestEntityTooLarge, chatreq.TypeInvalidRequest, "file_too_large"
	case errors.Is(err, vectorstore.ErrUnsupportedFormat):
		e.Status, e.Type, e.Code = http.StatusUnsupportedMediaType, chatreq.TypeInvalidRequest, "unsupported_file"
	case errors.Is(err, vectorstore.ErrInvalid):
		e.Status, e.Type, e.Code = http.StatusBadRequest, chatreq.TypeInvalidRequest, "invalid_value"
	case errors.Is(err, vectorstore.ErrUnavailable):
		s.log.Warn("vector store", slog.Any("error", err))
		e.Status, e.Code = http.StatusServiceUnavailable, CodeVectorStoreUnavailable
		e.Message = "the vector store's shared backend (valkey/redis) is unreachable; try again later"
	default:
		s.log.Warn("vector store", slog.Any("error", err))
		e.Message = "the vector store could not complete the request"
	}
	writeAPIError(w, e)
}
