package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/rag"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// ragSearch is a real HTTP server playing the search service of the rag
// plugin's external_api backend.
type ragSearch struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	block  bool
	calls  int
}

func newRAGSearch(t testing.TB) *ragSearch {
	s := &ragSearch{status: http.StatusOK}
	stop := make(chan struct{})
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // read it all: the server then notices a client that gives up
		s.mu.Lock()
		s.calls++
		status, block := s.status, s.block
		s.mu.Unlock()
		if block {
			// Until the gateway gives up, or at the latest until the test
			// ends (a gateway that never gives up fails the test instead
			// of hanging it in srv.Close).
			select {
			case <-r.Context().Done():
			case <-stop:
			}
			return
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"results":[{"content":"Paris is the capital of France.","score":0.9},{"content":"Lyon is in France.","score":0.4},{"content":"France uses the euro.","score":0.8}]}`)
	}))
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() { close(stop) }) // runs first: cleanups run last-in first-out
	return s
}

func ragSpec(t testing.TB, search *ragSearch, c config.RAGPlugin) routes.Spec {
	t.Helper()
	c.Enabled, c.Backend = true, rag.BackendExternalAPI
	c.BackendConfig = map[string]any{"endpoint": search.srv.URL + "/query"}
	p, err := rag.Compile(&c, rag.Options{Cache: rag.NewCache(0, nil), HTTP: search.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	spec := testSpec()
	spec.Decisions = append(spec.Decisions, routes.Decision{Name: "rag", ModelRefs: []routes.ModelRef{{Model: "qwen3-8b"}},
		Plugins: routes.Plugins{RAG: p}})
	return spec
}

// TestRAGPlugin runs exchanges whose decision has a rag plugin against a
// real HTTP search service, with FAKE embedder and classifier stages.
func TestRAGPlugin(t *testing.T) {
	const body = `{"model":"auto","messages":[{"role":"user","content":"What is the capital of France?"}]}`
	cases := []struct {
		name       string
		cfg        config.RAGPlugin
		confidence float64
		status     int  // the search service's answer
		hang       bool // the search service never answers
		wantImm    int  // status of an immediate answer (0: forwarded)
		wantDocs   string
		wantDeg    string
		wantRoles  string
		wantMetric string
	}{
		{name: "system_prompt", cfg: config.RAGPlugin{SimilarityThreshold: 0.7, TopK: 5}, status: 200,
			wantDocs: "2", wantRoles: "system,user"},
		{name: "tool_role", cfg: config.RAGPlugin{SimilarityThreshold: 0.7, InjectionMode: "tool_role"}, status: 200,
			wantDocs: "2", wantRoles: "user,assistant,tool"},
		{name: "top_k 1", cfg: config.RAGPlugin{TopK: 1}, status: 200, wantDocs: "1", wantRoles: "system,user"},
		{name: "nothing relevant", cfg: config.RAGPlugin{SimilarityThreshold: 0.95}, status: 200, wantDocs: "0", wantRoles: "user"},
		{name: "below min_confidence_threshold", cfg: config.RAGPlugin{MinConfidenceThreshold: 0.95}, status: 200, wantRoles: "user"},
		{name: "warn", cfg: config.RAGPlugin{OnFailure: "warn"}, status: 500, wantDocs: "0", wantDeg: "rag", wantRoles: "user",
			wantMetric: `semrouter_gateway_stage_degraded_total{stage="rag"} 1`},
		{name: "warn on the stage deadline", cfg: config.RAGPlugin{}, hang: true, wantDocs: "0", wantDeg: "rag", wantRoles: "user"},
		{name: "skip", cfg: config.RAGPlugin{OnFailure: "skip"}, status: 500, wantDocs: "0", wantRoles: "user"},
		{name: "block", cfg: config.RAGPlugin{OnFailure: "block"}, status: 500, wantImm: 503, wantDocs: "0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			search := newRAGSearch(t)
			search.status, search.block = tc.status, tc.hang
			spec := ragSpec(t, search, tc.cfg)
			if !tc.hang {
				spec.StageTimeout = time.Minute // a slow CI machine must not degrade the loopback search
			}
			reg := prometheus.NewRegistry()
			m, err := metrics.NewGateway(reg)
			if err != nil {
				t.Fatal(err)
			}
			conf := tc.confidence
			if conf == 0 {
				conf = 0.9
			}
			g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "rag", Confidence: conf}}}, WithMetrics(m))
			x := g.NewExchange()
			x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
			imm, fwd := x.RequestBody(context.Background(), []byte(body))
			var hdr map[string]string
			if tc.wantImm != 0 {
				if imm == nil || imm.Status != tc.wantImm {
					t.Fatalf("immediate %+v, want status %d", imm, tc.wantImm)
				}
				var e struct {
					Error struct{ Message, Type, Code string }
				}
				if err := json.Unmarshal(imm.Body, &e); err != nil || e.Error.Code != "rag_unavailable" || e.Error.Type != "server_error" {
					t.Errorf("error body %s", imm.Body)
				}
				hdr = headerMap(imm.Headers)
			} else {
				if fwd == nil {
					t.Fatalf("not forwarded: %+v", imm)
				}
				var req struct{ Messages []struct{ Role, Content any } }
				if err := json.Unmarshal(fwd.Body, &req); err != nil {
					t.Fatal(err)
				}
				var rs []string
				for _, m := range req.Messages {
					rs = append(rs, m.Role.(string))
				}
				if got := strings.Join(rs, ","); got != tc.wantRoles {
					t.Errorf("roles %s, want %s\n%s", got, tc.wantRoles, fwd.Body)
				}
				if tc.wantDocs != "" && tc.wantDocs != "0" && (!fwd.BodyChanged || !strings.Contains(string(fwd.Body), "Paris is the capital")) {
					t.Errorf("context missing: %s", fwd.Body)
				}
				hdr = headerMap(x.ResponseHeaders(200, "application/json"))
			}
			if hdr[HeaderRAGDocuments] != tc.wantDocs {
				t.Errorf("%s = %q, want %q", HeaderRAGDocuments, hdr[HeaderRAGDocuments], tc.wantDocs)
			}
			if hdr[HeaderDegraded] != tc.wantDeg {
				t.Errorf("%s = %q, want %q", HeaderDegraded, hdr[HeaderDegraded], tc.wantDeg)
			}
			if tc.wantMetric != "" {
				if got := exposition(t, reg, metrics.GatewayStageDegraded); !strings.Contains(got, tc.wantMetric+"\n") {
					t.Errorf("want %q in\n%s", tc.wantMetric, got)
				}
			}
			if strings.Contains(tc.name, "min_confidence") && search.calls != 0 {
				t.Errorf("search called %d times below min_confidence_threshold", search.calls)
			}
			g.Wait()
		})
	}
}

// TestRAGEveryTarget: a failover target's body carries the same context.
func TestRAGEveryTarget(t *testing.T) {
	search := newRAGSearch(t)
	spec := ragSpec(t, search, config.RAGPlugin{SimilarityThreshold: 0.7})
	spec.StageTimeout = time.Minute
	spec.Decisions[len(spec.Decisions)-1].ModelRefs = append(spec.Decisions[len(spec.Decisions)-1].ModelRefs, routes.ModelRef{Model: "plain"})
	g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "rag", Confidence: 1}}})
	x := g.NewExchange()
	x.RequestHeaders("POST", "/v1/chat/completions", noHeaders)
	_, fwd := x.RequestBody(context.Background(), []byte(`{"model":"auto","messages":[{"role":"user","content":"capital?"}]}`))
	if fwd == nil || len(fwd.Targets) < 2 {
		t.Fatalf("forward %+v", fwd)
	}
	b, _, err := x.BodyFor(fwd.Targets[1])
	if err != nil || !strings.Contains(string(b), "<retrieved_context>") || !strings.Contains(string(b), `"model":"plain"`) {
		t.Errorf("failover body %s (%v)", b, err)
	}
	if search.calls != 1 {
		t.Errorf("search called %d times, want once per request", search.calls)
	}
}

// TestContextWindowReservesRAGRoom: passages are injected after the
// context-window filter ran, so the filter reserves the plugin's
// max_context_length: a short question fits qwen3-8b's 600-token window
// with a 400-character cap, but with a 4000-character cap (about 1,000
// tokens) the next modelRef serves instead of a request that could
// overflow the small window.
func TestContextWindowReservesRAGRoom(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxChars int
		want     string
	}{
		{"small cap fits", 400, "qwen3-8b"},
		{"large cap needs the bigger model", 4000, "plain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			search := newRAGSearch(t)
			spec := ragSpec(t, search, config.RAGPlugin{MaxContextLength: tc.maxChars})
			spec.StageTimeout = time.Minute
			for i := range spec.Models {
				if spec.Models[i].Name == "qwen3-8b" {
					spec.Models[i].ContextWindow = 600
				}
			}
			d := &spec.Decisions[len(spec.Decisions)-1]
			d.ModelRefs = append(d.ModelRefs, routes.ModelRef{Model: "plain"})
			g := newGateway(t, spec, Stages{Embedder: &fakeEmbedder{}, Classifier: &fakeClassifier{dec: &Decision{Name: "rag", Confidence: 0.9}}})
			_, imm, fwd := chat(g, noHeaders, `{"model":"auto","messages":[{"role":"user","content":"What is the capital of France?"}]}`)
			if imm != nil {
				t.Fatalf("immediate %d %s", imm.Status, imm.Body)
			}
			if got := headerMap(fwd.SetHeaders)["x-selected-model"]; got != tc.want {
				t.Errorf("model %s, want %s", got, tc.want)
			}
		})
	}
}
