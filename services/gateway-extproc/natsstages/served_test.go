package natsstages_test

// Served-report delivery against the REAL cache service (memory backend)
// over a real in-process NATS server. The classifier is a FAKE (the real
// one needs its models). Time is injected: the gateway's clock and the
// retry delays (manualAfter) move only when the test says so.

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	cacheserver "github.com/semrouter/semrouter/services/cache/server"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/natsstages"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// testClock is a settable time source.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// manualAfter replaces time.After for the retry delays: every wait is
// announced on scheduled and ends when the test sends on fire.
type manualAfter struct {
	scheduled chan time.Duration
	fire      chan time.Time
}

func newManualAfter() *manualAfter {
	return &manualAfter{scheduled: make(chan time.Duration, 16), fire: make(chan time.Time)}
}

func (m *manualAfter) after(d time.Duration) <-chan time.Time {
	select {
	case m.scheduled <- d:
	default:
	}
	return m.fire
}

// signalHandler is a slog.Handler that also sends every record's message
// on msgs (the test waits for a background outcome that way).
type signalHandler struct {
	slog.Handler
	msgs chan string
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h signalHandler) Handle(ctx context.Context, r slog.Record) error {
	select {
	case h.msgs <- r.Message:
	default: // nobody waits for that many records
	}
	return h.Handler.Handle(ctx, r)
}

func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

// recv receives from ch, failing the test when nothing comes within 10s
// (a guard against a hang, not a synchronisation).
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	select {
	case v := <-ch:
		return v
	case <-timeout.C:
		t.Fatalf("no %s within 10s", what)
		panic("unreachable")
	}
}

// waitLog waits for a record whose message contains want.
func waitLog(t *testing.T, msgs <-chan string, want string) {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case m := <-msgs:
			if strings.Contains(m, want) {
				return
			}
		case <-timeout.C:
			t.Fatalf("no log record %q within 10s", want)
		}
	}
}

// reportCount is semrouter_gateway_cache_served_reports_total{outcome}.
func reportCount(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != metrics.GatewayServedReports {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabel(m, "outcome", outcome) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name && lp.GetValue() == value {
			return true
		}
	}
	return false
}

// reportStack is the gateway over a real cache service whose NATS
// responder the test can stop and start (serveCache), with an injected
// clock, manual retry delays, a metrics registry and a log it can wait on.
type reportStack struct {
	*specStack
	svc   *cacheserver.Service
	clock *testClock
	after *manualAfter
	reg   *prometheus.Registry
	logs  chan string
	buf   *bytes.Buffer
	// gate admits one classification per token (FAKE classifier).
	gate chan struct{}
}

