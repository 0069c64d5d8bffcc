package natsstages_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	"github.com/semrouter/semrouter/gen/semrouter/cache/v1/cachev1connect"
	classifierv1 "github.com/semrouter/semrouter/gen/semrouter/classifier/v1"
	"github.com/semrouter/semrouter/gen/semrouter/classifier/v1/classifierv1connect"
	"github.com/semrouter/semrouter/pkg/natsrpc"
	cacheserver "github.com/semrouter/semrouter/services/cache/server"
	"github.com/semrouter/semrouter/services/gateway-extproc/cachekey"
	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/natsstages"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// observedCache is the REAL cache service (memory backend, served over
// NATS) behind a wrapper that records every lookup and served report
// reaching it and closes arrived on the first lookup with alternatives.
// unsupported makes it answer lookups with alternatives Unimplemented (a
// service that predates them); noReports answers served reports
// Unimplemented (a service that predates those), refuse the next refuse
// reports only (a replica that predates them, then an upgraded one);
// stall makes every lookup wait for its deadline. lookupSeen, when set,
// receives a signal for every lookup with alternatives.
type observedCache struct {
	*cacheserver.Service
	unsupported, noReports, stall bool
	refuse                        atomic.Int32
	lookupSeen                    chan struct{}

	once    sync.Once
	arrived chan struct{}
	mu      sync.Mutex
	seen    []*cachev1.LookupRequest
	reports []*cachev1.ServedRequest
}

func (o *observedCache) Served(ctx context.Context, req *connect.Request[cachev1.ServedRequest]) (*connect.Response[cachev1.ServedResponse], error) {
	o.mu.Lock()
	o.reports = append(o.reports, req.Msg)
	o.mu.Unlock()
	if o.noReports || o.refuse.Add(-1) >= 0 {
		return nil, connect.NewError(connect.CodeUnimplemented, errors.New("served reports are not supported"))
	}
	return o.Service.Served(ctx, req)
}

func (o *observedCache) served() []*cachev1.ServedRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*cachev1.ServedRequest(nil), o.reports...)
}

var _ cachev1connect.CacheServiceHandler = (*observedCache)(nil)

func (o *observedCache) Lookup(ctx context.Context, req *connect.Request[cachev1.LookupRequest]) (*connect.Response[cachev1.LookupResponse], error) {
	o.mu.Lock()
	o.seen = append(o.seen, req.Msg)
	o.mu.Unlock()
	if len(req.Msg.GetAlternatives()) > 0 {
		o.once.Do(func() { close(o.arrived) })
		if o.lookupSeen != nil {
			o.lookupSeen <- struct{}{}
		}
	}
	switch {
	case o.stall:
		<-ctx.Done()
		return nil, connect.NewError(connect.CodeDeadlineExceeded, ctx.Err())
	case o.unsupported && len(req.Msg.GetAlternatives()) > 0:
		return nil, connect.NewError(connect.CodeUnimplemented, errors.New("alternatives are not supported"))
	}
	return o.Service.Lookup(ctx, req)
}

func (o *observedCache) lookups() []*cachev1.LookupRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*cachev1.LookupRequest(nil), o.seen...)
}

// gatedClassifier is a FAKE ClassifierService (the real one needs its
// models): it answers decision and model, and with gate set only once the
// cache has received the speculative lookup, which the sequential flow
// (cache after classifier) never sends: there it would time out.
type gatedClassifier struct {
	classifierv1connect.UnimplementedClassifierServiceHandler
	decision, model string
	gate            <-chan struct{}
}

func (c gatedClassifier) Classify(ctx context.Context, _ *connect.Request[classifierv1.ClassifyRequest]) (*connect.Response[classifierv1.ClassifyResponse], error) {
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return nil, connect.NewError(connect.CodeDeadlineExceeded, errors.New("the cache lookup did not arrive before the classifier deadline"))
		}
	}
	return connect.NewResponse(&classifierv1.ClassifyResponse{Evaluation: &classifierv1.Evaluation{
		Decision: &classifierv1.Decision{Name: c.decision}, Model: &classifierv1.SelectedModel{Name: c.model}}}), nil
}

const specBody = `{"model":"auto","messages":[{"role":"user","content":"how does churn change the forecast?"}]}`

const cachedCompletion = `{"id":"chatcmpl-cached","object":"chat.completion","created":1,"model":"m-large","choices":[{"index":0,"message":{"role":"assistant","content":"from the cache"},"finish_reason":"stop"}]}`

