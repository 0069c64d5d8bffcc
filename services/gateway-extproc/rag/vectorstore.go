package rag

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// VectorSearcher searches the router's local vector store (API mode's
// files and vector stores API). The gateway puts it in the retrieval's
// context (WithVectorSearcher).
type VectorSearcher interface {
	SearchPassages(ctx context.Context, storeID string, fileIDs []string, q Query) ([]Document, error)
}

type vectorSearcherKey struct{}

// WithVectorSearcher returns ctx carrying s for the vectorstore backend.
func WithVectorSearcher(ctx context.Context, s VectorSearcher) context.Context {
	return context.WithValue(ctx, vectorSearcherKey{}, s)
}

// VectorStore is the `vectorstore` backend: it searches a vector store of
// the router's own files API. backend_config keys:
//
//	vector_store_id  the store to search (required)
//	file_ids         optional list restricting the search to those files
//
// The store lives in the process's API mode (gateway.SetVectorSearcher
// hands it to requests of both front ends); without one a retrieval fails
// with ErrBackend and on_failure applies.
type VectorStore struct {
	storeID string
	fileIDs []string
}

var _ Retriever = (*VectorStore)(nil)

// NewVectorStore reads backend_config.
func NewVectorStore(bc map[string]any) (*VectorStore, error) {
	id, _ := bc["vector_store_id"].(string)
	if strings.TrimSpace(id) == "" {
		return nil, fmt.Errorf("vector_store_id: required")
	}
	v := &VectorStore{storeID: strings.TrimSpace(id)}
	switch ids := bc["file_ids"].(type) {
	case nil:
	case []any:
		for i, x := range ids {
			s, ok := x.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("file_ids[%d]: must be a file id string", i)
			}
			v.fileIDs = append(v.fileIDs, s)
		}
	case []string:
		v.fileIDs = append(v.fileIDs, ids...)
	default:
		return nil, fmt.Errorf("file_ids: must be a list of file ids")
	}
	slices.Sort(v.fileIDs)
	return v, nil
}

func (v *VectorStore) identity() string { return v.storeID + "\x00" + strings.Join(v.fileIDs, ",") }

// Retrieve searches the store for q.
func (v *VectorStore) Retrieve(ctx context.Context, q Query) ([]Document, error) {
	s, _ := ctx.Value(vectorSearcherKey{}).(VectorSearcher)
	if s == nil {
		return nil, fmt.Errorf("%w: vectorstore: no local vector store serves this request (global.stores.vector_store, API mode)", ErrBackend)
	}
	docs, err := s.SearchPassages(ctx, v.storeID, v.fileIDs, q)
	if err != nil {
		return nil, fmt.Errorf("%w: vectorstore %s: %w", ErrBackend, v.storeID, err)
	}
	return docs, nil
}

// newVectorStoreBackend is the backends entry of BackendVectorStore.
func newVectorStoreBackend(bc map[string]any, _ Options) (Retriever, error) {
	v, err := NewVectorStore(bc)
	if err != nil {
		return nil, err
	}
	return v, nil
}
