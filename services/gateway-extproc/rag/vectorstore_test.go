package rag

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

func TestNewVectorStore(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bc      map[string]any
		wantErr string
		wantID  string
	}{
		{"store only", map[string]any{"vector_store_id": "vs_1"}, "", "vs_1\x00"},
		{"file ids sorted", map[string]any{"vector_store_id": "vs_1", "file_ids": []any{"file-b", "file-a"}}, "", "vs_1\x00file-a,file-b"},
		{"missing id", map[string]any{}, "vector_store_id: required", ""},
		{"bad file id", map[string]any{"vector_store_id": "vs_1", "file_ids": []any{1}}, "file_ids[0]", ""},
		{"file ids not a list", map[string]any{"vector_store_id": "vs_1", "file_ids": "file-a"}, "file_ids: must be a list", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVectorStore(tc.bc)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.identity() != tc.wantID {
				t.Fatalf("identity %q", v.identity())
			}
		})
	}
}

// recordingSearcher stands in for API mode's store at the interface
// boundary (the real store is exercised by apimode's vector store e2e).
type recordingSearcher struct {
	store string
	files []string
	q     Query
	err   error
}

func (r *recordingSearcher) SearchPassages(_ context.Context, storeID string, fileIDs []string, q Query) ([]Document, error) {
	r.store, r.files, r.q = storeID, fileIDs, q
	if r.err != nil {
		return nil, r.err
	}
	return []Document{{Content: "low", Score: 0.2}, {Content: "high", Score: 0.9}}, nil
}

func TestVectorStoreRetrieve(t *testing.T) {
	p, err := Compile(&config.RAGPlugin{Enabled: true, Backend: BackendVectorStore, TopK: 3, SimilarityThreshold: 0.5,
		BackendConfig: map[string]any{"vector_store_id": "vs_9", "file_ids": []any{"file-1"}}}, Options{})
	if err != nil || p == nil {
		t.Fatalf("compile: %v %v", p, err)
	}
	t.Run("no store in the context", func(t *testing.T) {
		if _, err := p.Retrieve(context.Background(), "q"); !errors.Is(err, ErrBackend) {
			t.Fatalf("err %v, want ErrBackend", err)
		}
	})
	t.Run("searches the configured store", func(t *testing.T) {
		s := &recordingSearcher{}
		res, err := p.Retrieve(WithVectorSearcher(context.Background(), s), "how?")
		if err != nil {
			t.Fatal(err)
		}
		if s.store != "vs_9" || len(s.files) != 1 || s.files[0] != "file-1" || s.q.Text != "how?" || s.q.TopK != 3 || s.q.Threshold != 0.5 {
			t.Fatalf("asked %+v", s)
		}
		if len(res.Docs) != 1 || res.Docs[0].Content != "high" {
			t.Fatalf("docs %+v", res.Docs)
		}
	})
	t.Run("store errors are backend errors", func(t *testing.T) {
		s := &recordingSearcher{err: errors.New("vector store \"vs_9\": not found")}
		if _, err := p.Retrieve(WithVectorSearcher(context.Background(), s), "q"); !errors.Is(err, ErrBackend) {
			t.Fatalf("err %v", err)
		}
	})
}
