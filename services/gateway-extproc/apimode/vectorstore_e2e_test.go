package apimode_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/semrouter/semrouter/pkg/redistest"
	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/embedtest"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// vsStoreBlock enables the local vector store under DIR.
const vsStoreBlock = `global:
  stores:
    vector_store:
      enabled: true
      backend_type: memory
      file_storage_dir: "DIR"
      max_file_size_mb: 1
      ingestion_workers: 2
      ingestion_drain_timeout_seconds: 20
      supported_formats: [.txt, .md, .html]
`

// vsRedisBlock runs the vector store on the redis-server at ADDR's PORT
// (backend_type redis: shared by every replica on that server).
const vsRedisBlock = `global:
  stores:
    vector_store:
      enabled: true
      backend_type: redis
      max_file_size_mb: 1
      ingestion_workers: 2
      ingestion_drain_timeout_seconds: 20
      supported_formats: [.txt, .md, .html]
      valkey: {host: 127.0.0.1, port: PORT, collection_prefix: "e2e:", timeout: 2, connect_timeout: 1}
`

// redisStoreBlock starts a real redis-server and returns vsRedisBlock on it.
func redisStoreBlock(t *testing.T) (string, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	_, port, _ := strings.Cut(srv.Addr, ":")
	return strings.Replace(vsRedisBlock, "PORT", port, 1), srv
}

// vsDecisions routes "x" questions through a rag plugin on VSID.
const vsDecisions = `    - name: docs
      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}
      modelRefs: [{model: m1}]
      plugins:
        - type: rag
          configuration:
            enabled: true
            backend: vectorstore
            top_k: 1
            similarity_threshold: 0.1
            injection_mode: system_prompt
            on_failure: block
            backend_config: {vector_store_id: "VSID"}
`

const (
	shippingDoc = "# Shipping\n\nWidgets are delivered within three business days. Express delivery arrives the next morning for orders placed before noon.\n"
	returnsDoc  = "Refund policy.\n\nYou can return any product within thirty days of purchase and get your money back, no questions asked.\n"
	petsDoc     = "<html><head><style>p{color:red}</style></head><body><h1>Team</h1><p>Our office dog is a golden retriever named Rex who loves tennis balls.</p><script>var x=1;</script></body></html>"
)

// vsEnv is API mode with the real USE-Lite embedder and a vector store
// under dir, served to an OpenAI SDK client; the LLM backend is a FAKE.
type vsEnv struct {
	srv    *apimode.Server
	gw     *gateway.Gateway
	url    string
	client openai.Client
}

func startVS(t *testing.T, emb gateway.Embedder, doc string) *vsEnv {
	t.Helper()
	spec := apimode.SpecFromYAML(t, doc, "vector store e2e", nil, nil)
	spec.StageTimeout = 30 * time.Second
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw := gateway.New(tbl, gateway.Stages{Classifier: decisionClassifier{}, Embedder: emb}, log)
	srv := apimode.New(gw, log)
	hs := httptest.NewServer(srv.Handler(time.Minute))
	t.Cleanup(func() {
		hs.Close()
		gw.Wait()
		if err := srv.CloseVectorStore(); err != nil {
			t.Errorf("close the vector store: %v", err)
		}
	})
	return &vsEnv{srv: srv, gw: gw, url: hs.URL,
		client: openai.NewClient(option.WithBaseURL(hs.URL+"/v1/"), option.WithAPIKey("k"), option.WithMaxRetries(0))}
}

func upload(t *testing.T, c openai.Client, name, body string, opts ...option.RequestOption) *openai.FileObject {
	t.Helper()
	f, err := c.Files.New(context.Background(), openai.FileNewParams{File: openai.File(strings.NewReader(body), name, "text/plain"),
		Purpose: openai.FilePurposeAssistants}, opts...)
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	return f
}

