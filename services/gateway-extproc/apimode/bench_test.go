package apimode

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// BenchmarkProxyStreaming measures API mode end to end over loopback: a
// client request, routing with a FAKE classifier, and an SSE relay from an
// LLM FAKE (httptest) through the reassembler back to the client.
func BenchmarkProxyStreaming(b *testing.B) {
	llm := &fakeLLM{name: "small", mode: "stream"}
	llm.srv = httptest.NewServer(http.HandlerFunc(llm.serve))
	defer llm.srv.Close()
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", Backends: []routes.Backend{{Name: "s", Endpoint: llm.endpoint(), Weight: 1}}}}
	spec.Decisions = []routes.Decision{cachedDecision()}
	tbl, err := routes.Compile(spec)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw := gateway.New(tbl, gateway.Stages{Classifier: &fakeClassifier{dec: &gateway.Decision{Name: "cached"}}}, log)
	hs := httptest.NewServer(New(gw, log).Handler(10 * time.Second))
	defer hs.Close()
	body := []byte(`{"model":"auto","stream":true,"messages":[{"role":"user","content":"hello there"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := http.Post(hs.URL+"/v1/chat/completions", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.HasSuffix(out, []byte("data: [DONE]\n\n")) {
			b.Fatalf("%d %s", resp.StatusCode, out)
		}
		llm.mu.Lock()
		llm.reqs = llm.reqs[:0]
		llm.mu.Unlock()
	}
}