// speculativeSpec: business caches (exact, per decision) and may select
// m-small or m-large; shared caches globally with the default model;
// terse answers with a fast response; m-other is selectable by nobody.
func speculativeSpec(timeout time.Duration) routes.Spec {
	backend := []routes.Backend{{Name: "b", Endpoint: "127.0.0.1:1", Weight: 1}}
	exact := func(scope string) *routes.ResponseCachePlugin {
		return &routes.ResponseCachePlugin{Enabled: true, Mode: routes.CacheModeExact, Scope: scope, Revision: "e1", TTL: time.Hour}
	}
	return routes.Spec{
		Revision: "7", DefaultModel: "m-small", StageTimeout: timeout,
		Models: []routes.Model{{Name: "m-small", Backends: backend}, {Name: "m-large", Backends: backend}, {Name: "m-other", Backends: backend}},
		Decisions: []routes.Decision{
			{Name: "business", ModelRefs: []routes.ModelRef{{Model: "m-small"}, {Model: "m-large"}},
				Plugins: routes.Plugins{ResponseCache: exact(routes.CacheScopeDecision)}},
			{Name: "shared", Plugins: routes.Plugins{ResponseCache: exact(routes.CacheScopeGlobal)}},
			{Name: "terse", ModelRefs: []routes.ModelRef{{Model: "m-small"}},
				Plugins: routes.Plugins{FastResponse: &routes.FastResponsePlugin{Message: "short answer"}}},
		},
	}
}

type specStack struct {
	g     *gateway.Gateway
	cache *observedCache
	store *natsstages.Cache
	nc    *nats.Conn
}

