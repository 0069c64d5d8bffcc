package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/configwatch"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/pkg/subjects"
	"github.com/semrouter/semrouter/services/config-hub/hub"
	"github.com/semrouter/semrouter/services/config-hub/internal/xdstest"
)

func configDoc(small, big string) string {
	return fmt.Sprintf(`version: v0.3
listeners:
  - name: api
    address: 127.0.0.1
    port: 8801
    timeout: 60s
providers:
  defaults:
    default_model: small
  models:
    - name: small
      backend_refs:
        - name: s
          endpoint: %s
    - name: big
      backend_refs:
        - name: b
          endpoint: %s
          api_key: sk-hub-secret
routing:
  modelCards:
    - name: small
    - name: big
global:
  services:
    management_api:
      auth:
        mode: token
        tokens:
          - env: HUB_ADMIN
            role: admin
`, small, big)
}

func request(t *testing.T, method, url, ifMatch, body string) (int, http.Header, []byte) {
	t.Helper()
	return requestAs(t, "admin-secret", method, url, ifMatch, body)
}

func requestAs(t *testing.T, token, method, url, ifMatch, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, data
}

// TestHubEndToEnd runs the whole hub against a real nats-server: the file is
// published, a real grpc-go xDS client reaches the backend it names, a PUT
// through the management API moves that client to another backend, and
// the hub reports each revision on the status subject.
func TestHubEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := natstest.RunServer(t)
	nc := natstest.Connect(t, ns)
	statuses, err := nc.SubscribeSync(subjects.ConfigStatusAll())
	if err != nil {
		t.Fatal(err)
	}

	a := xdstest.StartBackend(t, healthpb.HealthCheckResponse_SERVING)
	b := xdstest.StartBackend(t, healthpb.HealthCheckResponse_NOT_SERVING)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(configDoc(a, b)), 0o600); err != nil {
		t.Fatal(err)
	}

	started := make(chan hub.Addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- hub.Run(ctx, hub.Options{
			ConfigPath:     path,
			NATS:           nc,
			ManagementAddr: "127.0.0.1:0",
			XDSAddr:        "127.0.0.1:0",
			Instance:       "test",
			PollInterval:   time.Hour, // the file does not change here
			Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
			Getenv: func(k string) string {
				return map[string]string{"HUB_ADMIN": "admin-secret", "HUB_VIEWER": "viewer-secret"}[k]
			},
			Started: func(ad hub.Addrs) { started <- ad },
		})
	}()
	var addrs hub.Addrs
	select {
	case addrs = <-started:
	case err := <-done:
		t.Fatalf("hub stopped: %v", err)
	}
	base := "http://" + addrs.Management

	cc := xdstest.Client(t, addrs.XDS, "xds:///api")
	if got, err := xdstest.Identity(ctx, cc, ""); err != nil || got != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("revision 1 default route: %v %v", got, err)
	}
	waitStatus(t, statuses, 1, true)
	if code, _, body := request(t, "GET", base+"/ready", "", ""); code != 200 {
		t.Fatalf("ready: %d %s", code, body)
	}

	// The management API requires the token from the revision's auth block.
	if code, _, _ := request(t, "GET", base+"/config/router", "", ""); code != 200 {
		t.Fatalf("GET with the admin token: %d", code)
	}
	noAuth, err := http.Get(base + "/config/router")
	if err != nil {
		t.Fatal(err)
	}
	noAuth.Body.Close()
	if noAuth.StatusCode != 401 {
		t.Fatalf("GET without a token: %d", noAuth.StatusCode)
	}

	// An invalid PUT is refused with its problems; nothing changes.
	code, _, body := request(t, "PUT", base+"/config/router", `"1"`, strings.Replace(configDoc(b, a), "default_model: small", "default_model: ghost", 1))
	if code != 400 || !bytes.Contains(body, []byte("providers.defaults.default_model")) {
		t.Fatalf("invalid PUT: %d %s", code, body)
	}

	// A valid PUT swaps the backends (and adds a viewer token); the same
	// gRPC client follows.
	withViewer := strings.Replace(configDoc(b, a), "            role: admin\n", "            role: admin\n          - env: HUB_VIEWER\n            role: viewer\n", 1)
	if code, _, _ := requestAs(t, "viewer-secret", "GET", base+"/config/router", "", ""); code != 401 {
		t.Fatalf("viewer token before it exists: %d", code)
	}
	code, hdr, body := request(t, "PUT", base+"/config/router", `"1"`, withViewer)
	if code != 200 || hdr.Get("ETag") != `"2"` {
		t.Fatalf("PUT: %d %s", code, body)
	}
	xdstest.WaitForIdentity(t, cc, "", healthpb.HealthCheckResponse_NOT_SERVING)
	xdstest.WaitForIdentity(t, cc, "big", healthpb.HealthCheckResponse_SERVING)
	waitStatus(t, statuses, 2, true)
	// The hub applies the auth block of the revision it serves.
	if code, _, _ := requestAs(t, "viewer-secret", "GET", base+"/config/router", "", ""); code != 200 {
		t.Fatalf("viewer GET after revision 2: %d", code)
	}
	if code, _, _ := requestAs(t, "viewer-secret", "PUT", base+"/config/router", `"2"`, withViewer); code != 403 {
		t.Fatalf("viewer PUT: %d", code)
	}

	// Rollback through the API: back to backend a.
	code, _, body = request(t, "POST", base+"/config/router/rollback", "", `{"revision": 1}`)
	if code != 200 {
		t.Fatalf("rollback: %d %s", code, body)
	}
	xdstest.WaitForIdentity(t, cc, "", healthpb.HealthCheckResponse_SERVING)
	waitStatus(t, statuses, 3, true)

	_, _, body = request(t, "GET", base+"/config/router/versions", "", "")
	var vs struct {
		Versions []struct {
			Revision uint64 `json:"revision"`
			Hash     string `json:"hash"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(body, &vs); err != nil || len(vs.Versions) != 3 || vs.Versions[0].Hash != vs.Versions[2].Hash {
		t.Fatalf("versions: %s", body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("hub returned %v on shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hub did not stop")
	}
}

func waitStatus(t *testing.T, sub *nats.Subscription, rev uint64, accepted bool) {
	t.Helper()
	for {
		msg, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no status for revision %d: %v", rev, err)
		}
		var st configwatch.Status
		if err := json.Unmarshal(msg.Data, &st); err != nil {
			t.Fatal(err)
		}
		if st.Revision == rev {
			if st.Accepted != accepted || st.Service != hub.ServiceName {
				t.Fatalf("status %+v", st)
			}
			return
		}
	}
}

func TestHubRefusesAnInvalidFile(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("version: v0.3\nlisteners: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := hub.Run(context.Background(), hub.Options{ConfigPath: path, NATS: nc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "listeners") || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("want the problem with its path and line, got %v", err)
	}
}

func TestManagementAddrFor(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"defaults", "", "127.0.0.1:8080"},
		{"port", "      port: 9090\n", "127.0.0.1:9090"},
		{"remote without exposure stays local", "      bind_address: 0.0.0.0\n      port: 9090\n", "127.0.0.1:9090"},
		{"remote with exposure", "      bind_address: 0.0.0.0\n      port: 9090\n      remote_exposure: true\n", "0.0.0.0:9090"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := configDoc("127.0.0.1:1", "127.0.0.1:2")
			doc = strings.Replace(doc, "    management_api:\n", "    management_api:\n"+c.yaml, 1)
			cfg, _, err := config.Parse([]byte(doc), "test")
			if err != nil {
				t.Fatal(err)
			}
			if got := hub.ManagementAddrFor(cfg, nil); got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestMainFlags(t *testing.T) {
	var stderr bytes.Buffer
	if err := hub.Main(context.Background(), []string{"--no-such-flag"}, &stderr); err == nil {
		t.Fatal("unknown flag accepted")
	}
	if err := hub.Main(context.Background(), []string{"extra"}, &stderr); err == nil {
		t.Fatal("stray argument accepted")
	}
	if err := hub.Main(context.Background(), []string{"-h"}, &stderr); err != nil || !strings.Contains(stderr.String(), "-nats-url") {
		t.Fatalf("help: %v\n%s", err, stderr.String())
	}
}
