package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/natstest"
)

func TestHelpListsLogAndTracingFlags(t *testing.T) {
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"--help"}, &stderr); err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, flag := range []string{"-log-level", "-log-format", "-tracing-config", "-otlp-endpoint", "-otlp-insecure",
		"-trace-sample-rate", "-nats-url", "-http-addr", "-metrics-addr", "-instance"} {
		if !strings.Contains(stderr.String(), flag+" ") && !strings.Contains(stderr.String(), flag+"\n") {
			t.Errorf("--help does not list %s:\n%s", flag, stderr.String())
		}
	}
}

func TestRejectsBadCommandLines(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown flag", args: []string{"--nope"}, want: "flag provided but not defined"},
		{name: "stray argument", args: []string{"extra"}, want: "unexpected arguments"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, want: `log level "loud"`},
		{name: "bad log format", args: []string{"--log-format", "yaml"}, want: `log format "yaml": want text or json`},
		{name: "bad sample rate", args: []string{"--trace-sample-rate", "-1"}, want: "--trace-sample-rate"},
		{name: "missing tracing config", args: []string{"--tracing-config", "/nonexistent/config.yaml"}, want: "load tracing config"},
		{name: "no nats", args: []string{"--nats-url", "nats://127.0.0.1:1"}, want: "connect to nats"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(t.Context(), tc.args, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%v) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}

// lineWatcher is a log sink that cancels ctx once a line contains want.
type lineWatcher struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	want   string
	cancel context.CancelFunc
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.cancel()
	}
	return len(p), nil
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestServesWithJSONLogsUntilCancelled runs the command against a real
// nats-server with JSON logs and a sampled-off tracer, and stops it once
// its HTTP API listens.
func TestServesWithJSONLogsUntilCancelled(t *testing.T) {
	ns := natstest.RunServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	w := &lineWatcher{want: `"what":"http"`, cancel: cancel}
	err := run(ctx, []string{"--nats-url", ns.ClientURL(), "--http-addr", "127.0.0.1:0", "--instance", "cmd-test",
		"--log-level", "debug", "--log-format", "json", "--trace-sample-rate", "0"}, w)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, w)
	}
	var sawReady bool
	for line := range strings.SplitSeq(strings.TrimSpace(w.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		sawReady = sawReady || rec["msg"] == "cache backend ready"
	}
	if !sawReady {
		t.Fatalf("log lacks the backend line:\n%s", w)
	}
}
