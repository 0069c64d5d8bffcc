package apimode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// ListenerError is one listener of the active revision that could not be
// bound. The revision's routes still apply; the listener keeps its previous
// server (Serving) when it had one.
type ListenerError struct {
	// Listener is the listeners[].name.
	Listener string
	// Addr is the address the revision asked for.
	Addr string
	// Serving is the address still serving this listener ("" when none).
	Serving string
	Err     error
}

func (e *ListenerError) Error() string {
	msg := fmt.Sprintf("listener %s: bind %s: %v", e.Listener, e.Addr, e.Err)
	if e.Serving != "" {
		msg += " (still serving on " + e.Serving + ")"
	}
	return msg
}

func (e *ListenerError) Unwrap() error { return e.Err }

// ErrNoListeners is Reconcile's answer to a revision without listeners
// while API mode serves some: the current servers keep serving (the
// revision's routes still apply), because a revision that would take the
// whole API off the air is almost always a mistake (an emptied file, a
// truncated document). Stop the process to stop serving.
var ErrNoListeners = errors.New("the revision has no listeners; the current api listeners keep serving")

// ListenerState is one listener of the active revision as API mode serves
// it.
type ListenerState struct {
	Name string
	// Addr is the bound address (nil when nothing serves this listener).
	Addr net.Addr
	// Err is why the revision's address is not bound (nil when it is).
	Err *ListenerError
}

// listener is one running HTTP server.
type listener struct {
	name string
	// addr is the address it was bound for (before port 0 resolves).
	addr    string
	ln      net.Listener
	srv     *http.Server
	timeout atomic.Int64 // per-request deadline in ns; applies to new requests
	retired atomic.Bool
}

// address is the address a listener binds: host:port from the config,
// mapped by WithAddress when set.
func (s *Server) address(l routes.Listener) string {
	addr := net.JoinHostPort(l.Address, strconv.Itoa(l.Port))
	if s.mapAddr != nil {
		addr = s.mapAddr(l.Name, addr)
	}
	return addr
}

func requestTimeout(d time.Duration) int64 {
	if d <= 0 {
		d = DefaultRequestTimeout
	}
	return int64(d)
}

// start binds l and serves it. A serve error of a listener that was not
// retired ends Serve.
func (s *Server) start(l routes.Listener) (*listener, error) {
	lst := &listener{name: l.Name, addr: s.address(l)}
	var err error
	if s.listen != nil {
		lst.ln, err = s.listen(l.Name, lst.addr)
	} else {
		lst.ln, err = net.Listen("tcp", lst.addr)
	}
	if err != nil {
		return nil, err
	}
	lst.timeout.Store(requestTimeout(l.Timeout))
	lst.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, IdleTimeout: s.idle,
		Handler: s.handler(func() time.Duration { return time.Duration(lst.timeout.Load()) })}
	s.log.Info("api mode listening", slog.String("listener", l.Name), slog.String("addr", lst.ln.Addr().String()))
	go func() {
		err := lst.srv.Serve(lst.ln)
		if lst.retired.Load() || errors.Is(err, http.ErrServerClosed) {
			return
		}
		select {
		case s.fatal <- fmt.Errorf("serve listener %s: %w", l.Name, err):
		default:
		}
	}()
	return lst, nil
}

// retire stops l accepting now (its port is free when retire returns) and
// drains its in-flight requests in the background: they finish, or are cut
// when the shutdown timeout passes.
func (s *Server) retire(l *listener) {
	l.retired.Store(true)
	_ = l.ln.Close()
	s.drains.Add(1)
	go func() {
		defer s.drains.Done()
		ctx, cancel := context.WithTimeout(context.Background(), s.shutdown)
		defer cancel()
		_ = l.srv.Shutdown(ctx) // reports the listener closed above; ctx tells a timeout
		if ctx.Err() != nil {
			s.log.Warn("api listener drain timed out; cutting its remaining connections",
				slog.String("listener", l.name), slog.String("addr", l.ln.Addr().String()))
			_ = l.srv.Close()
			return
		}
		s.log.Info("api listener drained", slog.String("listener", l.name), slog.String("addr", l.ln.Addr().String()))
	}()
}

