package vectorstore

import (
	"context"
	"fmt"
	"sort"
)

// Filter is an OpenAI vector-store search filter: a comparison (Type eq,
// ne, gt, gte, lt, lte, in, nin on Key) or a compound (Type and, or over
// Filters), evaluated on the attributes of each vector store file.
type Filter struct {
	Type    string   `json:"type"`
	Key     string   `json:"key,omitempty"`
	Value   any      `json:"value,omitempty"`
	Filters []Filter `json:"filters,omitempty"`
}

// Check reports an invalid filter.
func (f *Filter) Check() error {
	switch f.Type {
	case "and", "or":
		for i := range f.Filters {
			if err := f.Filters[i].Check(); err != nil {
				return err
			}
		}
		return nil
	case "eq", "ne", "gt", "gte", "lt", "lte", "in", "nin":
		if f.Key == "" {
			return fmt.Errorf("%w: filters: a %s comparison needs a key", ErrInvalid, f.Type)
		}
		return nil
	default:
		return fmt.Errorf("%w: filters: unknown type %q (expected eq, ne, gt, gte, lt, lte, in, nin, and, or)", ErrInvalid, f.Type)
	}
}

// Match evaluates f on attrs.
func (f *Filter) Match(attrs map[string]any) bool {
	switch f.Type {
	case "and":
		for i := range f.Filters {
			if !f.Filters[i].Match(attrs) {
				return false
			}
		}
		return true
	case "or":
		for i := range f.Filters {
			if f.Filters[i].Match(attrs) {
				return true
			}
		}
		return false
	}
	v, ok := attrs[f.Key]
	switch f.Type {
	case "eq":
		return ok && equal(v, f.Value)
	case "ne":
		return !ok || !equal(v, f.Value)
	case "in", "nin":
		list, _ := f.Value.([]any)
		in := false
		for _, x := range list {
			if ok && equal(v, x) {
				in = true
				break
			}
		}
		return in == (f.Type == "in")
	}
	a, aok := number(v)
	b, bok := number(f.Value)
	if !ok || !aok || !bok {
		return false
	}
	switch f.Type {
	case "gt":
		return a > b
	case "gte":
		return a >= b
	case "lt":
		return a < b
	case "lte":
		return a <= b
	}
	return false
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func equal(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return a == b
}

// SearchRequest is one search of a vector store.
type SearchRequest struct {
	Query string
	// MaxResults caps the hits (0: 10).
	MaxResults int
	// Threshold drops hits scoring below it (cosine similarity); ≤ 0:
	// none are dropped.
	Threshold float64
	// Filter restricts the files by attributes (nil: all).
	Filter *Filter
	// FileIDs restricts the files (empty: all).
	FileIDs []string
}

// Hit is one matching chunk.
type Hit struct {
	FileID     string
	Filename   string
	Score      float64
	Text       string
	Attributes map[string]any
}

// Search searches one of owner's vector stores.
func (s *Store) Search(ctx context.Context, owner, storeID string, req SearchRequest) ([]Hit, error) {
	s.mu.RLock()
	st, ok := s.stores[storeID]
	ok = ok && st.VS.Owner == owner
	s.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: vector store %q", ErrNotFound, storeID)
	}
	return s.search(ctx, storeID, req)
}

// SearchAny searches a vector store whatever its owner: the rag plugin's
// vectorstore backend, whose store the operator's config names.
func (s *Store) SearchAny(ctx context.Context, storeID string, req SearchRequest) ([]Hit, error) {
	return s.search(ctx, storeID, req)
}

func (s *Store) search(ctx context.Context, storeID string, req SearchRequest) ([]Hit, error) {
	q, k, err := embedQuery(ctx, s.emb, req)
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, ok := s.stores[storeID]
	if !ok {
		return nil, fmt.Errorf("%w: vector store %q", ErrNotFound, storeID)
	}
	allowed := map[string]bool{}
	for id, f := range st.Files {
		if searchable(f, &req) {
			allowed[id] = true
		}
	}
	top := topK(st.Chunks, q, k, float32(req.Threshold), allowed)
	hits := make([]Hit, len(top))
	for i, sc := range top {
		c := &st.Chunks[sc.idx]
		h := Hit{FileID: c.FileID, Score: float64(sc.score), Text: c.Text, Attributes: st.Files[c.FileID].Attributes}
		if f, ok := s.files[c.FileID]; ok {
			h.Filename = f.Filename
		}
		hits[i] = h
	}
	return hits, nil
}

// embedQuery checks a search request and embeds its query (unit
// length); k is the number of hits asked for.
func embedQuery(ctx context.Context, emb Embedder, req SearchRequest) (q []float32, k int, err error) {
	if req.Query == "" {
		return nil, 0, fmt.Errorf("%w: query is required", ErrInvalid)
	}
	if req.Filter != nil {
		if err := req.Filter.Check(); err != nil {
			return nil, 0, err
		}
	}
	k = req.MaxResults
	if k <= 0 {
		k = 10
	}
	vecs, err := emb.Embed(ctx, []string{req.Query})
	if err != nil {
		return nil, 0, fmt.Errorf("embed the query: %w", err)
	}
	if len(vecs) != 1 {
		return nil, 0, fmt.Errorf("embed the query: %d embeddings for 1 text", len(vecs))
	}
	return normalize(vecs[0]), k, nil
}

// searchable reports whether a store file takes part in a search.
func searchable(f *StoreFile, req *SearchRequest) bool {
	if f.Status != StatusCompleted {
		return false
	}
	if len(req.FileIDs) > 0 && !contains(req.FileIDs, f.FileID) {
		return false
	}
	return req.Filter == nil || req.Filter.Match(f.Attributes)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

type scored struct {
	idx   int
	score float32
}

// topK scans every chunk of an allowed file (brute-force cosine over unit
// vectors: a dot product) and keeps the k best at or above threshold,
// best first. A threshold ≤ 0 keeps every score (cosine similarity may
// be negative).
func topK(chunks []Chunk, q []float32, k int, threshold float32, allowed map[string]bool) []scored {
	best := make([]scored, 0, k+1)
	for i := range chunks {
		c := &chunks[i]
		if !allowed[c.FileID] || len(c.Vec) != len(q) {
			continue
		}
		sc := dot(q, c.Vec)
		if (threshold > 0 && sc < threshold) || (len(best) == k && sc <= best[k-1].score) {
			continue
		}
		j := sort.Search(len(best), func(j int) bool { return best[j].score < sc })
		best = append(best, scored{})
		copy(best[j+1:], best[j:])
		best[j] = scored{i, sc}
		if len(best) > k {
			best = best[:k]
		}
	}
	return best
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}
