package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/telemetry"
	"github.com/semrouter/semrouter/pkg/telemetry/telemetrytest"
	"github.com/semrouter/semrouter/services/config-hub/hub"
	"github.com/semrouter/semrouter/services/config-hub/xds"
)

func TestMainHelpListsLogAndTracingFlags(t *testing.T) {
	var stderr bytes.Buffer
	if err := hub.Main(context.Background(), []string{"--help"}, &stderr); err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, flag := range []string{"-log-level", "-log-format", "-log-json", "-tracing-config", "-otlp-endpoint", "-otlp-insecure",
		"-trace-sample-rate", "-config", "-nats-url", "-management-addr", "-xds-addr", "-extproc-addr", "-trust-downstream-identity", "-instance", "-metrics-addr"} {
		if !strings.Contains(stderr.String(), flag+" ") && !strings.Contains(stderr.String(), flag+"\n") {
			t.Errorf("--help does not list %s:\n%s", flag, stderr.String())
		}
	}
}

func TestMainRejectsBadLogAndTracingFlags(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{name: "bad log format", args: []string{"--log-format", "yaml"}, want: `log format "yaml": want text or json`},
		{name: "bad log level", args: []string{"--log-level", "loud"}, want: `log level "loud"`},
		{name: "log-json against log-format text", args: []string{"--log-json", "--log-format", "text"}, want: "--log-json conflicts with --log-format text"},
		{name: "bad sample rate", args: []string{"--trace-sample-rate", "1.5"}, want: "--trace-sample-rate"},
		{name: "missing tracing config", args: []string{"--tracing-config", "/nonexistent/config.yaml"}, want: "load tracing config"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			// The NATS URL is never dialled: the flags fail first.
			err := hub.Main(context.Background(), append(tc.args, "--nats-url", "nats://127.0.0.1:1"), &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestMainRejectsUnusableExtProcAddr: --extproc-addr is what Envoy dials,
// so a port that cannot be dialled (0, a name, none) stops config-hub at
// start with an error naming the flag, before NATS is dialled, instead of
// rejecting every revision later. Run refuses the same option.
func TestMainRejectsUnusableExtProcAddr(t *testing.T) {
	for _, tc := range []struct {
		name string
		addr string
		want string
	}{
		{name: "port 0", addr: "127.0.0.1:0", want: `--extproc-addr "127.0.0.1:0": port 0 is not a port Envoy can dial`},
		{name: "wildcard and port 0", addr: ":0", want: `--extproc-addr ":0": port 0 is not a port Envoy can dial`},
		{name: "named port", addr: "gateway-extproc:grpc", want: `--extproc-addr "gateway-extproc:grpc": port "grpc"`},
		{name: "no port", addr: "gateway-extproc", want: `--extproc-addr "gateway-extproc": want host:port`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := hub.Main(context.Background(), []string{"--extproc-addr", tc.addr, "--nats-url", "nats://127.0.0.1:1"}, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("Run", func(t *testing.T) {
		err := hub.Run(context.Background(), hub.Options{NATSURL: "nats://127.0.0.1:1", XDS: xds.Options{ExtProcAddress: "127.0.0.1:0"}})
		if !errors.Is(err, xds.ErrExtProcPortZero) {
			t.Fatalf("Run: %v, want ErrExtProcPortZero", err)
		}
	})
}

// TestMainTracesManagementAPI runs the command against a real nats-server
// and a real OTLP/gRPC collector: the JSON log (from --log-json, kept for
// old command lines, or --log-format json) names the management address, a
// request carrying a W3C traceparent gets a server span in that trace, and
// the span reaches the collector when the hub stops.
func TestMainTracesManagementAPI(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{name: "log-format json", args: []string{"--log-format", "json"}},
		{name: "legacy log-json", args: []string{"--log-json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col, endpoint := telemetrytest.StartCollector(t)
			ns := natstest.RunServer(t)
			logs := newLogWatch("config-hub serving")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			args := append([]string{"--nats-url", ns.ClientURL(), "--management-addr", "127.0.0.1:0", "--xds-addr", "off",
				"--instance", "t1", "--otlp-endpoint", endpoint, "--otlp-insecure"}, tc.args...)
			go func() { done <- hub.Main(ctx, args, logs) }()
			var line []byte
			select {
			case line = <-logs.found:
			case err := <-done:
				t.Fatalf("hub stopped: %v\n%s", err, logs)
			}
			var rec struct {
				Msg        string `json:"msg"`
				Management string `json:"management"`
			}
			if err := json.Unmarshal(line, &rec); err != nil || rec.Management == "" {
				t.Fatalf("log line %q is not JSON naming the management address: %v", line, err)
			}

			caller := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewInMemoryExporter()))
			defer func() { _ = caller.Shutdown(context.Background()) }()
			cctx, span := caller.Tracer("test").Start(context.Background(), "caller")
			req, err := http.NewRequestWithContext(cctx, http.MethodGet, "http://"+rec.Management+"/health", nil)
			if err != nil {
				t.Fatal(err)
			}
			telemetry.Propagator().Inject(cctx, propagation.HeaderCarrier(req.Header))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			span.End()
			cancel()
			if err := <-done; err != nil { // Main flushes its spans before returning
				t.Fatalf("hub: %v", err)
			}

			want := span.SpanContext()
			tid, sid := want.TraceID(), want.SpanID()
			var names []string
			for _, s := range col.Spans() {
				names = append(names, s.GetName())
				if s.GetName() == "GET /health" && s.GetKind() == tracepb.Span_SPAN_KIND_SERVER &&
					bytes.Equal(s.GetTraceId(), tid[:]) && bytes.Equal(s.GetParentSpanId(), sid[:]) {
					return
				}
			}
			t.Fatalf("collector got spans %v, none a GET /health server span under the caller's span %s/%s", names, tid, sid)
		})
	}
}

// logWatch is the command's stderr: it sends the first line containing
// msg on found.
type logWatch struct {
	msg   string
	found chan []byte
	mu    sync.Mutex
	buf   bytes.Buffer
	sent  bool
}

func newLogWatch(msg string) *logWatch {
	return &logWatch{msg: msg, found: make(chan []byte, 1)}
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	start := w.buf.Len()
	w.buf.Write(p)
	if !w.sent {
		for _, line := range bytes.Split(w.buf.Bytes()[start:], []byte("\n")) {
			if bytes.Contains(line, []byte(w.msg)) {
				w.sent = true
				w.found <- bytes.Clone(line)
				break
			}
		}
	}
	return len(p), nil
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