// waitIngested polls the file's status (bounded) until it leaves in_progress.
func waitIngested(t *testing.T, c openai.Client, vsID, fileID string, opts ...option.RequestOption) *openai.VectorStoreFile {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for range 3000 {
		f, err := c.VectorStores.Files.Get(context.Background(), vsID, fileID, opts...)
		if err != nil {
			t.Fatalf("get vector store file: %v", err)
		}
		if f.Status != openai.VectorStoreFileStatusInProgress {
			return f
		}
		<-tick.C
	}
	t.Fatalf("file %s still in progress", fileID)
	return nil
}

func apiStatus(err error) int {
	var e *openai.Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// TestVectorStoreAPI drives the API with the openai-go SDK, once per
// backend: in process (persisted under file_storage_dir) and redis (a
// real redis-server).
func TestVectorStoreAPI(t *testing.T) {
	emb := embedtest.UseLite(t)
	for _, tc := range []struct {
		name  string
		block func(t *testing.T) string
	}{
		{"memory", func(t *testing.T) string { return strings.Replace(vsStoreBlock, "DIR", t.TempDir(), 1) }},
		{"redis", func(t *testing.T) string { b, _ := redisStoreBlock(t); return b }},
	} {
		t.Run(tc.name, func(t *testing.T) { testVectorStoreAPI(t, emb, tc.block(t)) })
	}
}

func testVectorStoreAPI(t *testing.T, emb *embedtest.Embedder, storeBlock string) {
	llm := newRecordingLLM(t) // FAKE LLM backend
	head := strings.Replace(apimode.KeywordDocHead, "BACKEND", llm.srv.Listener.Addr().String(), 1)
	env := startVS(t, emb, head+"    - name: plain\n      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}\n      modelRefs: [{model: m1}]\n"+storeBlock)
	ctx := context.Background()
	c := env.client

	ship := upload(t, c, "shipping.md", shippingDoc)
	ret := upload(t, c, "returns.txt", returnsDoc)
	pets := upload(t, c, "team.html", petsDoc)
	if ship.Object != "file" || ship.Filename != "shipping.md" || ship.Bytes != int64(len(shippingDoc)) || ship.Purpose != "assistants" {
		t.Fatalf("file object %+v", ship)
	}
	vs, err := c.VectorStores.New(ctx, openai.VectorStoreNewParams{Name: openai.String("kb"), FileIDs: []string{ship.ID, ret.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.VectorStores.Files.New(ctx, vs.ID, openai.VectorStoreFileNewParams{FileID: pets.ID,
		Attributes: map[string]openai.VectorStoreFileNewParamsAttributeUnion{"team": {OfString: openai.String("ops")}}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{ship.ID, ret.ID, pets.ID} {
		if f := waitIngested(t, c, vs.ID, id); f.Status != openai.VectorStoreFileStatusCompleted {
			t.Fatalf("file %s: %s %+v", id, f.Status, f.LastError)
		}
	}
	got, err := c.VectorStores.Get(ctx, vs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.FileCounts.Completed != 3 || got.FileCounts.Total != 3 || got.Name != "kb" {
		t.Fatalf("vector store %+v", got)
	}

	t.Run("search ranks the right chunk first", func(t *testing.T) {
		for _, tc := range []struct{ name, query, file, text string }{
			{"delivery", "How long does delivery of my order take?", ship.ID, "three business days"},
			{"refund", "Can I get a refund if I send the item back?", ret.ID, "thirty days"},
			{"html stripped", "What is the name of the office pet?", pets.ID, "Rex"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				page, err := c.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{
					Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String(tc.query)}, MaxNumResults: openai.Int(3)})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Data) != 3 || page.Data[0].FileID != tc.file || !strings.Contains(page.Data[0].Content[0].Text, tc.text) {
					t.Fatalf("results %+v", page.Data)
				}
				if strings.Contains(page.Data[0].Content[0].Text, "<") || strings.Contains(page.Data[0].Content[0].Text, "color:red") {
					t.Errorf("markup left in %q", page.Data[0].Content[0].Text)
				}
				if page.Data[0].Score < page.Data[1].Score {
					t.Errorf("scores not descending: %v %v", page.Data[0].Score, page.Data[1].Score)
				}
			})
		}
	})

	t.Run("list pages and file content", func(t *testing.T) {
		page, err := c.Files.List(ctx, openai.FileListParams{Limit: openai.Int(2)})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 2 || !page.HasMore {
			t.Fatalf("first page: %d files, has_more %v", len(page.Data), page.HasMore)
		}
		seen := map[string]bool{}
		iter := c.Files.ListAutoPaging(ctx, openai.FileListParams{Limit: openai.Int(1), Order: openai.FileListParamsOrderAsc})
		for iter.Next() {
			seen[iter.Current().ID] = true
		}
		if err := iter.Err(); err != nil || len(seen) != 3 || !seen[ship.ID] || !seen[ret.ID] || !seen[pets.ID] {
			t.Fatalf("auto paging saw %v (%v)", seen, err)
		}
		resp, err := c.Files.Content(ctx, ret.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != returnsDoc {
			t.Fatalf("content %q", b)
		}
		fs, err := c.VectorStores.Files.List(ctx, vs.ID, openai.VectorStoreFileListParams{Filter: openai.VectorStoreFileListParamsFilterCompleted})
		if err != nil || len(fs.Data) != 3 {
			t.Fatalf("vector store files %v %v", fs, err)
		}
	})

	t.Run("filter on attributes", func(t *testing.T) {
		page, err := c.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{
			Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("How long does delivery take?")},
			Filters: openai.VectorStoreSearchParamsFiltersUnion{OfComparisonFilter: &shared.ComparisonFilterParam{
				Key: "team", Type: shared.ComparisonFilterTypeEq, Value: shared.ComparisonFilterValueUnionParam{OfString: openai.String("ops")}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 1 || page.Data[0].FileID != pets.ID || page.Data[0].Attributes["team"].OfString != "ops" {
			t.Fatalf("filtered results %+v", page.Data)
		}
	})

	t.Run("score threshold", func(t *testing.T) {
		page, err := c.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{
			Query:          openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("How long does delivery take?")},
			RankingOptions: openai.VectorStoreSearchParamsRankingOptions{ScoreThreshold: openai.Float(0.99)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 0 {
			t.Fatalf("threshold 0.99 kept %d results", len(page.Data))
		}
	})

	t.Run("limits", func(t *testing.T) {
		for _, tc := range []struct {
			name, file, body string
			status           int
		}{
			{"too large", "big.txt", strings.Repeat("a", 1<<20+1), http.StatusRequestEntityTooLarge},
			{"pdf", "doc.pdf", "%PDF-1.4", http.StatusUnsupportedMediaType},
			{"unknown format", "tool.exe", "MZ", http.StatusUnsupportedMediaType},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := c.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader(tc.body), tc.file, "application/octet-stream"),
					Purpose: openai.FilePurposeAssistants})
				if apiStatus(err) != tc.status {
					t.Fatalf("got %v, want status %d", err, tc.status)
				}
			})
		}
	})

	t.Run("per-user isolation", func(t *testing.T) {
		alice := option.WithHeader("x-authz-user-id", "alice")
		bob := option.WithHeader("x-authz-user-id", "bob")
		af := upload(t, c, "alice.txt", "Alice keeps her secret notes about the blue falcon project here.", alice)
		avs, err := c.VectorStores.New(ctx, openai.VectorStoreNewParams{FileIDs: []string{af.ID}}, alice)
		if err != nil {
			t.Fatal(err)
		}
		waitIngested(t, c, avs.ID, af.ID, alice)
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"bob gets the file", func() error { _, err := c.Files.Get(ctx, af.ID, bob); return err }},
			{"anonymous gets the store", func() error { _, err := c.VectorStores.Get(ctx, avs.ID); return err }},
			{"bob searches", func() error {
				_, err := c.VectorStores.Search(ctx, avs.ID, openai.VectorStoreSearchParams{
					Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("falcon")}}, bob)
				return err
			}},
			{"bob deletes", func() error { _, err := c.Files.Delete(ctx, af.ID, bob); return err }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.call(); apiStatus(err) != http.StatusNotFound {
					t.Fatalf("got %v, want 404", err)
				}
			})
		}
		list, err := c.Files.List(ctx, openai.FileListParams{}, bob)
		if err != nil || len(list.Data) != 0 {
			t.Fatalf("bob lists %v %v", list, err)
		}
		list, err = c.Files.List(ctx, openai.FileListParams{}, alice)
		if err != nil || len(list.Data) != 1 || list.Data[0].ID != af.ID {
			t.Fatalf("alice lists %v %v", list, err)
		}
	})

	t.Run("rag vectorstore backend injects the passage", func(t *testing.T) {
		doc := head + strings.Replace(vsDecisions, "VSID", vs.ID, 1) + storeBlock
		spec := apimode.SpecFromYAML(t, doc, "vector store rag", apimode.PluginProblem, nil)
		spec.StageTimeout = 30 * time.Second
		tbl, err := routes.Compile(spec)
		if err != nil {
			t.Fatal(err)
		}
		env.gw.Swap(tbl)
		var resp *http.Response
		if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "auto",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("docs how long does delivery take?")}},
			option.WithResponseInto(&resp)); err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("x-vsr-rag-documents"); got != "1" {
			t.Errorf("x-vsr-rag-documents %q, want 1", got)
		}
		body := llm.last(t)
		sys := body["messages"].([]any)[0].(map[string]any)["content"].(string)
		if !strings.Contains(sys, "three business days") || strings.Contains(sys, "thirty days") {
			t.Fatalf("system message %q", sys)
		}
	})

	t.Run("deletion removes chunks", func(t *testing.T) {
		if _, err := c.Files.Delete(ctx, ship.ID); err != nil {
			t.Fatal(err)
		}
		page, err := c.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{
			Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("How long does delivery take?")}, MaxNumResults: openai.Int(10)})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range page.Data {
			if h.FileID == ship.ID || strings.Contains(h.Content[0].Text, "business days") {
				t.Fatalf("deleted file still found: %+v", h)
			}
		}
		if len(page.Data) != 2 {
			t.Fatalf("%d results, want 2", len(page.Data))
		}
	})

	t.Run("restart keeps the index", func(t *testing.T) {
		if err := env.srv.CloseVectorStore(); err != nil {
			t.Fatal(err)
		}
		env2 := startVS(t, emb, head+"    - name: plain\n      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}\n      modelRefs: [{model: m1}]\n"+storeBlock)
		page, err := env2.client.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{
			Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("Can I get a refund?")}})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) == 0 || page.Data[0].FileID != ret.ID {
			t.Fatalf("after restart %+v", page.Data)
		}
	})
}

