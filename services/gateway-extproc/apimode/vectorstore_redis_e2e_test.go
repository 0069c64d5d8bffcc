package apimode_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/semrouter/semrouter/services/gateway-extproc/apimode"
	"github.com/semrouter/semrouter/services/gateway-extproc/embedtest"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

const vsPlainDecision = "    - name: plain\n      rules: {operator: AND, conditions: [{type: keyword, name: kw}]}\n      modelRefs: [{model: m1}]\n"

// swapDoc compiles doc and makes it env's active config.
func swapDoc(t *testing.T, env *vsEnv, doc string) {
	t.Helper()
	spec := apimode.SpecFromYAML(t, doc, "vector store swap", apimode.PluginProblem, nil)
	spec.StageTimeout = 30 * time.Second
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	env.gw.Swap(tbl)
}

// TestVectorStoreRedisReplicas: two API-mode servers on one real
// redis-server (backend_type redis) see each other's files, stores,
// ingestion status and search results, and a rag plugin on one searches
// a store made on the other. The LLM backend is a FAKE.
func TestVectorStoreRedisReplicas(t *testing.T) {
	emb := embedtest.UseLite(t)
	block, _ := redisStoreBlock(t)
	llm := newRecordingLLM(t)
	head := strings.Replace(apimode.KeywordDocHead, "BACKEND", llm.srv.Listener.Addr().String(), 1)
	a := startVS(t, emb, head+vsPlainDecision+block)
	b := startVS(t, emb, head+vsPlainDecision+block)
	ctx := context.Background()

	ship := upload(t, a.client, "shipping.md", shippingDoc)
	ret := upload(t, b.client, "returns.txt", returnsDoc)
	vs, err := b.client.VectorStores.New(ctx, openai.VectorStoreNewParams{Name: openai.String("shared"), FileIDs: []string{ship.ID, ret.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{ship.ID, ret.ID} {
		if f := waitIngested(t, a.client, vs.ID, id); f.Status != openai.VectorStoreFileStatusCompleted {
			t.Fatalf("file %s seen from a: %s %+v", id, f.Status, f.LastError)
		}
	}
	for _, tc := range []struct {
		name  string
		env   *vsEnv
		query string
		file  string
	}{
		{"a searches b's store", a, "How long does delivery of my order take?", ship.ID},
		{"b searches", b, "Can I get a refund if I send the item back?", ret.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := tc.env.client.VectorStores.Search(ctx, vs.ID, openai.VectorStoreSearchParams{
				Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String(tc.query)}})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Data) != 2 || page.Data[0].FileID != tc.file {
				t.Fatalf("results %+v", page.Data)
			}
		})
	}
	got, err := a.client.VectorStores.Get(ctx, vs.ID)
	if err != nil || got.FileCounts.Completed != 2 || got.Name != "shared" {
		t.Fatalf("store seen from a: %+v %v", got, err)
	}

	t.Run("rag on a, store made on b", func(t *testing.T) {
		swapDoc(t, a, head+strings.Replace(vsDecisions, "VSID", vs.ID, 1)+block)
		var resp *http.Response
		if _, err := a.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "auto",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("docs how long does delivery take?")}},
			option.WithResponseInto(&resp)); err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("x-vsr-rag-documents"); got != "1" {
			t.Errorf("x-vsr-rag-documents %q, want 1", got)
		}
		sys := llm.last(t)["messages"].([]any)[0].(map[string]any)["content"].(string)
		if !strings.Contains(sys, "three business days") {
			t.Fatalf("system message %q", sys)
		}
	})

	t.Run("deleted on a, gone on b", func(t *testing.T) {
		if _, err := a.client.Files.Delete(ctx, ship.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.client.Files.Get(ctx, ship.ID); apiStatus(err) != http.StatusNotFound {
			t.Fatalf("b gets a deleted file: %v", err)
		}
		fs, err := b.client.VectorStores.Files.List(ctx, vs.ID, openai.VectorStoreFileListParams{})
		if err != nil || len(fs.Data) != 1 || fs.Data[0].ID != ret.ID {
			t.Fatalf("b lists the store's files: %+v %v", fs, err)
		}
	})
}

// TestVectorStoreRedisDown: with the redis-server gone the API answers
// 503 vector_store_unavailable, and a chat request whose rag plugin
// searches the store degrades per on_failure. The LLM backend is a FAKE.
func TestVectorStoreRedisDown(t *testing.T) {
	emb := embedtest.UseLite(t)
	block, srv := redisStoreBlock(t)
	llm := newRecordingLLM(t)
	head := strings.Replace(apimode.KeywordDocHead, "BACKEND", llm.srv.Listener.Addr().String(), 1)
	env := startVS(t, emb, head+vsPlainDecision+block)
	ctx := context.Background()
	if _, err := env.client.VectorStores.List(ctx, openai.VectorStoreListParams{}); err != nil {
		t.Fatalf("while up: %v", err)
	}
	srv.Stop()

	t.Run("api answers 503", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"list files", func() error { _, err := env.client.Files.List(ctx, openai.FileListParams{}); return err }},
			{"upload", func() error {
				_, err := env.client.Files.New(ctx, openai.FileNewParams{File: openai.File(strings.NewReader("text"), "a.txt", "text/plain"),
					Purpose: openai.FilePurposeAssistants})
				return err
			}},
			{"list stores", func() error { _, err := env.client.VectorStores.List(ctx, openai.VectorStoreListParams{}); return err }},
			{"search", func() error {
				_, err := env.client.VectorStores.Search(ctx, "vs_x", openai.VectorStoreSearchParams{
					Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("q")}})
				return err
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.call()
				var e *openai.Error
				if apiStatus(err) != http.StatusServiceUnavailable || !errors.As(err, &e) || e.Code != apimode.CodeVectorStoreUnavailable ||
					!strings.Contains(e.Message, "valkey/redis") {
					t.Fatalf("got %v, want 503 %s", err, apimode.CodeVectorStoreUnavailable)
				}
			})
		}
	})

	for _, tc := range []struct {
		name, policy string
		status       int
		docs         string
	}{
		{"on_failure warn degrades", "warn", http.StatusOK, "0"},
		{"on_failure skip goes on", "skip", http.StatusOK, "0"},
		{"on_failure block refuses", "block", http.StatusServiceUnavailable, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dec := strings.Replace(strings.Replace(vsDecisions, "VSID", "vs_any", 1), "on_failure: block", "on_failure: "+tc.policy, 1)
			swapDoc(t, env, head+dec+block)
			var resp *http.Response
			_, err := env.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "auto",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("docs how long does delivery take?")}},
				option.WithResponseInto(&resp))
			if tc.status != http.StatusOK {
				if apiStatus(err) != tc.status {
					t.Fatalf("got %v, want %d", err, tc.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Get("x-vsr-rag-documents"); got != tc.docs {
				t.Errorf("x-vsr-rag-documents %q, want %q", got, tc.docs)
			}
			if deg := resp.Header.Get("x-vsr-degraded"); (tc.policy == "warn") != strings.Contains(deg, "rag") {
				t.Errorf("x-vsr-degraded %q with on_failure %s", deg, tc.policy)
			}
		})
	}
}
