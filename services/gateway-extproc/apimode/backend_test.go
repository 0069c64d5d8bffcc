package apimode

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

func TestBackendURL(t *testing.T) {
	cases := []struct {
		name string
		b    routes.Backend
		want string
	}{
		{"endpoint", routes.Backend{Endpoint: "127.0.0.1:8000"}, "http://127.0.0.1:8000/v1/chat/completions"},
		{"endpoint https custom path", routes.Backend{Endpoint: "h:443", Protocol: "https", ChatPath: "/openai/chat"}, "https://h:443/openai/chat"},
		{"base_url", routes.Backend{BaseURL: "https://api.example.com/v1/"}, "https://api.example.com/v1/chat/completions"},
		{"base_url chat_path", routes.Backend{BaseURL: "https://api.example.com/v1", ChatPath: "/chat/completions"}, "https://api.example.com/v1/chat/completions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := backendURL(&tc.b); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestWeightedOrder(t *testing.T) {
	bs := []routes.Backend{{Name: "a", Weight: 80}, {Name: "b", Weight: 20}, {Name: "c", Weight: 0}}
	cases := []struct {
		draw int
		want string
	}{{0, "a,b,c"}, {79, "a,b,c"}, {80, "b,a,c"}, {99, "b,a,c"}}
	m := &routes.Model{Name: "m", Backends: bs}
	for _, tc := range cases {
		s := New(nil, slog.New(slog.DiscardHandler), WithRandom(func(n int) int {
			if n != 100 {
				t.Fatalf("total weight %d", n)
			}
			return tc.draw
		}))
		var names []string
		for _, c := range s.plan(nil, []gateway.Target{{Model: m}}, time.Now()) {
			names = append(names, c.b.Name)
		}
		if got := strings.Join(names, ","); got != tc.want {
			t.Errorf("draw %d: %s, want %s", tc.draw, got, tc.want)
		}
	}
}

func TestStaticKeyAndClientAuth(t *testing.T) {
	s := &Server{env: func(string) string { return "" }}
	in := http.Header{"Authorization": {"Bearer client"}, "Connection": {"X-Hop"}, "X-Hop": {"1"}, "Accept-Encoding": {"gzip"}}
	fwd := &gateway.Forward{SetHeaders: []gateway.Header{{Name: "x-selected-model", Value: "m"}}, RemoveHeaders: []string{"x-debug-trace"}}
	cases := []struct {
		name string
		b    routes.Backend
		want map[string]string
	}{
		{"no key keeps client auth", routes.Backend{}, map[string]string{"Authorization": "Bearer client"}},
		{"static key", routes.Backend{APIKey: "k"}, map[string]string{"Authorization": "Bearer k"}},
		{"custom header drops client auth", routes.Backend{APIKey: "k", AuthHeader: "api-key"}, map[string]string{"Api-Key": "k", "Authorization": ""}},
		{"env missing falls back to static", routes.Backend{APIKey: "k", APIKeyEnv: "UNSET"}, map[string]string{"Authorization": "Bearer k"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := http.Header{}
			s.upstreamHeaders(dst, in, fwd, &tc.b)
			for k, v := range tc.want {
				if dst.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, dst.Get(k), v)
				}
			}
			if dst.Get("X-Hop") != "" || dst.Get("Connection") != "" || dst.Get("Accept-Encoding") != "" {
				t.Errorf("hop-by-hop headers forwarded: %v", dst)
			}
			if dst.Get("X-Selected-Model") != "m" {
				t.Errorf("x-selected-model missing: %v", dst)
			}
		})
	}
}

func TestDeadlineGives504(t *testing.T) {
	hang := newFakeLLM(t, "hang", "hang")
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", RetryCount: 2, Backends: []routes.Backend{backend("h", hang)}}}
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := New(gateway.New(tbl, gateway.Stages{}, log), log)
	rec := &recorder{h: http.Header{}}
	req, _ := http.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{"model":"small","messages":[{"role":"user","content":"x"}]}`))
	srv.Handler(100*time.Millisecond).ServeHTTP(rec, req)
	if rec.status != http.StatusGatewayTimeout || !strings.Contains(rec.body.String(), "upstream_timeout") {
		t.Fatalf("%d %s", rec.status, rec.body.String())
	}
	if n := len(hang.requests()); n != 1 {
		t.Fatalf("backend saw %d attempts after the deadline", n)
	}
}

type recorder struct {
	h      http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(code int)        { r.status = code }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }

func TestServeListeners(t *testing.T) {
	port, _ := strconv.Atoi(strings.Split(refusedAddr(t), ":")[1])
	spec := baseSpec()
	spec.Listeners = []routes.Listener{{Name: "http-test", Address: "127.0.0.1", Port: port, Timeout: time.Second}}
	spec.Models = []routes.Model{{Name: "small", Backends: []routes.Backend{{Endpoint: "127.0.0.1:1"}}}}
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(gateway.New(tbl, gateway.Stages{}, log), log).Serve(ctx) }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var resp *http.Response
	for i := 0; i < 200; i++ { // wait for the listener to accept
		if resp, err = http.Get("http://" + addr + "/v1/models"); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Serve returned early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"small"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
