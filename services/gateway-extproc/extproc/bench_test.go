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

// BenchmarkRequestMutation renders the request-body header mutation of a
// request routed to a keyed backend with extra headers, and to a model
// whose backends' keys differ (a weighted draw).
func BenchmarkRequestMutation(b *testing.B) {
	tbl, err := routes.Compile(credSpec())
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(gateway.New(tbl, gateway.Stages{}, log), log, credOptions(1)...)
	for _, name := range []string{"azure", "split"} {
		m, ok := tbl.Model(name)
		if !ok {
			b.Fatalf("no model %q", name)
		}
		fwd := &gateway.Forward{SetHeaders: []gateway.Header{{Name: gateway.HeaderSelectedModelRoute, Value: name}},
			Targets: []gateway.Target{{Model: m}}}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if hm := s.requestMutation(fwd, "/v1/chat/completions"); len(hm.SetHeaders) < 2 {
					b.Fatalf("mutation %v", hm)
				}
			}
		})
	}
}
