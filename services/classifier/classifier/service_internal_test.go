package classifier

import (
	"context"
	"errors"
	"hash/fnv"
	"sync/atomic"
	"testing"
	"time"
)

// flakyEmbedder fails its first calls (the embedder is not up yet), then
// embeds by hashing words into a small vector (a test embedder, not a
// model).
type flakyEmbedder struct{ fails atomic.Int32 }

func (e *flakyEmbedder) Model() string { return "test-hash" }

func (e *flakyEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	if e.fails.Add(-1) >= 0 {
		return nil, errors.New("nats: no responders available for request")
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, 16)
		h := fnv.New32a()
		_, _ = h.Write([]byte(t))
		v[h.Sum32()%16] = 1
		out[i] = v
	}
	return out, nil
}

const retryDoc = `version: v0.3
providers:
  defaults:
    default_model: m
  models:
    - name: m
      backend_refs: [{name: b, endpoint: "127.0.0.1:8000"}]
routing:
  signals:
    embeddings:
      - name: install
        threshold: 0.5
        candidates: ["installation guide"]
  decisions:
    - name: d
      rules:
        operator: OR
        conditions:
          - type: embedding
            name: install
      modelRefs:
        - model: m
`

// TestRecompilesWhenCandidatesWereUnavailable: a revision compiled while
// the embedder was down is recompiled in the background and swapped in
// once the candidates can be embedded.
func TestRecompilesWhenCandidatesWereUnavailable(t *testing.T) {
	s := NewService()
	defer s.Close()
	s.retryDelay = 10 * time.Millisecond
	emb := &flakyEmbedder{}
	emb.fails.Store(3)
	c, err := s.Compiler(emb)(context.Background(), []byte(retryDoc), 7)
	if err != nil {
		t.Fatal(err)
	}
	if !c.candidatesMissing {
		t.Fatal("the first compile should have missed its candidates")
	}
	s.Set(c) // what the config watcher does on swap
	deadline := time.Now().Add(10 * time.Second)
	for s.Current() == c {
		if time.Now().After(deadline) {
			t.Fatal("the revision was never recompiled")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := s.Current(); got.candidatesMissing || got.Revision() != 7 {
		t.Fatalf("swapped in revision %d, candidates missing=%v", got.Revision(), got.candidatesMissing)
	}
}

// TestRecompileYieldsToNewerRevisions: a newer revision wins over a
// background recompilation of an older one.
func TestRecompileYieldsToNewerRevisions(t *testing.T) {
	s := NewService()
	defer s.Close()
	s.retryDelay = 10 * time.Millisecond
	emb := &flakyEmbedder{}
	emb.fails.Store(1)
	compile := s.Compiler(emb)
	old, err := compile(context.Background(), []byte(retryDoc), 1)
	if err != nil {
		t.Fatal(err)
	}
	newer, err := compile(context.Background(), []byte(retryDoc), 2)
	if err != nil || newer.candidatesMissing {
		t.Fatalf("newer revision: %v, missing=%v", err, newer.candidatesMissing)
	}
	_ = old
	s.Set(newer)
	time.Sleep(100 * time.Millisecond) // give a wrongly behaving retry time to clobber it
	if s.Current() != newer {
		t.Fatal("a recompiled older revision replaced a newer one")
	}
}
