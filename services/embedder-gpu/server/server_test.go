package server_test

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	embeddingv1 "github.com/semrouter/semrouter/gen/semrouter/embedding/v1"
	"github.com/semrouter/semrouter/gen/semrouter/embedding/v1/embeddingv1connect"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/services/embedder-gpu/batching"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedclient"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/modeltest"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/testenv"
	"github.com/semrouter/semrouter/services/embedder-gpu/server"
)

// counting wraps a real model and counts the texts it embedded, so a test
// can tell which replica served a request.
type counting struct {
	embedding.Embedder
	texts atomic.Int64
}

func (c *counting) Embed(ctx context.Context, texts []string) ([][]float32, embedding.Info, error) {
	c.texts.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

type models struct {
	use   *embedding.Model
	glove *embedding.Model
}

func loadModels(t testing.TB) models {
	t.Helper()
	return models{
		use:   modeltest.Load(t, embedding.ModelUSELite, embedding.Config{}),
		glove: modeltest.Load(t, embedding.ModelGloveSIF100D, embedding.Config{}),
	}
}

func newService(t testing.TB, ms ...server.Model) *server.Service {
	t.Helper()
	svc, err := server.NewService(slog.New(slog.DiscardHandler), ms, batching.Config{})
	if err != nil {
		t.Fatalf("new service: %v", err)
	}
	t.Cleanup(svc.Close)
	return svc
}

func TestEmbedOverNATSMatchesTheModel(t *testing.T) {
	ms := loadModels(t)
	ns := natstest.RunServer(t)
	svc := newService(t, server.Model{Embedder: ms.use, Default: true}, server.Model{Embedder: ms.glove, Aliases: []string{"static"}})
	servers, err := svc.ServeNATS(natstest.Connect(t, ns), server.NATSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range servers {
			s.Close()
		}
	})
	c := embedclient.New(natstest.Connect(t, ns))
	texts := []string{"how do I install this", "billing information"}
	tests := []struct {
		name  string
		model string
		want  *embedding.Model
	}{
		{"default model on the plain subject", "", ms.use},
		{"use-lite by suffix", "use-lite", ms.use},
		{"glove by suffix", "glove-sif-100d", ms.glove},
		{"glove by alias", "static", ms.glove},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Embed(context.Background(), tt.model, texts)
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := tt.want.Embed(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range texts {
				if len(got[i]) != tt.want.Dims() {
					t.Fatalf("text %d: %d dims, want %d", i, len(got[i]), tt.want.Dims())
				}
				if cs := embedding.Cosine(got[i], want[i]); cs < 0.9999 {
					t.Errorf("text %d: cosine to the in-process vector %.6f", i, cs)
				}
			}
		})
	}
	t.Run("unknown model is NOT_FOUND", func(t *testing.T) {
		_, err := c.Embed(context.Background(), "no-such-model", texts)
		if connect.CodeOf(err) != connect.CodeNotFound {
			t.Fatalf("code %v (%v), want not_found", connect.CodeOf(err), err)
		}
	})
	t.Run("ListModels", func(t *testing.T) {
		list, err := c.ListModels(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].GetName() != "use-lite" || !list[0].GetDefault() || list[0].GetDimensions() != 512 ||
			list[1].GetName() != "glove-sif-100d" || list[1].GetDefault() || list[1].GetDevice() != "cpu" || list[1].GetBackend() != "onnxruntime" {
			t.Errorf("models %v", list)
		}
	})
	t.Run("subjects and queue groups", func(t *testing.T) {
		var got []string
		for _, s := range servers {
			for _, sub := range s.Subjects() {
				got = append(got, s.QueueGroup()+" "+sub)
			}
		}
		for _, want := range []string{
			server.ModelQueueGroup("use-lite") + " " + subjects.EmbedModel("use-lite"),
			server.ModelQueueGroup("glove-sif-100d") + " " + subjects.EmbedModel("glove-sif-100d"),
			server.ModelQueueGroup("glove-sif-100d") + " " + subjects.EmbedModel("static"),
			subjects.QueueGroup(embeddingv1connect.EmbeddingServiceName) + " " + subjects.EmbedModel(""),
		} {
			if !strings.Contains(strings.Join(got, "\n"), want) {
				t.Errorf("missing subscription %q in\n%s", want, strings.Join(got, "\n"))
			}
		}
	})
}

