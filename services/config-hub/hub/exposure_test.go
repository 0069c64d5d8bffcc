package hub_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/services/config-hub/hub"
)

// noAuthDoc is configDoc without the management_api.auth block.
func noAuthDoc() string {
	doc := configDoc("127.0.0.1:1", "127.0.0.1:2")
	return doc[:strings.Index(doc, "global:\n")]
}

// TestManagementExposureNeedsAuth starts the hub (real nats-server) with the
// management API on every interface: without token auth it refuses to
// start unless --management-insecure is given; loopback binds never need it.
func TestManagementExposureNeedsAuth(t *testing.T) {
	cases := []struct {
		name     string
		doc      string
		addr     string
		insecure bool
		refused  bool
	}{
		{"all interfaces without auth is refused", noAuthDoc(), "0.0.0.0:0", false, true},
		{"empty host (all interfaces) without auth is refused", noAuthDoc(), ":0", false, true},
		{"all interfaces with token auth starts", configDoc("127.0.0.1:1", "127.0.0.1:2"), "0.0.0.0:0", false, false},
		{"all interfaces without auth and --management-insecure starts", noAuthDoc(), "0.0.0.0:0", true, false},
		{"loopback without auth starts", noAuthDoc(), "127.0.0.1:0", false, false},
		{"localhost without auth starts", noAuthDoc(), "localhost:0", false, false},
		{"explicit auth mode disabled is refused", noAuthDoc() + "global:\n  services:\n    management_api:\n      auth:\n        mode: disabled\n", "0.0.0.0:0", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc := natstest.Connect(t, natstest.RunServer(t))
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(tc.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			started := make(chan hub.Addrs, 1)
			done := make(chan error, 1)
			go func() {
				done <- hub.Run(ctx, hub.Options{
					ConfigPath: path, NATS: nc, ManagementAddr: tc.addr, XDSAddr: "off",
					ManagementInsecure: tc.insecure, PollInterval: time.Hour,
					Logger:  slog.New(slog.DiscardHandler),
					Getenv:  func(k string) string { return map[string]string{"HUB_ADMIN": "admin-secret"}[k] },
					Started: func(a hub.Addrs) { started <- a },
				})
			}()
			select {
			case err := <-done:
				if !tc.refused {
					t.Fatalf("hub stopped: %v", err)
				}
				if !errors.Is(err, hub.ErrInsecureManagement) || !strings.Contains(err.Error(), "--management-insecure") {
					t.Fatalf("error %v, want ErrInsecureManagement naming --management-insecure", err)
				}
			case a := <-started:
				if tc.refused {
					t.Fatalf("hub started on %s, want a refusal", a.Management)
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("hub: %v", err)
				}
			}
		})
	}
}

// TestManagementAuthFromFirstRequest checks that a hub exposed with token
// auth answers 401 to a tokenless request at once: auth comes from the
// published revision before the API listens.
func TestManagementAuthFromFirstRequest(t *testing.T) {
	nc := natstest.Connect(t, natstest.RunServer(t))
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(configDoc("127.0.0.1:1", "127.0.0.1:2")), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	started := make(chan hub.Addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- hub.Run(ctx, hub.Options{
			ConfigPath: path, NATS: nc, ManagementAddr: "127.0.0.1:0", XDSAddr: "off", PollInterval: time.Hour,
			Logger:  slog.New(slog.DiscardHandler),
			Getenv:  func(k string) string { return map[string]string{"HUB_ADMIN": "admin-secret"}[k] },
			Started: func(a hub.Addrs) { started <- a },
		})
	}()
	var a hub.Addrs
	select {
	case a = <-started:
	case err := <-done:
		t.Fatalf("hub stopped: %v", err)
	}
	res, err := http.Get("http://" + a.Management + "/config/router")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("tokenless GET /config/router: %d, want 401", res.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("hub: %v", err)
	}
}

func TestIsLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:8080": true, "127.0.0.2:1": true,
		":8080": false, "0.0.0.0:8080": false, "[::]:8080": false, "10.0.0.1:8080": false, "config-hub:8080": false,
	} {
		if got := hub.IsLoopbackAddr(addr); got != want {
			t.Errorf("IsLoopbackAddr(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestManagementToken exposes the hub on every interface with a deployment
// token and a config without auth: the token is required (401 without it)
// and has every permission; a too short token is refused at start.
func TestManagementToken(t *testing.T) {
	const token = "0123456789abcdef-deployment"
	run := func(t *testing.T, doc, tok string) (hub.Addrs, chan error, context.CancelFunc) {
		t.Helper()
		nc := natstest.Connect(t, natstest.RunServer(t))
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		started := make(chan hub.Addrs, 1)
		done := make(chan error, 1)
		go func() {
			done <- hub.Run(ctx, hub.Options{
				ConfigPath: path, NATS: nc, ManagementAddr: "0.0.0.0:0", XDSAddr: "off", PollInterval: time.Hour,
				ManagementToken: tok, Logger: slog.New(slog.DiscardHandler),
				Getenv:  func(k string) string { return map[string]string{"HUB_ADMIN": "admin-secret"}[k] },
				Started: func(a hub.Addrs) { started <- a },
			})
		}()
		select {
		case a := <-started:
			return a, done, cancel
		case err := <-done:
			cancel()
			return hub.Addrs{}, func() chan error { c := make(chan error, 1); c <- err; return c }(), func() {}
		}
	}
	t.Run("token guards a config without auth", func(t *testing.T) {
		a, done, cancel := run(t, noAuthDoc(), token)
		if a.Management == "" {
			t.Fatalf("hub did not start: %v", <-done)
		}
		port := a.Management[strings.LastIndexByte(a.Management, ':'):]
		base := "http://127.0.0.1" + port
		for _, tc := range []struct {
			tok  string
			want int
		}{{"", 401}, {"wrong-token-wrong-token", 401}, {token, 200}} {
			if code, _, body := requestAs(t, tc.tok, "GET", base+"/config/router", "", ""); code != tc.want {
				t.Errorf("token %q: %d %s, want %d", tc.tok, code, body, tc.want)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("config tokens still work beside it", func(t *testing.T) {
		a, done, cancel := run(t, configDoc("127.0.0.1:1", "127.0.0.1:2"), token)
		if a.Management == "" {
			t.Fatalf("hub did not start: %v", <-done)
		}
		base := "http://127.0.0.1" + a.Management[strings.LastIndexByte(a.Management, ':'):]
		for _, tok := range []string{token, "admin-secret"} {
			if code, _, body := requestAs(t, tok, "GET", base+"/config/router", "", ""); code != 200 {
				t.Errorf("token %q: %d %s", tok, code, body)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("too short", func(t *testing.T) {
		_, done, _ := run(t, noAuthDoc(), "short")
		if err := <-done; err == nil || !strings.Contains(err.Error(), "at least 16") {
			t.Fatalf("err = %v, want a refusal of the short token", err)
		}
	})
}

// TestMainManagementTokenFile: config-hub reads the token file, refuses an
// empty one, and the file wins over the environment.
func TestMainManagementTokenFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	short := filepath.Join(dir, "short")
	for p, v := range map[string]string{empty: "\n", short: "abc\n"} {
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(hub.EnvManagementToken, "a-long-enough-environment-token")
	for _, tc := range []struct {
		file, want string
	}{
		{empty, "is empty"},
		{filepath.Join(dir, "missing"), "read --management-token-file"},
		{short, "3 characters"}, // the file's token, not the environment's
	} {
		var stderr strings.Builder
		err := hub.Main(context.Background(), []string{"--management-token-file", tc.file, "--nats-url", "nats://127.0.0.1:1"}, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.file, err, tc.want)
		}
	}
}
