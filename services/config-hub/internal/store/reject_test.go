package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/services/config-hub/internal/store"
)

// openLoggedStore is openStore with the store's log captured in buf.
func openLoggedStore(t *testing.T, buf *bytes.Buffer) *store.Store {
	t.Helper()
	nc := natstest.Connect(t, natstest.RunServer(t))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), js, "config", "active", slog.New(slog.NewTextHandler(buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFileWatcherRefusesEmptyAndBrokenFiles: truncating the watched file,
// leaving only whitespace, a version line alone or a YAML syntax error is
// never published; the log says why (with the parser's line) and the
// active revision keeps serving.
func TestFileWatcherRefusesEmptyAndBrokenFiles(t *testing.T) {
	ctx := context.Background()
	var storeLog bytes.Buffer
	s := openLoggedStore(t, &storeLog)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, readTestdata(t, "valid.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	w := store.NewFileWatcher(s, path, 0, nil, slog.New(slog.NewTextHandler(&log, nil)))
	first, err := w.PublishNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content string
		wantLog []string
	}{
		{name: "truncated", content: "", wantLog: []string{"config file is empty; not published, the active revision keeps serving"}},
		{name: "whitespace only", content: " \n\t\n", wantLog: []string{"config file is empty"}},
		{name: "version only", content: "version: v0.3\n", wantLog: []string{
			"config file rejected", "providers.models: at least one model is required", "routing.decisions: at least one decision"}},
		{name: "syntax error", content: "version: v0.3\nproviders:\n  models: [\n", wantLog: []string{
			"config file rejected", "YAML syntax error: did not find expected node content (line 3)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log.Reset()
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := w.Poll(ctx)
			var verr *store.ValidationError
			if got != store.PollRejected || !errors.As(err, &verr) {
				t.Fatalf("poll = %v, %v; want rejected with a validation error", got, err)
			}
			if len(verr.Problems.Errors()) == 0 {
				t.Errorf("rejected without a problem: %v", err)
			}
			for _, want := range tt.wantLog {
				if !strings.Contains(log.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, log.String())
				}
			}
			cur, err := s.Current(ctx)
			if err != nil || cur.Revision != first.Revision {
				t.Fatalf("active revision = %d (%v), want %d still active", cur.Revision, err, first.Revision)
			}
		})
	}
	if vs, _ := s.Versions(ctx); len(vs) != 1 {
		t.Fatalf("want only the startup revision, got %+v", vs)
	}
}

// TestPublishRefusesEmptyDocuments: the store itself refuses a document
// without content, whichever way it arrives.
func TestPublishRefusesEmptyDocuments(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	first, err := s.Publish(ctx, readTestdata(t, "valid.yaml"), "valid.yaml", store.Precondition{})
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{"", "\n  \n", "# only a comment\n", "version: v0.3\n"} {
		res, err := s.Publish(ctx, []byte(doc), "doc", store.Precondition{})
		var verr *store.ValidationError
		if !errors.As(err, &verr) || !res.Problems.HasErrors() {
			t.Fatalf("%q: err = %v, problems %v; want a validation error with problems", doc, err, res.Problems)
		}
	}
	if cur, _ := s.Current(ctx); cur.Revision != first.Revision {
		t.Fatalf("active revision moved to %d", cur.Revision)
	}
}

// TestPublishWarnsWhenListenersRemoved: a valid revision without the
// listeners of the active one is published (behind Envoy none are needed)
// but the result and the log carry a warning.
func TestPublishWarnsWhenListenersRemoved(t *testing.T) {
	ctx := context.Background()
	var storeLog bytes.Buffer
	s := openLoggedStore(t, &storeLog)
	valid := readTestdata(t, "valid.yaml")
	if _, err := s.Publish(ctx, valid, "valid.yaml", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(valid, []byte("listeners:")), bytes.Index(valid, []byte("providers:"))
	noListeners := append(append([]byte{}, valid[:i]...), valid[j:]...)
	res, err := s.Publish(ctx, noListeners, "no-listeners", store.Precondition{})
	if err != nil || !res.Changed {
		t.Fatalf("publish: %+v, %v", res, err)
	}
	var warned bool
	for _, p := range res.Problems.Warnings() {
		if p.Path == "listeners" && strings.Contains(p.Message, "serves api:8801") {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no listener warning in %v", res.Problems)
	}
	if !strings.Contains(storeLog.String(), "declares no listener") {
		t.Errorf("store log lacks the warning:\n%s", storeLog.String())
	}
	// Publishing it again (no listeners before or after) warns no more.
	again, err := s.Publish(ctx, append(noListeners, "# again\n"...), "again", store.Precondition{})
	if err != nil || again.Changed || len(again.Problems.Warnings()) != 0 {
		t.Fatalf("republish: %+v, %v", again, err)
	}
}
