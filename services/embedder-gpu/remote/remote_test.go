package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/remote"
)

// fakeOpenAI is a FAKE OpenAI-compatible /v1/embeddings server (no real
// embedding service can run here): text i gets the vector (len(text), i+1, 2, ...)
// of the asked width (default 4), answered in reverse index order.
type fakeOpenAI struct {
	status   atomic.Int32 // when non-zero, every call fails with it
	calls    atomic.Int32
	lastAuth atomic.Value
	lastDims atomic.Int64
}

func (f *fakeOpenAI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if r.URL.Path != "/v1/embeddings" || r.Method != http.MethodPost {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	f.lastAuth.Store(r.Header.Get("Authorization"))
	if s := f.status.Load(); s != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(s))
		_, _ = w.Write([]byte(`{"error":{"message":"fake failure","type":"server_error"}}`))
		return
	}
	var req struct {
		Input      []string `json:"input"`
		Model      string   `json:"model"`
		Dimensions int      `json:"dimensions"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.lastDims.Store(int64(req.Dimensions))
	dims := req.Dimensions
	if dims == 0 {
		dims = 4
	}
	type item struct {
		Object    string    `json:"object"`
		Index     int       `json:"index"`
		Embedding []float64 `json:"embedding"`
	}
	var data []item
	for i := len(req.Input) - 1; i >= 0; i-- {
		v := make([]float64, dims)
		for k := range v {
			v[k] = 2
		}
		v[0], v[1] = float64(len(req.Input[i])), float64(i+1)
		data = append(data, item{"embedding", i, v})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": req.Model, "data": data,
		"usage": map[string]int{"prompt_tokens": 3, "total_tokens": 3}})
}

func newFake(t *testing.T) (*fakeOpenAI, string) {
	f := &fakeOpenAI{}
	s := httptest.NewServer(f)
	t.Cleanup(s.Close)
	return f, s.URL + "/v1"
}

func TestEmbedThroughOpenAICompatibleAPI(t *testing.T) {
	f, url := newFake(t)
	e, err := remote.New(context.Background(), slog.New(slog.DiscardHandler), remote.Config{Name: "bge", BaseURL: url, Model: "BAAI/bge-m3", APIKey: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Dims() != 4 || e.Name() != "bge" || e.MaxTokens() != remote.DefaultMaxTokens {
		t.Fatalf("dims %d name %q max tokens %d", e.Dims(), e.Name(), e.MaxTokens())
	}
	vecs, info, err := e.Embed(context.Background(), []string{"ab", "abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.lastAuth.Load(); got != "Bearer secret" {
		t.Errorf("authorization %q", got)
	}
	want := [][]float32{{2, 1, 2, 2}, {6, 2, 2, 2}}
	for i := range want {
		embedding.Normalize(want[i])
		for k := range want[i] {
			if math.Abs(float64(vecs[i][k]-want[i][k])) > 1e-6 {
				t.Fatalf("vector %d = %v, want %v (in input order, normalised)", i, vecs[i], want[i])
			}
		}
	}
	if info.Model != "bge" || info.Provider != "remote" || len(info.Truncated) != 2 {
		t.Errorf("info %+v", info)
	}
}

func TestDimensionsAreSentAndChecked(t *testing.T) {
	f, url := newFake(t)
	e, err := remote.New(context.Background(), slog.New(slog.DiscardHandler), remote.Config{BaseURL: url, Model: "m", Dimensions: 8})
	if err != nil {
		t.Fatal(err)
	}
	if f.calls.Load() != 0 {
		t.Errorf("a probe ran although dimensions were configured")
	}
	vecs, _, err := e.Embed(context.Background(), []string{"x"})
	if err != nil || len(vecs[0]) != 8 || f.lastDims.Load() != 8 || e.Name() != "m" {
		t.Fatalf("vectors %v, sent dimensions %d, err %v", vecs, f.lastDims.Load(), err)
	}
}

func TestFailuresAreClassified(t *testing.T) {
	f, url := newFake(t)
	zero := 0
	e, err := remote.New(context.Background(), slog.New(slog.DiscardHandler), remote.Config{BaseURL: url, Model: "m", Dimensions: 4, MaxRetries: &zero})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		status   int
		upstream bool
	}{
		{"server error is retryable upstream trouble", http.StatusInternalServerError, true},
		{"rate limit is upstream trouble", http.StatusTooManyRequests, true},
		{"bad request is not", http.StatusBadRequest, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.status.Store(int32(tt.status))
			_, _, err := e.Embed(context.Background(), []string{"x"})
			if err == nil || errors.Is(err, embedding.ErrUpstream) != tt.upstream {
				t.Fatalf("error %v: upstream=%v, want %v", err, errors.Is(err, embedding.ErrUpstream), tt.upstream)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := remote.New(context.Background(), slog.New(slog.DiscardHandler), remote.Config{Dimensions: -1})
	for _, want := range []string{"base_url is empty", "model is empty", "dimensions -1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v: want %q", err, want)
		}
	}
}
