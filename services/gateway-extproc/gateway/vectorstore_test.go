package gateway

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/embedtest"
	"github.com/semrouter/semrouter/services/gateway-extproc/rag"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/vectorstore"
)

// storeSearcher adapts a real vector store to the rag backend (API mode
// has its own adapter; this one keeps the test inside the package).
type storeSearcher struct{ st *vectorstore.Store }

func (s storeSearcher) SearchPassages(ctx context.Context, id string, files []string, q rag.Query) ([]rag.Document, error) {
	hits, err := s.st.SearchAny(ctx, id, vectorstore.SearchRequest{Query: q.Text, MaxResults: q.TopK, Threshold: q.Threshold, FileIDs: files})
	if err != nil {
		return nil, err
	}
	docs := make([]rag.Document, len(hits))
	for i, h := range hits {
		docs[i] = rag.Document{Content: h.Text, Score: h.Score}
	}
	return docs, nil
}

// TestRAGVectorStoreExchange: the exchange flow ext_proc uses reaches the
// store SetVectorSearcher names (real store, real USE-Lite embedder; FAKE
// classifier).
func TestRAGVectorStoreExchange(t *testing.T) {
	emb := embedtest.UseLite(t)
	st, err := vectorstore.Open(vectorstore.Config{Enabled: true, Dir: t.TempDir()}, emb, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f, err := st.AddFile("", "capitals.txt", "assistants", []byte("Canberra is the capital city of Australia."))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := st.CreateStore("", "kb", nil, []string{f.ID})
	if err != nil {
		t.Fatal(err)
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		sf, err := st.StoreFile("", vs.ID, f.ID)
		if err != nil || sf.Status == vectorstore.StatusFailed || i == 6000 {
			t.Fatalf("ingestion: %+v %v", sf, err)
		}
		if sf.Status == vectorstore.StatusCompleted {
			break
		}
		<-tick.C
	}
	p, err := rag.Compile(&config.RAGPlugin{Enabled: true, Backend: rag.BackendVectorStore, OnFailure: "warn",
		BackendConfig: map[string]any{"vector_store_id": vs.ID}}, rag.Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec()
	spec.StageTimeout = time.Minute
	spec.Decisions = append(spec.Decisions, routes.Decision{Name: "rag", ModelRefs: []routes.ModelRef{{Model: "qwen3-8b"}},
		Plugins: routes.Plugins{RAG: p}})
	const body = `{"model":"auto","messages":[{"role":"user","content":"Which city is the capital of Australia?"}]}`
	for _, tc := range []struct {
		name     string
		searcher rag.VectorSearcher
		wantDocs string
		wantDeg  string
	}{
		{"no store: degraded", nil, "0", "rag"},
		{"store set", storeSearcher{st}, "1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "rag", Confidence: 1}}})
			g.SetVectorSearcher(tc.searcher)
			x := g.NewExchange()
			x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
			imm, fwd := x.RequestBody(context.Background(), []byte(body))
			if fwd == nil {
				t.Fatalf("not forwarded: %+v", imm)
			}
			hdr := headerMap(x.ResponseHeaders(200, "application/json"))
			if hdr[HeaderRAGDocuments] != tc.wantDocs || hdr[HeaderDegraded] != tc.wantDeg {
				t.Fatalf("headers %v", hdr)
			}
			if got := strings.Contains(string(fwd.Body), "Canberra"); got != (tc.wantDocs == "1") {
				t.Fatalf("body %s", fwd.Body)
			}
			g.Wait()
		})
	}
}
