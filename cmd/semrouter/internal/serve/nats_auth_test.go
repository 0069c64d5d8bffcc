package serve_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
	"github.com/semrouter/semrouter/pkg/natstest"
)

// TestServeExternalNATSWithUserAndInbox joins an external nats-server
// that requires a user who may subscribe to anything but _INBOX.>: with
// Options.NATSOptions (a user and the inbox prefix _INBOX_serve, as
// --nats-user and --nats-inbox-prefix give them) every service starts,
// applies the config from the KV bucket and routes through the embedder
// and classifier, and the server reports no permission violation, so no
// request, JetStream call or KV watch used nats.go's _INBOX.
func TestServeExternalNATSWithUserAndInbox(t *testing.T) {
	root := repoRoot(t)
	requireAssets(t, root)
	srv := natstest.RunServer(t, natstest.WithOptions(func(o *server.Options) {
		o.Users = []*server.User{{Username: "semrouter", Password: "serve-pw", Permissions: &server.Permissions{
			Subscribe: &server.SubjectPermission{Allow: []string{">"}, Deny: []string{"_INBOX.>"}},
		}}}
	}))
	denied := natstest.NewLog(natstest.KeepContaining("Violation"))
	srv.SetLogger(denied, false, false)

	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, freePort(t), httpBackend(t))
	logs := newRecordKeys()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	info, stop := startServe(ctx, t, serve.Options{
		ConfigPath: cfgPath, NATSURL: srv.ClientURL(),
		NATSOptions:    []nats.Option{nats.UserInfo("semrouter", "serve-pw"), nats.CustomInboxPrefix("_INBOX_serve")},
		ManagementAddr: "127.0.0.1:0", XDSAddr: "off", ExtProcAddr: "off", MetricsAddr: "off",
		ModelsDir: filepath.Join(root, ".cache", "models"), GuardDir: filepath.Join(dir, "no-guard"),
		StageTimeout: 10 * time.Second,
		Logger:       slog.New(logs),
	})
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	// Every service applies the revision from the KV bucket (a KV watch
	// through the prefixed inbox) before the requests, so none of them
	// meets a service that is still waiting for its config.
	waitFor := map[string]bool{"config-hub": true, "cache": true, "classifier": true, "gateway": true}
	for len(waitFor) > 0 {
		select {
		case svc := <-logs.applied:
			delete(waitFor, svc)
		case <-ctx.Done():
			t.Fatalf("no %q line from %v before the deadline", "config revision applied", waitFor)
		}
	}
	// "how do I install this" matches only the embedding signal: the
	// classifier asks the embedder over NATS.
	for _, prompt := range []string{"please debug this function for me", "how do I install this"} {
		body := `{"model":"auto","messages":[{"role":"user","content":"` + prompt + `"}]}`
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+info.APIAddrs["api"]+"/v1/chat/completions", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("content-type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		respBody, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("chat %q: %s %s", prompt, resp.Status, respBody)
		}
		if got, degraded := resp.Header.Get("x-vsr-selected-model"), resp.Header.Get("x-vsr-degraded"); got != "code-expert" || degraded != "" {
			t.Errorf("chat %q: selected %q degraded %q, want code-expert undegraded", prompt, got, degraded)
		}
	}
	if v := denied.Lines(); len(v) > 0 {
		t.Fatalf("the server refused %d operations (a path ignores the inbox prefix):\n%s", len(v), strings.Join(v, "\n"))
	}
}
