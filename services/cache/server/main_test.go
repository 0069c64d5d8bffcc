package server

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/natstest"
)

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

func TestMainServesUntilCancelled(t *testing.T) {
	ns := natstest.RunServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	w := &lineWatcher{want: "what=http", cancel: cancel}
	err := Main(ctx, []string{"--nats-url", ns.ClientURL(), "--http-addr", "127.0.0.1:0", "--instance", "main-test",
		"--log-level", "debug"}, w)
	if err != nil {
		t.Fatalf("Main: %v\n%s", err, w.buf.String())
	}
	if !strings.Contains(w.buf.String(), "cache backend ready") {
		t.Fatalf("log lacks the backend line:\n%s", w.buf.String())
	}
}

func TestMainFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown flag", args: []string{"--nope"}, want: "flag provided but not defined"},
		{name: "stray argument", args: []string{"extra"}, want: "unexpected arguments"},
		{name: "bad log level", args: []string{"--log-level", "loud"}, want: "loud"},
		{name: "no nats", args: []string{"--nats-url", "nats://127.0.0.1:1"}, want: "connect to nats"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Main(t.Context(), tc.args, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Main(%v) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
	if err := Main(t.Context(), []string{"--help"}, &bytes.Buffer{}); err != nil {
		t.Fatalf("--help: %v", err)
	}
}