// TestVectorStoreAccess: a peer outside the trusted proxies needs the
// management token.
func TestVectorStoreAccess(t *testing.T) {
	emb := embedtest.UseLite(t)
	head := strings.Replace(apimode.KeywordDocHead, "BACKEND", "127.0.0.1:1", 1)
	doc := head + "    - name: plain\n      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}\n      modelRefs: [{model: m1}]\n" +
		strings.Replace(vsStoreBlock, "DIR", t.TempDir(), 1)
	spec := apimode.SpecFromYAML(t, doc, "vector store access", nil, nil)
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw := gateway.New(tbl, gateway.Stages{Embedder: emb}, log)
	srv := apimode.New(gw, log, apimode.WithTrustedProxies(nil),
		apimode.WithEnv(func(k string) string {
			if k == apimode.EnvManagementToken {
				return "mgmt"
			}
			return ""
		}))
	hs := httptest.NewServer(srv.Handler(time.Minute))
	t.Cleanup(func() { hs.Close(); _ = srv.CloseVectorStore() })
	for _, tc := range []struct {
		name, key string
		want      int
	}{
		{"no token", "k", http.StatusForbidden},
		{"management token", "mgmt", http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := openai.NewClient(option.WithBaseURL(hs.URL+"/v1/"), option.WithAPIKey(tc.key), option.WithMaxRetries(0))
			_, err := c.VectorStores.List(context.Background(), openai.VectorStoreListParams{})
			got := http.StatusOK
			if err != nil {
				got = apiStatus(err)
			}
			if got != tc.want {
				t.Fatalf("status %d (%v), want %d", got, err, tc.want)
			}
		})
	}
}
