package extproc

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/rag"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// TestRAGBodyMutation: in ext_proc mode the rag plugin's context reaches
// Envoy as the request body mutation (with its content-length), and the
// response headers count the passages. The search service is a real HTTP
// server; the classifier is a FAKE.
func TestRAGBodyMutation(t *testing.T) {
	search := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if q := gjson.GetBytes(b, "query").Str; q != "derive it" {
			http.Error(w, "unexpected query "+q, http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, `[{"content":"Use the chain rule.","score":0.9},{"content":"Unrelated.","score":0.1}]`)
	}))
	t.Cleanup(search.Close)
	p, err := rag.Compile(&config.RAGPlugin{Enabled: true, Backend: rag.BackendExternalAPI, SimilarityThreshold: 0.5,
		InjectionMode: rag.InjectToolRole, BackendConfig: map[string]any{"endpoint": search.URL}}, rag.Options{HTTP: search.Client()})
	if err != nil {
		t.Fatal(err)
	}
	sp := spec()
	sp.StageTimeout = time.Minute
	sp.Decisions = append(sp.Decisions, routes.Decision{Name: "rag", ModelRefs: []routes.ModelRef{{Model: "small"}}, Plugins: routes.Plugins{RAG: p}})
	h := startHarness(t, sp, gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "rag", Confidence: 1}}}, nil, nil)
	e := h.open(t)
	e.send(chatHeaders())
	cr := e.send(reqBody(`{"model":"auto","messages":[{"role":"user","content":"derive it"}]}`, true)).GetRequestBody().Response
	body := cr.BodyMutation.GetBody()
	roles := gjson.GetBytes(body, "messages.#.role").String()
	if roles != `["user","assistant","tool"]` {
		t.Fatalf("roles %s in %s", roles, body)
	}
	if c := gjson.GetBytes(body, "messages.2.content").Str; !strings.Contains(c, "[1] Use the chain rule.") || strings.Contains(c, "Unrelated") {
		t.Errorf("tool content %q", c)
	}
	if gjson.GetBytes(body, "messages.1.tool_calls.0.id").Str != gjson.GetBytes(body, "messages.2.tool_call_id").Str {
		t.Errorf("tool result does not answer the call: %s", body)
	}
	if set := setHeaders(cr.HeaderMutation); set["content-length"] != strconv.Itoa(len(body)) {
		t.Errorf("content-length %q, body %d bytes", set["content-length"], len(body))
	}
	vsr := setHeaders(e.send(respHeaders(200, "application/json")).GetResponseHeaders().Response.HeaderMutation)
	if vsr[gateway.HeaderRAGDocuments] != "1" {
		t.Errorf("%s = %q, want 1", gateway.HeaderRAGDocuments, vsr[gateway.HeaderRAGDocuments])
	}
}
