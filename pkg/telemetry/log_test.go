package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestNewLogger(t *testing.T) {
	tests := []struct {
		name      string
		cfg       LogConfig
		wantDebug bool
		wantJSON  bool
		wantErr   string
	}{
		{name: "defaults", cfg: LogConfig{}, wantDebug: false},
		{name: "debug text", cfg: LogConfig{Level: "DEBUG", Format: "text"}, wantDebug: true},
		{name: "json", cfg: LogConfig{Level: "info", Format: "json"}, wantJSON: true},
		{name: "warning alias", cfg: LogConfig{Level: "warning"}},
		{name: "bad level", cfg: LogConfig{Level: "loud"}, wantErr: `parse log level "loud"`},
		{name: "bad format", cfg: LogConfig{Format: "xml"}, wantErr: `parse log format "xml"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := NewLogger(&buf, tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("dbg")
			log.Warn("hello", slog.String("k", "v"))
			out := buf.String()
			if got := strings.Contains(out, "dbg"); got != tc.wantDebug {
				t.Errorf("debug record written = %v, want %v\n%s", got, tc.wantDebug, out)
			}
			if !strings.Contains(out, "hello") {
				t.Errorf("warn record missing:\n%s", out)
			}
			if tc.wantJSON {
				var rec map[string]any
				if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &rec); err != nil {
					t.Fatalf("not JSON: %v\n%s", err, out)
				}
				if rec["k"] != "v" || rec["msg"] != "hello" {
					t.Errorf("record = %v", rec)
				}
			}
		})
	}
}

func TestLoggerAddsTraceIDs(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, LogConfig{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	traceID, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	spanID, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
	}))
	log.With(slog.String("svc", "x")).WithGroup("g").InfoContext(ctx, "traced", slog.Int("n", 1))
	log.InfoContext(context.Background(), "untraced")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", lines)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	g, _ := rec["g"].(map[string]any)
	if g["trace_id"] != traceID.String() || g["span_id"] != spanID.String() || rec["svc"] != "x" {
		t.Errorf("traced record = %v", rec)
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Errorf("untraced record has a trace id: %s", lines[1])
	}
}