func newReportStack(t *testing.T, policy gateway.ServedReportPolicy) *reportStack {
	t.Helper()
	nc := connectNATS(t)
	settings := cacheserver.DefaultSettings()
	svc, err := cacheserver.NewService(t.Context(), cacheserver.ServiceOptions{NATS: nc, Settings: &settings, NoStream: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	oc := &observedCache{Service: svc, arrived: make(chan struct{}), lookupSeen: make(chan struct{}, 16)}
	gate := make(chan struct{}, 16)
	kpath, kh := classifierv1connect.NewClassifierServiceHandler(gatedClassifier{decision: "business", model: "m-large", gate: gate})
	ksrv, err := natsrpc.Serve(nc, kpath, kh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ksrv.Close)
	c, err := natsstages.NewCache(nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	table, err := routes.Compile(speculativeSpec(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	gm, err := metrics.NewGateway(reg)
	if err != nil {
		t.Fatal(err)
	}
	clk := &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	after := newManualAfter()
	policy.After = after.after
	var buf bytes.Buffer
	logs := make(chan string, 256)
	log := slog.New(signalHandler{Handler: slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), msgs: logs})
	g := gateway.New(table, gateway.Stages{Classifier: natsstages.NewClassifier(nc, nil), Cache: c}, log,
		gateway.WithClock(clk.now), gateway.WithMetrics(gm), gateway.WithServedReports(policy))
	t.Cleanup(g.Wait)
	t.Cleanup(func() {
		// A test that stopped early: let pending retries expire.
		clk.advance(24 * time.Hour)
		close(after.fire)
	})
	return &reportStack{specStack: &specStack{g: g, cache: oc, store: c, nc: nc}, svc: svc, clock: clk, after: after,
		reg: reg, logs: logs, buf: &buf, gate: gate}
}

// serveCache starts a NATS responder for the cache service (as a cache
// replica coming up); stop it with Close.
func (s *reportStack) serveCache(t *testing.T) *natsrpc.Server {
	t.Helper()
	path, h := cachev1connect.NewCacheServiceHandler(s.cache)
	srv, err := natsrpc.Serve(s.nc, path, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// askThenStopCache sends one request whose speculative lookup srv
// answers; srv stops (its subscriptions gone from the NATS server) before
// the classifier answers, so the request's served report finds no
// responder. It returns the answer.
func (s *reportStack) askThenStopCache(t *testing.T, srv *natsrpc.Server) *gateway.Immediate {
	t.Helper()
	done := make(chan *gateway.Immediate, 1)
	go func() {
		x := s.g.NewExchange()
		x.RequestHeaders("POST", "/v1/chat/completions", func(string) string { return "" })
		imm, _ := x.RequestBody(context.Background(), []byte(specBody))
		done <- imm
	}()
	recv(t, s.cache.lookupSeen, "speculative lookup")
	srv.Close()
	if err := s.nc.Flush(); err != nil { // the server has dropped the subscriptions
		t.Fatal(err)
	}
	s.gate <- struct{}{}
	return recv(t, done, "answer")
}

// TestLostServedReportRetried: the cache's only responder goes away
// between the lookup and the served report, so the report's first
// attempt finds no responder; it waits in the retry buffer, and once the
// cache is back the retry delivers it: the cache counts the hit.
func TestLostServedReportRetried(t *testing.T) {
	s := newReportStack(t, gateway.ServedReportPolicy{RetryDelay: 500 * time.Millisecond, RetryWindow: 10 * time.Second})
	s.put(t, businessLarge)
	imm := s.askThenStopCache(t, s.serveCache(t))
	if imm == nil || string(imm.Body) != cachedCompletion {
		t.Fatalf("not answered from the cache: %v", imm)
	}
	if d := recv(t, s.after.scheduled, "retry of the lost report"); d != 500*time.Millisecond {
		t.Fatalf("first retry after %v, want 500ms", d)
	}
	if n := len(s.cache.served()); n != 0 {
		t.Fatalf("%d served reports reached the stopped cache", n)
	}
	// The cache comes back within the retry window.
	s.clock.advance(time.Second)
	s.serveCache(t)
	s.after.fire <- time.Time{}
	s.g.Wait()
	reports := s.cache.served()
	if len(reports) != 1 || !reports[0].GetHit() {
		t.Fatalf("served reports %v, want the one hit", reports)
	}
	if st, _, err := s.svc.BackendStats(t.Context()); err != nil || st.Hits != 1 {
		t.Fatalf("the cache counted %+v (%v), want the hit", st, err)
	}
	for outcome, want := range map[string]float64{metrics.ServedReportRetried: 1, metrics.ServedReportSent: 0,
		metrics.ServedReportDroppedFull: 0, metrics.ServedReportDroppedExpired: 0} {
		if got := reportCount(t, s.reg, outcome); got != want {
			t.Errorf("served reports %s = %v, want %v", outcome, got, want)
		}
	}
}

// TestServedReportRetryBufferFull: with room for one lost report, a
// second lost report is dropped and counted at once (no request waits);
// the first, never delivered within its window, is dropped and counted
// too.
func TestServedReportRetryBufferFull(t *testing.T) {
	s := newReportStack(t, gateway.ServedReportPolicy{RetryBuffer: 1, RetryDelay: 500 * time.Millisecond, RetryWindow: 10 * time.Second})
	s.put(t, businessLarge)
	s.askThenStopCache(t, s.serveCache(t))
	recv(t, s.after.scheduled, "retry of the lost report") // the first lost report waits for it
	s.askThenStopCache(t, s.serveCache(t))
	waitLog(t, s.logs, "the retry buffer is full")
	if got := reportCount(t, s.reg, metrics.ServedReportDroppedFull); got != 1 {
		t.Fatalf("served reports dropped_full = %v, want 1", got)
	}
	// The cache stays away past the first report's retry window.
	s.clock.advance(10 * time.Second)
	s.after.fire <- time.Time{}
	s.g.Wait()
	for outcome, want := range map[string]float64{metrics.ServedReportDroppedFull: 1, metrics.ServedReportDroppedExpired: 1,
		metrics.ServedReportRetried: 0, metrics.ServedReportSent: 0} {
		if got := reportCount(t, s.reg, outcome); got != want {
			t.Errorf("served reports %s = %v, want %v", outcome, got, want)
		}
	}
	if n := len(s.cache.served()); n != 0 {
		t.Fatalf("%d served reports reached the cache, want none", n)
	}
}

// TestServedReportsResumeAfterRefusal: a cache replica that predates
// served reports refuses them (Unimplemented) twice, then the upgraded
// one takes them. Reports pause after each refusal (15s, then 30s: the
// pause doubles), lookups meanwhile ask for none so that the cache counts
// them itself, and the probe after the pause finds reports flowing again,
// with no gateway restart.
func TestServedReportsResumeAfterRefusal(t *testing.T) {
	s := newReportStack(t, gateway.ServedReportPolicy{ProbeAfter: 15 * time.Second, MaxProbeAfter: time.Minute})
	s.serveCache(t)
	s.put(t, businessLarge)
	s.cache.refuse.Store(2)
	steps := []struct {
		name        string
		advance     time.Duration
		wantAsked   bool // the lookup asked for a served report
		wantReports int  // served reports that reached the cache so far
	}{
		{"first report refused", 0, true, 1},
		{"paused: the lookup counts itself", 14 * time.Second, false, 1},
		{"probe after 15s, refused again", time.Second, true, 2},
		{"paused twice as long", 29 * time.Second, false, 2},
		{"probe after 30s delivered", time.Second, true, 3},
		{"reports flow again", 0, true, 4},
		{"and keep flowing", time.Hour, true, 5},
	}
	for i, st := range steps {
		s.clock.advance(st.advance)
		s.gate <- struct{}{}
		_, imm, _ := s.ask(t)
		recv(t, s.cache.lookupSeen, "speculative lookup")
		s.g.Wait()
		if imm == nil || string(imm.Body) != cachedCompletion {
			t.Fatalf("%s: not answered from the cache: %v", st.name, imm)
		}
		seen := s.cache.lookups()
		if got := seen[len(seen)-1].GetReportServed(); got != st.wantAsked || len(seen) != i+1 {
			t.Fatalf("%s: lookup %d asked for a report: %v, want %v", st.name, len(seen), got, st.wantAsked)
		}
		if n := len(s.cache.served()); n != st.wantReports {
			t.Fatalf("%s: %d served reports reached the cache, want %d", st.name, n, st.wantReports)
		}
	}
	// Counted: the two lookups made while paused (by the cache), the
	// three delivered reports; the two refused reports' lookups asked for
	// a report that never came.
	if st, _, err := s.svc.BackendStats(t.Context()); err != nil || st.Hits != 5 {
		t.Fatalf("the cache counted %+v (%v), want 5 hits", st, err)
	}
	if got := reportCount(t, s.reg, metrics.ServedReportRefused); got != 2 {
		t.Errorf("served reports refused = %v, want 2", got)
	}
	if got := reportCount(t, s.reg, metrics.ServedReportSent); got != 3 {
		t.Errorf("served reports sent = %v, want 3", got)
	}
	logs := s.buf.String()
	if n := strings.Count(logs, "not sending them"); n != 2 {
		t.Errorf("logged %d pauses, want 2:\n%s", n, logs)
	}
	if n := strings.Count(logs, "takes served reports again"); n != 1 {
		t.Errorf("logged %d resumptions, want 1:\n%s", n, logs)
	}
}
