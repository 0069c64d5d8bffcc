package apimode

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// served is an API-mode Server running over a gateway whose routes a test
// swaps, with the listeners it announced.
type served struct {
	gw   *gateway.Gateway
	srv  *Server
	spec routes.Spec
	done chan error

	mu    sync.Mutex
	bound map[string]string
	ready chan struct{}
}

// reserveAddr binds a free loopback port and returns the listener for the
// test to hand over (WithListen) or to hold.
func reserveAddr(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// apiListener is a listeners[] entry for a loopback address.
func apiListener(t *testing.T, name, addr string, timeout time.Duration) routes.Listener {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return routes.Listener{Name: name, Address: host, Port: p, Timeout: timeout}
}

// serveListeners starts Serve over spec; handed are sockets the test
// bound, given to the server for their addresses (other addresses are bound
// for real).
func serveListeners(t *testing.T, spec routes.Spec, drain time.Duration, handed ...net.Listener) *served {
	t.Helper()
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	s := &served{spec: spec, done: make(chan error, 1), bound: map[string]string{}, ready: make(chan struct{})}
	s.gw = gateway.New(tbl, gateway.Stages{}, log)
	var handMu sync.Mutex
	byAddr := map[string]net.Listener{}
	for _, ln := range handed {
		byAddr[ln.Addr().String()] = ln
	}
	var once sync.Once
	s.srv = New(s.gw, log, WithShutdownTimeout(drain), WithRandom(func(int) int { return 0 }),
		WithListen(func(_, addr string) (net.Listener, error) {
			handMu.Lock()
			defer handMu.Unlock()
			if ln, ok := byAddr[addr]; ok {
				delete(byAddr, addr)
				return ln, nil
			}
			return net.Listen("tcp", addr)
		}),
		WithOnListen(func(name string, a net.Addr) {
			s.mu.Lock()
			s.bound[name] = a.String()
			s.mu.Unlock()
			once.Do(func() { close(s.ready) })
		}))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { s.done <- s.srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	select {
	case <-s.ready:
	case err := <-s.done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve never listened")
	}
	return s
}

// swap swaps in the listeners and reconciles.
func (s *served) swap(t *testing.T, ls ...routes.Listener) error {
	t.Helper()
	spec := s.spec
	spec.Listeners = ls
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	s.gw.Swap(tbl)
	return s.srv.Reconcile()
}

func listenerSpec(t *testing.T, mode string) routes.Spec {
	t.Helper()
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", Backends: []routes.Backend{backend("s", newFakeLLM(t, "small", mode))}}}
	return spec
}

func get(t *testing.T, addr string) int {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/v1/models")
	if err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRemovedListenerStreamCutAtDrainDeadline(t *testing.T) {
	keep, gone := reserveAddr(t), reserveAddr(t)
	spec := listenerSpec(t, "hold") // FAKE LLM: one chunk, then it never ends
	spec.Listeners = []routes.Listener{apiListener(t, "keep", keep.Addr().String(), 0), apiListener(t, "gone", gone.Addr().String(), 0)}
	s := serveListeners(t, spec, 100*time.Millisecond, keep, gone)

	req, err := http.NewRequest(http.MethodPost, "http://"+gone.Addr().String()+"/v1/chat/completions",
		strings.NewReader(`{"model":"small","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	if line, err := rd.ReadString('\n'); err != nil || !strings.Contains(line, `"first"`) {
		t.Fatalf("first chunk %q %v", line, err)
	}

	if err := s.swap(t, apiListener(t, "keep", keep.Addr().String(), 0)); err != nil {
		t.Fatal(err)
	}
	// The stream never ends by itself: only the drain deadline ends it, and
	// the client sees it cut (no [DONE]).
	rest, err := io.ReadAll(rd)
	if err == nil || strings.Contains(string(rest), "[DONE]") {
		t.Fatalf("stream after the drain deadline: %q %v", rest, err)
	}
	if code := get(t, keep.Addr().String()); code != http.StatusOK {
		t.Fatalf("kept listener answered %d", code)
	}
}

func TestReconcileListeners(t *testing.T) {
	a, b := reserveAddr(t), reserveAddr(t)
	held := reserveAddr(t) // never handed over: binding it fails
	aAddr, bAddr, heldAddr := a.Addr().String(), b.Addr().String(), held.Addr().String()
	spec := listenerSpec(t, "ok")
	spec.Listeners = []routes.Listener{apiListener(t, "a", aAddr, 0)}
	s := serveListeners(t, spec, time.Second, a, b)

	// A new listener that cannot bind is reported and nothing serves it;
	// the others keep serving.
	err := s.swap(t, apiListener(t, "a", aAddr, 0), apiListener(t, "c", heldAddr, 0))
	var le *ListenerError
	if !errors.As(err, &le) || le.Listener != "c" || le.Addr != heldAddr || le.Serving != "" {
		t.Fatalf("error %v", err)
	}
	states := s.srv.Listeners()
	if len(states) != 2 || states[0].Name != "a" || states[0].Addr.String() != aAddr || states[0].Err != nil ||
		states[1].Name != "c" || states[1].Addr != nil || states[1].Err == nil {
		t.Fatalf("states %+v", states)
	}
	if code := get(t, aAddr); code != http.StatusOK {
		t.Fatalf("a answered %d", code)
	}

	// Renaming a listener on the same address works: the removed name
	// frees the address before the new name binds it.
	if err := s.swap(t, apiListener(t, "renamed", aAddr, 0)); err != nil {
		t.Fatal(err)
	}
	if code := get(t, aAddr); code != http.StatusOK {
		t.Fatalf("renamed answered %d", code)
	}
	s.mu.Lock()
	renamed := s.bound["renamed"]
	s.mu.Unlock()
	if renamed != aAddr {
		t.Fatalf("OnListen for renamed: %q", renamed)
	}
	states = s.srv.Listeners()
	if len(states) != 1 || states[0].Name != "renamed" || states[0].Err != nil {
		t.Fatalf("states %+v", states)
	}

	// A revision without any listener (an emptied file, say) would take
	// the API off the air: the current server keeps serving and the
	// revision is reported; a later revision with listeners applies.
	if err := s.swap(t); !errors.Is(err, ErrNoListeners) {
		t.Fatalf("emptied listeners: error %v, want ErrNoListeners", err)
	}
	if got := s.srv.Listeners(); len(got) != 1 || got[0].Name != "renamed" || got[0].Addr.String() != aAddr {
		t.Fatalf("states after an emptied revision %+v", got)
	}
	if code := get(t, aAddr); code != http.StatusOK {
		t.Fatalf("renamed answered %d after an emptied revision", code)
	}
	if err := s.swap(t, apiListener(t, "b", bAddr, 0)); err != nil {
		t.Fatal(err)
	}
	if code := get(t, bAddr); code != http.StatusOK {
		t.Fatalf("b answered %d", code)
	}
	if got := s.srv.Listeners(); len(got) != 1 || got[0].Name != "b" {
		t.Fatalf("states %+v", got)
	}
	select {
	case err := <-s.done:
		t.Fatalf("Serve returned: %v", err)
	default:
	}
}

func TestReconcileOutsideServe(t *testing.T) {
	a := reserveAddr(t)
	spec := listenerSpec(t, "ok")
	spec.Listeners = []routes.Listener{apiListener(t, "a", a.Addr().String(), 0)}
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	binds := 0 // Reconcile and Serve run on this goroutine
	srv := New(gateway.New(tbl, gateway.Stages{}, log), log, WithListen(func(string, string) (net.Listener, error) {
		binds++
		return nil, errors.New("port taken")
	}))
	if err := srv.Reconcile(); err != nil || len(srv.Listeners()) != 0 || binds != 0 {
		t.Fatalf("before Serve: %v %v, %d binds", err, srv.Listeners(), binds)
	}
	// The first revision's listeners are all or nothing.
	if err := srv.Serve(context.Background()); err == nil || !strings.Contains(err.Error(), "port taken") || binds != 1 {
		t.Fatalf("Serve: %v, %d binds", err, binds)
	}
	if err := srv.Serve(context.Background()); err == nil || !strings.Contains(err.Error(), "already started") {
		t.Fatalf("second Serve: %v", err)
	}
	if err := srv.Reconcile(); err != nil || binds != 1 {
		t.Fatalf("after Serve: %v, %d binds", err, binds)
	}
}