// Reconcile makes the servers match the listeners of the gateway's active
// routes (call it after gateway.Swap). Listeners are matched by name:
// removed ones stop accepting at once and drain in the background; new ones
// are bound; one whose address changed is bound at the new address first
// and its old server retired only when that worked, else the old server
// keeps serving; unchanged ones are not touched, and their request timeout
// applies to new requests in place. A revision with no listeners at all
// leaves every server running and returns ErrNoListeners. Bind failures are returned as
// *ListenerError values (joined) and never stop the other listeners. Before
// Serve runs and after it returned, Reconcile does nothing.
func (s *Server) Reconcile() error {
	s.health.prune(s.gw.Routes())
	s.mu.Lock()
	if !s.serving {
		s.mu.Unlock()
		return nil
	}
	want := s.gw.Routes().Listeners
	if len(want) == 0 && len(s.active) > 0 {
		names := make([]string, 0, len(s.active))
		for name := range s.active {
			names = append(names, name)
		}
		slices.Sort(names)
		s.mu.Unlock()
		s.log.Error("config revision has no api listeners; keeping the current ones",
			slog.String("serving", strings.Join(names, ",")))
		return ErrNoListeners
	}
	// Retire removed listeners first, so that a listener renamed on the
	// same address can bind it.
	for name, l := range s.active {
		if !slices.ContainsFunc(want, func(w routes.Listener) bool { return w.Name == name }) {
			delete(s.active, name)
			s.log.Info("api listener removed; draining", slog.String("listener", name), slog.String("addr", l.ln.Addr().String()))
			s.retire(l)
		}
	}
	var bound []*listener
	var errs []error
	failed := map[string]*ListenerError{}
	for _, w := range want {
		addr := s.address(w)
		cur, ok := s.active[w.Name]
		if ok && cur.addr == addr {
			cur.timeout.Store(requestTimeout(w.Timeout))
			continue
		}
		l, err := s.start(w)
		if err != nil {
			le := &ListenerError{Listener: w.Name, Addr: addr, Err: err}
			if ok {
				le.Serving = cur.ln.Addr().String()
				cur.timeout.Store(requestTimeout(w.Timeout))
			}
			s.log.Error("api listener not applied", slog.String("listener", w.Name), slog.String("addr", addr),
				slog.String("serving", le.Serving), slog.String("error", err.Error()))
			failed[w.Name] = le
			errs = append(errs, le)
			continue
		}
		if ok {
			s.log.Info("api listener moved; draining the old address", slog.String("listener", w.Name),
				slog.String("from", cur.ln.Addr().String()), slog.String("to", l.ln.Addr().String()))
			s.retire(cur)
		}
		s.active[w.Name] = l
		bound = append(bound, l)
	}
	s.failed = failed
	s.mu.Unlock()
	s.announce(bound)
	return errors.Join(errs...)
}

// announce calls the OnListen callback for newly bound listeners.
func (s *Server) announce(ls []*listener) {
	if s.onListen == nil {
		return
	}
	for _, l := range ls {
		s.onListen(l.name, l.ln.Addr())
	}
}

// Listeners reports each listener of the active revision: its bound
// address and, when the revision's address could not be bound, why.
func (s *Server) Listeners() []ListenerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ListenerState, 0, len(s.active)+len(s.failed))
	for name, l := range s.active {
		out = append(out, ListenerState{Name: name, Addr: l.ln.Addr(), Err: s.failed[name]})
	}
	for name, e := range s.failed {
		if _, ok := s.active[name]; !ok {
			out = append(out, ListenerState{Name: name, Err: e})
		}
	}
	slices.SortFunc(out, func(a, b ListenerState) int { return strings.Compare(a.Name, b.Name) })
	return out
}
