package extproc

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// BenchmarkStreamLifecycle drives one request's full ext_proc lifecycle
// in-process (no gRPC transport): request headers, a ~2 KB buffered body
// routed by a FAKE classifier, SSE response headers and 20 body chunks.
func BenchmarkStreamLifecycle(b *testing.B) {
	tbl, err := routes.Compile(spec())
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(gateway.New(tbl, gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "hard"}}}, log), log)
	turn := strings.Repeat("Explain how churn changes the quarterly revenue forecast. ", 5)
	body := `{"model":"auto","stream":true,"messages":[` +
		strings.Repeat(`{"role":"user","content":"`+turn+`"},{"role":"assistant","content":"ok"},`, 6) +
		`{"role":"user","content":"` + turn + `"}]}`
	var chunks []string
	for i := 0; i < 19; i++ {
		chunks = append(chunks, `data: {"id":"x","choices":[{"index":0,"delta":{"content":"tok "}}]}`+"\n\n")
	}
	chunks = append(chunks, "data: [DONE]\n\n")
	reqs := []any{chatHeaders(), reqBody(body, true), respHeaders(200, "text/event-stream")}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		st := &stream{s: s, x: s.gw.NewExchange()}
		st.handle(ctx, reqs[0].(*extprocv3.ProcessingRequest))
		st.handle(ctx, reqs[1].(*extprocv3.ProcessingRequest))
		st.handle(ctx, reqs[2].(*extprocv3.ProcessingRequest))
		for i, c := range chunks {
			st.handle(ctx, respBody(c, i == len(chunks)-1))
		}
	}
}