// newSpecStack serves cache (around a fresh real cache service) and cls
// on a fresh NATS server; cls waits for the speculative lookup.
func newSpecStack(t *testing.T, timeout time.Duration, cls gatedClassifier, cache *observedCache) *specStack {
	t.Helper()
	nc := connectNATS(t)
	settings := cacheserver.DefaultSettings()
	svc, err := cacheserver.NewService(t.Context(), cacheserver.ServiceOptions{NATS: nc, Settings: &settings, NoStream: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	cache.Service, cache.arrived = svc, make(chan struct{})
	cls.gate = cache.arrived
	serveOn(t, nc, cache, cls)
	c, err := natsstages.NewCache(nc, nil)
	if err != nil {
		t.Fatal(err)
	}
	table, err := routes.Compile(speculativeSpec(timeout))
	if err != nil {
		t.Fatal(err)
	}
	g := gateway.New(table, gateway.Stages{Classifier: natsstages.NewClassifier(nc, nil), Cache: c}, slog.New(slog.DiscardHandler))
	return &specStack{g: g, cache: cache, store: c, nc: nc}
}

func serveOn(t *testing.T, nc *nats.Conn, cache *observedCache, cls gatedClassifier) {
	t.Helper()
	cpath, ch := cachev1connect.NewCacheServiceHandler(cache)
	csrv, err := natsrpc.Serve(nc, cpath, ch)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(csrv.Close)
	kpath, kh := classifierv1connect.NewClassifierServiceHandler(cls)
	ksrv, err := natsrpc.Serve(nc, kpath, kh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ksrv.Close)
}

// put stores the cached completion in the partition of decision and
// model; it returns the entry id.
func (s *specStack) put(t *testing.T, part gateway.CachePartition) string {
	t.Helper()
	keys, err := cachekey.Compute([]byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	req := s.store.StoreRequest(&gateway.CacheEntry{Decision: part.Decision, Model: part.Model, Partition: part, Keys: keys,
		Body: []byte(cachedCompletion), TTL: time.Hour})
	res, err := s.cache.Store(t.Context(), connect.NewRequest(req))
	if err != nil || !res.Msg.GetStored() {
		t.Fatalf("store: %v %v", res, err)
	}
	return res.Msg.GetEntryId()
}

func (s *specStack) ask(t *testing.T) (*gateway.Exchange, *gateway.Immediate, *gateway.Forward) {
	t.Helper()
	x := s.g.NewExchange()
	hdr := func(n string) string {
		if n == "x-vsr-debug" {
			return "true"
		}
		return ""
	}
	if kind, _ := x.RequestHeaders("POST", "/v1/chat/completions", hdr); kind != gateway.KindChat {
		t.Fatalf("kind %v", kind)
	}
	imm, fwd := x.RequestBody(t.Context(), []byte(specBody))
	return x, imm, fwd
}

func headers(h []gateway.Header) map[string]string {
	m := make(map[string]string, len(h))
	for _, kv := range h {
		m[kv.Name] = kv.Value
	}
	return m
}

var (
	businessSmall = gateway.CachePartition{Decision: "business", Model: "m-small", Scope: "decision", Revision: "e1"}
	businessLarge = gateway.CachePartition{Decision: "business", Model: "m-large", Scope: "decision", Revision: "e1"}
	businessOther = gateway.CachePartition{Decision: "business", Model: "m-other", Scope: "decision", Revision: "e1"}
	sharedSmall   = gateway.CachePartition{Model: "m-small", Scope: "global", Revision: "e1"}
)

func TestSpeculativeCacheLookup(t *testing.T) {
	cases := []struct {
		name        string
		timeout     time.Duration
		decision    string
		model       string
		unsupported bool // the cache answers alternatives Unimplemented
		stall       bool // every cache lookup waits for its deadline
		stored      []gateway.CachePartition
		wantLookups int    // lookups that reached the cache
		wantHit     bool   // answered from the cache
		wantPath    string // x-vsr-response-path
		wantDegrade string
		// wantReport is the served report the gateway sends ("hit",
		// "miss", "" for none); wantHits and wantMisses what the real
		// cache service counted for the request.
		wantReport           string
		wantHits, wantMisses int64
	}{
		{name: "lookup is issued before the classifier answers", timeout: 10 * time.Second, decision: "business", model: "m-small",
			wantLookups: 1, wantPath: "upstream", wantReport: "miss", wantMisses: 1},
		{name: "hit served from the speculative candidate", timeout: 10 * time.Second, decision: "business", model: "m-large",
			stored: []gateway.CachePartition{businessLarge}, wantLookups: 1, wantHit: true, wantPath: "cache", wantReport: "hit", wantHits: 1},
		{name: "global scope on the default model", timeout: 10 * time.Second, decision: "shared",
			stored: []gateway.CachePartition{sharedSmall}, wantLookups: 1, wantHit: true, wantPath: "cache", wantReport: "hit", wantHits: 1},
		{name: "another model's entry is not the selected one's", timeout: 10 * time.Second, decision: "business", model: "m-small",
			stored: []gateway.CachePartition{businessLarge}, wantLookups: 1, wantPath: "upstream", wantReport: "miss", wantMisses: 1},
		{name: "unanticipated model falls back to a sequential lookup", timeout: 10 * time.Second, decision: "business", model: "m-other",
			stored: []gateway.CachePartition{businessOther}, wantLookups: 2, wantHit: true, wantPath: "cache", wantHits: 1},
		{name: "cache without alternatives falls back", timeout: 10 * time.Second, decision: "business", model: "m-large",
			unsupported: true, stored: []gateway.CachePartition{businessLarge}, wantLookups: 2, wantHit: true, wantPath: "cache", wantHits: 1},
		{name: "fast response ignores a cache hit", timeout: 10 * time.Second, decision: "terse", model: "m-small",
			stored: []gateway.CachePartition{businessSmall, sharedSmall}, wantLookups: 1, wantPath: "fast_response"},
		{name: "cache timeout degrades, request still routed", timeout: 300 * time.Millisecond, decision: "business", model: "m-large",
			stall: true, wantLookups: 1, wantPath: "upstream", wantDegrade: "cache"},
		{name: "cache timeout unused by a decision without cache", timeout: 300 * time.Millisecond, decision: "terse", model: "m-small",
			stall: true, wantLookups: 1, wantPath: "fast_response"},
	}
	// In every case the classifier answers only once the speculative
	// lookup reached the cache: the sequential flow would time out.
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oc := &observedCache{unsupported: tc.unsupported, stall: tc.stall}
			s := newSpecStack(t, tc.timeout, gatedClassifier{decision: tc.decision, model: tc.model}, oc)
			ids := map[gateway.CachePartition]string{}
			for _, p := range tc.stored {
				ids[p] = s.put(t, p)
			}
			x, imm, fwd := s.ask(t)
			s.g.Wait() // the served report is sent in the background
			var h map[string]string
			switch {
			case imm != nil:
				h = headers(imm.Headers)
			case fwd != nil:
				h = headers(x.ResponseHeaders(200, "application/json"))
			}
			if got := h["x-vsr-response-path"]; got != tc.wantPath {
				t.Fatalf("response path %q, want %q (headers %v)", got, tc.wantPath, h)
			}
			if got := h["x-vsr-degraded"]; got != tc.wantDegrade {
				t.Errorf("x-vsr-degraded %q, want %q", got, tc.wantDegrade)
			}
			if got := h["x-vsr-cache-hit"] == "true"; got != tc.wantHit {
				t.Errorf("x-vsr-cache-hit %v, want %v", got, tc.wantHit)
			}
			if tc.wantHit {
				if string(imm.Body) != cachedCompletion || h["x-vsr-cache-similarity"] != "1.0000" || h["x-vsr-selected-decision"] != tc.decision {
					t.Errorf("cache answer %s with headers %v", imm.Body, h)
				}
			}
			if tc.wantPath == "upstream" && (fwd == nil || h["x-vsr-selected-decision"] != tc.decision) {
				t.Errorf("forward %v headers %v, want routed by %s", fwd, h, tc.decision)
			}
			seen := s.cache.lookups()
			if len(seen) != tc.wantLookups {
				t.Fatalf("%d lookups reached the cache, want %d", len(seen), tc.wantLookups)
			}
			for _, l := range seen {
				// The text travels so the cache applies its lexical guard.
				if l.GetQueryText() != "how does churn change the forecast?" {
					t.Fatalf("lookup query text %q", l.GetQueryText())
				}
			}
			alts := seen[0].GetAlternatives()
			if len(alts) != 3 {
				t.Fatalf("speculative lookup with %d alternatives, want business×{m-small,m-large} and shared×m-small: %v", len(alts), alts)
			}
			for i, p := range []gateway.CachePartition{businessSmall, businessLarge, sharedSmall} {
				if w := natsstages.Partition(p); alts[i].String() != w.String() {
					t.Errorf("alternative %d = %v, want %v", i, alts[i], w)
				}
			}
			if tc.wantLookups == 2 {
				if got := seen[1]; len(got.GetAlternatives()) != 0 || got.GetPartition().GetModel() != tc.model {
					t.Errorf("fallback lookup %v, want the single partition of %s", got, tc.model)
				}
			}
			if !seen[0].GetReportServed() {
				t.Error("the speculative lookup does not ask to be counted by a served report")
			}
			checkReport(t, s, tc.wantReport, ids)
			st, _, err := s.cache.BackendStats(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if st.Hits != tc.wantHits || st.Misses != tc.wantMisses {
				t.Errorf("the cache counted %d hits and %d misses, want %d and %d", st.Hits, st.Misses, tc.wantHits, tc.wantMisses)
			}
		})
	}
}

// checkReport checks the served reports that reached the cache: none, or
// one for the selected decision's partition (a hit naming the entry
// stored there, or a miss).
func checkReport(t *testing.T, s *specStack, want string, ids map[gateway.CachePartition]string) {
	t.Helper()
	reports := s.cache.served()
	if want == "" {
		if len(reports) != 0 {
			t.Fatalf("%d served reports, want none: %v", len(reports), reports)
		}
		return
	}
	if len(reports) != 1 {
		t.Fatalf("%d served reports, want one %s", len(reports), want)
	}
	r := reports[0]
	if got := map[bool]string{true: "hit", false: "miss"}[r.GetHit()]; got != want {
		t.Fatalf("served report %v, want a %s", r, want)
	}
	if want == "miss" {
		return
	}
	found := false
	for p, id := range ids {
		if natsstages.Partition(p).String() == r.GetPartition().String() {
			found = true
			if r.GetEntryId() != id || r.GetTier() != cachev1.CacheTier_CACHE_TIER_EXACT {
				t.Errorf("served report %v, want entry %s (exact)", r, id)
			}
		}
	}
	if !found {
		t.Errorf("served report for partition %v, stored in none such", r.GetPartition())
	}
}

// TestServedReportUnsupported: a cache service that answers served
// reports Unimplemented gets one, logged once at debug; the gateway then
// sends no more and its speculative lookups stop asking for them, so
// that the service counts them itself.
func TestServedReportUnsupported(t *testing.T) {
	oc := &observedCache{noReports: true}
	s := newSpecStack(t, 10*time.Second, gatedClassifier{decision: "business", model: "m-large"}, oc)
	var logs bytes.Buffer
	s.g = gateway.New(s.g.Routes(), gateway.Stages{Classifier: natsstages.NewClassifier(s.nc, nil), Cache: s.store},
		slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	s.put(t, businessLarge)
	for i := range 3 {
		_, imm, _ := s.ask(t)
		s.g.Wait()
		if imm == nil || string(imm.Body) != cachedCompletion {
			t.Fatalf("request %d not answered from the cache: %v", i, imm)
		}
	}
	if n := len(s.cache.served()); n != 1 {
		t.Fatalf("%d served reports reached the cache, want 1 (then none)", n)
	}
	seen := s.cache.lookups()
	if len(seen) != 3 || !seen[0].GetReportServed() || seen[1].GetReportServed() || seen[2].GetReportServed() {
		t.Fatalf("report_served of the lookups: %v, want true, false, false", seen)
	}
	// The first lookup waited for a report that was refused; the two
	// others were counted by the service.
	if st, _, err := s.cache.BackendStats(t.Context()); err != nil || st.Hits != 2 || st.Misses != 0 {
		t.Fatalf("the cache counted %+v (%v), want 2 hits", st, err)
	}
	if n := strings.Count(logs.String(), "not sending them"); n != 1 {
		t.Fatalf("logged %d times that the cache takes no reports, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "level=DEBUG") {
		t.Fatalf("want a debug record:\n%s", logs.String())
	}
}
