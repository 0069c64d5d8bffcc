package extproc

import (
	"context"
	"io"
	"log/slog"
	"strconv"
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

// BenchmarkStreamedBodyAccumulation drives a FULL_DUPLEX_STREAMED request
// in-process (no gRPC transport): request headers, a ~256 KB chat body in
// 16 KB chunks gathered up to end_of_stream, routed by a FAKE classifier
// and answered as a headers response plus streamed body chunks; with the
// client's content-length (one allocation for the body) and without.
func BenchmarkStreamedBodyAccumulation(b *testing.B) {
	sp := spec()
	sp.MaxBodyBytes = 1 << 20
	tbl, err := routes.Compile(sp)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := New(gateway.New(tbl, gateway.Stages{Classifier: fakeClassifier{&gateway.Decision{Name: "hard"}}}, log), log)
	body := `{"model":"auto","messages":[{"role":"user","content":"` + strings.Repeat("Explain how churn changes the forecast. ", 6500) + `"}]}`
	var chunks []*extprocv3.ProcessingRequest
	for i := 0; i < len(body); i += 16 << 10 {
		end := min(i+16<<10, len(body))
		chunks = append(chunks, reqBody(body[i:end], end == len(body)))
	}
	ctx := context.Background()
	for _, withLength := range []bool{true, false} {
		headers := []string{":method", "POST", ":path", "/v1/chat/completions", "content-type", "application/json"}
		name := "unknown-length"
		if withLength {
			headers = append(headers, "content-length", strconv.Itoa(len(body)))
			name = "content-length"
		}
		hdr := duplexHeaders(headers...)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				st := &stream{s: s, x: s.gw.NewExchange()}
				if st.handle(ctx, hdr) != nil {
					b.Fatal("headers answered before the body")
				}
				var resp *extprocv3.ProcessingResponse
				for _, c := range chunks {
					resp = st.handle(ctx, c)
				}
				if resp.GetRequestHeaders() == nil || len(st.fd.queued) < 2 {
					b.Fatalf("answer %v", resp)
				}
				st.x.End(0)
			}
		})
	}
}