func TestTwoReplicasShareTheQueueGroup(t *testing.T) {
	ms := loadModels(t)
	ns := natstest.RunServer(t)
	var replicas [2]*counting
	for i := range replicas {
		replicas[i] = &counting{Embedder: ms.glove}
		svc := newService(t, server.Model{Embedder: replicas[i]})
		servers, err := svc.ServeNATS(natstest.Connect(t, ns), server.NATSOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			for _, s := range servers {
				s.Close()
			}
		})
	}
	c := embedclient.New(natstest.Connect(t, ns))
	const requests = 64
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for i := range requests {
		model := "glove-sif-100d"
		if i%2 == 0 {
			model = "" // the plain subject: both replicas' default
		}
		wg.Go(func() {
			_, err := c.Embed(context.Background(), model, []string{"the same question again"})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	a, b := replicas[0].texts.Load(), replicas[1].texts.Load()
	if a+b != requests || a == 0 || b == 0 {
		t.Fatalf("replica texts %d and %d: want both > 0, summing to %d (each request served once)", a, b, requests)
	}
}

func TestRoutingBySuffixReachesThePoolOfTheModel(t *testing.T) {
	ms := loadModels(t)
	ns := natstest.RunServer(t)
	// A "GPU pool" serving only use-lite and a "CPU pool" serving only glove.
	gpu := &counting{Embedder: ms.use}
	cpu := &counting{Embedder: ms.glove}
	for _, m := range []server.Model{{Embedder: gpu, Default: true}, {Embedder: cpu, Default: true}} {
		svc := newService(t, m)
		servers, err := svc.ServeNATS(natstest.Connect(t, ns), server.NATSOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			for _, s := range servers {
				s.Close()
			}
		})
	}
	c := embedclient.New(natstest.Connect(t, ns))
	for range 10 {
		res, err := c.EmbedRequest(context.Background(), &embeddingv1.EmbedRequest{Model: "use-lite", Texts: []string{"a question"}})
		if err != nil {
			t.Fatal(err)
		}
		if res.GetModel() != "use-lite" || res.GetDimensions() != 512 {
			t.Fatalf("answered by %q with %d dims", res.GetModel(), res.GetDimensions())
		}
	}
	for range 10 {
		res, err := c.EmbedRequest(context.Background(), &embeddingv1.EmbedRequest{Model: "glove-sif-100d", Texts: []string{"a question"}})
		if err != nil {
			t.Fatal(err)
		}
		if res.GetModel() != "glove-sif-100d" || res.GetDimensions() != 100 {
			t.Fatalf("answered by %q with %d dims", res.GetModel(), res.GetDimensions())
		}
	}
	if gpu.texts.Load() != 10 || cpu.texts.Load() != 10 {
		t.Fatalf("use-lite pool embedded %d texts, glove pool %d: want 10 each", gpu.texts.Load(), cpu.texts.Load())
	}
}

func TestEmbedOverHTTP(t *testing.T) {
	ms := loadModels(t)
	svc := newService(t, server.Model{Embedder: ms.use}, server.Model{Embedder: ms.glove})
	hs := httptest.NewUnstartedServer(server.NewHTTPServer(svc).Handler)
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)

	long := strings.Repeat("install the router and configure the model ", 60)
	clients := map[string]embeddingv1connect.EmbeddingServiceClient{
		"connect": embeddingv1connect.NewEmbeddingServiceClient(hs.Client(), hs.URL),
		"grpc":    embeddingv1connect.NewEmbeddingServiceClient(hs.Client(), hs.URL, connect.WithGRPC()),
	}
	for proto, client := range clients {
		c := embedclient.NewFromConnect(client)
		t.Run(proto, func(t *testing.T) {
			res, err := c.EmbedRequest(context.Background(), &embeddingv1.EmbedRequest{Texts: []string{"installation guide", long}})
			if err != nil {
				t.Fatal(err)
			}
			e := res.GetEmbeddings()
			if res.GetModel() != "use-lite" || len(e) != 2 || len(e[0].GetValues()) != 512 {
				t.Fatalf("response %q with %d embeddings", res.GetModel(), len(e))
			}
			if e[0].GetTruncated() || !e[1].GetTruncated() || e[1].GetTokenCount() != 128 ||
				res.GetTotalTokens() != int64(e[0].GetTokenCount()+e[1].GetTokenCount()) {
				t.Errorf("truncation/tokens: %v/%d and %v/%d, total %d", e[0].GetTruncated(), e[0].GetTokenCount(),
					e[1].GetTruncated(), e[1].GetTokenCount(), res.GetTotalTokens())
			}
			if res.GetInferenceTime().AsDuration() <= 0 {
				t.Errorf("inference time %v", res.GetInferenceTime().AsDuration())
			}
		})
	}

	c := embedclient.NewFromConnect(clients["connect"])
	t.Run("dimensions truncate and renormalise", func(t *testing.T) {
		full, err := c.Embed(context.Background(), "use-lite", []string{"billing information"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.EmbedRequest(context.Background(), &embeddingv1.EmbedRequest{Model: "use-lite", Texts: []string{"billing information"}, Dimensions: 64})
		if err != nil {
			t.Fatal(err)
		}
		got := res.GetEmbeddings()[0].GetValues()
		want := embedding.Truncate([][]float32{full[0]}, 64)[0]
		if res.GetDimensions() != 64 || len(got) != 64 || embedding.Cosine(got, want) < 0.9999 || !unit(got) {
			t.Errorf("dims %d, len %d, cosine %.5f, unit %v", res.GetDimensions(), len(got), embedding.Cosine(got, want), unit(got))
		}
	})
	t.Run("max_tokens cuts the text", func(t *testing.T) {
		res, err := c.EmbedRequest(context.Background(), &embeddingv1.EmbedRequest{Texts: []string{long, "short"}, MaxTokens: 8})
		if err != nil {
			t.Fatal(err)
		}
		e := res.GetEmbeddings()
		if e[0].GetTokenCount() != 8 || !e[0].GetTruncated() || e[1].GetTruncated() {
			t.Errorf("tokens %d truncated %v / %v", e[0].GetTokenCount(), e[0].GetTruncated(), e[1].GetTruncated())
		}
	})

	bad := []struct {
		name string
		req  *embeddingv1.EmbedRequest
		code connect.Code
		msg  string
	}{
		{"no texts", &embeddingv1.EmbedRequest{}, connect.CodeInvalidArgument, "at least one text"},
		{"empty text", &embeddingv1.EmbedRequest{Texts: []string{"ok", ""}}, connect.CodeInvalidArgument, "texts[1]: text is empty"},
		{"blank text", &embeddingv1.EmbedRequest{Texts: []string{" \t\n"}}, connect.CodeInvalidArgument, "texts[0]"},
		{"unknown model", &embeddingv1.EmbedRequest{Model: "bge-m3", Texts: []string{"x"}}, connect.CodeNotFound, `model "bge-m3" is not served here`},
		{"too many dimensions", &embeddingv1.EmbedRequest{Model: "glove-sif-100d", Texts: []string{"x"}, Dimensions: 101}, connect.CodeInvalidArgument, "dimensions: 101 is outside 0..100"},
		{"negative max_tokens", &embeddingv1.EmbedRequest{Texts: []string{"x"}, MaxTokens: -1}, connect.CodeInvalidArgument, "max_tokens"},
		{"too many texts", &embeddingv1.EmbedRequest{Texts: make([]string, server.MaxTexts+1)}, connect.CodeInvalidArgument, "at most 2048"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.EmbedRequest(context.Background(), tt.req)
			if connect.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %v (code %v), want %v containing %q", err, connect.CodeOf(err), tt.code, tt.msg)
			}
		})
	}
	t.Run("healthz", func(t *testing.T) {
		resp, err := hs.Client().Get(hs.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestExpiredDeadlineIsDeadlineExceeded(t *testing.T) {
	ms := loadModels(t)
	svc := newService(t, server.Model{Embedder: ms.glove})
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := svc.Embed(ctx, connect.NewRequest(&embeddingv1.EmbedRequest{Texts: []string{"too late"}}))
	if connect.CodeOf(err) != connect.CodeDeadlineExceeded {
		t.Fatalf("code %v (%v), want deadline_exceeded", connect.CodeOf(err), err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	_, err = svc.Embed(ctx, connect.NewRequest(&embeddingv1.EmbedRequest{Texts: []string{"gone"}}))
	if connect.CodeOf(err) != connect.CodeCanceled {
		t.Fatalf("code %v (%v), want canceled", connect.CodeOf(err), err)
	}
}

func TestNewServiceRejectsBadModelSets(t *testing.T) {
	ms := loadModels(t)
	tests := []struct {
		name   string
		models []server.Model
		want   string
	}{
		{"none", nil, "no models"},
		{"duplicate name", []server.Model{{Embedder: ms.glove}, {Embedder: ms.use, Aliases: []string{"glove-sif-100d"}}}, `"glove-sif-100d" is used twice`},
		{"two defaults", []server.Model{{Embedder: ms.glove, Default: true}, {Embedder: ms.use, Default: true}}, "2 models are marked default"},
		{"nil embedder", []server.Model{{}}, "no embedder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := server.NewService(slog.New(slog.DiscardHandler), tt.models, batching.Config{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func unit(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return s > 0.9999 && s < 1.0001
}

func TestArbitraryUnicodeNeverFails(t *testing.T) {
	ms := loadModels(t)
	svc := newService(t, server.Model{Embedder: ms.use}, server.Model{Embedder: ms.glove})
	hs := httptest.NewServer(server.NewHTTPServer(svc).Handler)
	t.Cleanup(hs.Close)
	c := embedclient.NewHTTP(hs.Client(), hs.URL)
	var texts []string
	for _, s := range testenv.RandomTexts(200, 7) {
		if strings.TrimSpace(s) != "" {
			texts = append(texts, s)
		}
	}
	texts = append(texts, strings.Repeat("🙂", 10000), "\u200b", "a\x00b")
	for _, model := range []string{"use-lite", "glove-sif-100d"} {
		res, err := c.EmbedRequest(context.Background(), &embeddingv1.EmbedRequest{Model: model, Texts: texts})
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		if len(res.GetEmbeddings()) != len(texts) {
			t.Fatalf("%s: %d embeddings for %d texts", model, len(res.GetEmbeddings()), len(texts))
		}
		for i, e := range res.GetEmbeddings() {
			for _, x := range e.GetValues() {
				if math.IsNaN(float64(x)) {
					t.Fatalf("%s: text %d (%q) has NaN", model, i, texts[i])
				}
			}
		}
	}
}
