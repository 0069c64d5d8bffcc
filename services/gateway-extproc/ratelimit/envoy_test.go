package ratelimit

// The rate limit service below is a FAKE of Envoy's ratelimit service
// (envoyproxy/ratelimit cannot run here): a real grpc-go server on a real
// TCP port implementing envoy.service.ratelimit.v3.RateLimitService, whose
// answers each test scripts.

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

type fakeRLS struct {
	rlsv3.UnimplementedRateLimitServiceServer
	mu     sync.Mutex
	seen   []*rlsv3.RateLimitRequest
	answer func(context.Context, *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error)
}

func (f *fakeRLS) ShouldRateLimit(ctx context.Context, r *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
	f.mu.Lock()
	f.seen = append(f.seen, r)
	answer := f.answer
	f.mu.Unlock()
	return answer(ctx, r)
}

func (f *fakeRLS) requests() []*rlsv3.RateLimitRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*rlsv3.RateLimitRequest(nil), f.seen...)
}

// startFakeRLS serves f on a free loopback port and returns its address.
func startFakeRLS(t *testing.T, f *fakeRLS) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	rlsv3.RegisterRateLimitServiceServer(g, f)
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(ln) }()
	t.Cleanup(func() { g.Stop(); <-done })
	return ln.Addr().String()
}

// fakeLimit is a limit of the fake service on the descriptors whose keys
// are keys (e.g. "user" or "budget,user").
type fakeLimit struct {
	keys, name string
	perUnit    uint32
}

// limits answers like the real service would with these limits
// configured: hits (the descriptor's hits_addend when set, else the
// request's, else 1) add to a counter per descriptor; a descriptor over
// its limit is OVER_LIMIT, and so is the whole answer.
func limits(ls ...fakeLimit) func(context.Context, *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
	var mu sync.Mutex
	used := map[string]uint64{}
	return func(_ context.Context, r *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		resp := &rlsv3.RateLimitResponse{OverallCode: rlsv3.RateLimitResponse_OK}
		for _, d := range r.Descriptors {
			st := &rlsv3.RateLimitResponse_DescriptorStatus{Code: rlsv3.RateLimitResponse_OK}
			resp.Statuses = append(resp.Statuses, st)
			var keys, full []string
			for _, e := range d.Entries {
				keys = append(keys, e.Key)
				full = append(full, e.Key+"="+e.Value)
			}
			var lim *fakeLimit
			for i := range ls {
				if ls[i].keys == strings.Join(keys, ",") {
					lim = &ls[i]
				}
			}
			if lim == nil {
				continue
			}
			hits := uint64(max(r.HitsAddend, 1))
			if d.HitsAddend != nil {
				hits = d.HitsAddend.Value
			}
			k := strings.Join(full, ";")
			used[k] += hits
			st.CurrentLimit = &rlsv3.RateLimitResponse_RateLimit{Name: lim.name, RequestsPerUnit: lim.perUnit, Unit: rlsv3.RateLimitResponse_RateLimit_MINUTE}
			st.DurationUntilReset = durationpb.New(42 * time.Second)
			if used[k] > uint64(lim.perUnit) {
				st.Code = rlsv3.RateLimitResponse_OVER_LIMIT
				resp.OverallCode = rlsv3.RateLimitResponse_OVER_LIMIT
			} else {
				st.LimitRemaining = lim.perUnit - uint32(used[k])
			}
		}
		return resp, nil
	}
}

// limitAfter limits each user to n requests ("per-user-envoy").
func limitAfter(n uint32) func(context.Context, *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
	return limits(fakeLimit{keys: "user", name: "per-user-envoy", perUnit: n})
}

func TestEnvoyRateLimitAgainstFakeService(t *testing.T) {
	f := &fakeRLS{answer: limitAfter(2)}
	addr := startFakeRLS(t, f)
	var h Holder
	t.Cleanup(h.Close)
	l := h.For(1, &Settings{Envoy: []EnvoyProvider{{Address: addr, Domain: "api"}}}, nil)
	alice := Caller{User: "alice", Groups: []string{"premium-tier"}, Model: "m1", Requested: "auto"}
	ctx := t.Context()
	for i, wantRemaining := range []int64{1, 0} {
		r := l.Check(ctx, t0, &alice)
		if !r.Allowed || r.ProviderErr != nil {
			t.Fatalf("request %d refused: %+v", i, r)
		}
		if r.Requests.Limit != 2 || r.Requests.Remaining != wantRemaining || r.Requests.Reset != 42*time.Second {
			t.Errorf("request %d quota %+v", i, r.Requests)
		}
	}
	r := l.Check(ctx, t0, &alice)
	if r.Allowed || r.Rule != "per-user-envoy" || r.Provider != ProviderEnvoy || r.RetryAfter != 42*time.Second || r.Unavailable {
		t.Fatalf("third request: %+v", r)
	}
	bob := Caller{User: "bob", Model: "m1"}
	if r := l.Check(ctx, t0, &bob); !r.Allowed {
		t.Fatalf("bob limited by alice's budget: %+v", r)
	}
	// what the service was sent
	seen := f.requests()
	if len(seen) != 4 {
		t.Fatalf("%d calls", len(seen))
	}
	first := seen[0]
	if first.Domain != "api" || first.HitsAddend != 1 {
		t.Errorf("domain %q hits %d", first.Domain, first.HitsAddend)
	}
	var got []string
	for _, d := range first.Descriptors {
		s := ""
		for _, e := range d.Entries {
			s += e.Key + "=" + e.Value + ";"
		}
		got = append(got, s)
	}
	want := []string{"user=alice;", "user=alice;model=m1;", "model=m1;", "group=premium-tier;", "group=premium-tier;model=m1;",
		"budget=tokens;user=alice;", "budget=tokens;user=alice;model=m1;", "budget=tokens;model=m1;", "budget=tokens;group=premium-tier;", "budget=tokens;group=premium-tier;model=m1;"}
	if len(got) != len(want) {
		t.Fatalf("descriptors %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("descriptor %d = %q, want %q", i, got[i], want[i])
		}
		if tokens := i >= 5; tokens != (first.Descriptors[i].HitsAddend != nil) || (tokens && first.Descriptors[i].HitsAddend.Value != 0) {
			t.Errorf("descriptor %d hits_addend %v", i, first.Descriptors[i].HitsAddend)
		}
	}
}

// TestEnvoyTokenBudget: token limits live under ("budget", "tokens"); a
// check looks at them without spending, the response's tokens are
// reported afterwards, and a spent budget refuses the next request.
func TestEnvoyTokenBudget(t *testing.T) {
	f := &fakeRLS{answer: limits(fakeLimit{keys: "budget,user", name: "tokens-per-user", perUnit: 100})}
	addr := startFakeRLS(t, f)
	var h Holder
	t.Cleanup(h.Close)
	l := h.For(1, &Settings{Envoy: []EnvoyProvider{{Address: addr, Domain: "api"}}}, nil)
	c := Caller{User: "alice", Model: "m1"}
	r := l.Check(t.Context(), t0, &c)
	if !r.Allowed || !r.EnvoyDebit() || r.Tokens.Limit != 100 || r.Tokens.Remaining != 100 {
		t.Fatalf("first check: %+v", r)
	}
	if err := l.DebitEnvoy(t.Context(), &c, &r, 120); err != nil {
		t.Fatal(err)
	}
	seen := f.requests()
	debit := seen[len(seen)-1]
	if len(debit.Descriptors) != 3 || debit.Descriptors[0].HitsAddend.GetValue() != 120 || debit.Descriptors[0].Entries[0].Key != DescriptorBudget {
		t.Fatalf("debit request %v", debit)
	}
	r = l.Check(t.Context(), t0, &c)
	if r.Allowed || r.Budget != BudgetTokens || r.Rule != "tokens-per-user" || r.Tokens.Remaining != 0 {
		t.Fatalf("spent budget: %+v", r)
	}
	// a service without token limits gets no reports
	g := &fakeRLS{answer: limitAfter(5)}
	var h2 Holder
	t.Cleanup(h2.Close)
	l2 := h2.For(1, &Settings{Envoy: []EnvoyProvider{{Address: startFakeRLS(t, g), Domain: "api"}}}, nil)
	if r := l2.Check(t.Context(), t0, &c); !r.Allowed || r.EnvoyDebit() {
		t.Fatalf("no token limits, yet a debit: %+v", r)
	}
}

func TestEnvoyRefusalGivesBackLocalRequest(t *testing.T) {
	addr := startFakeRLS(t, &fakeRLS{answer: limitAfter(0)})
	var h Holder
	t.Cleanup(h.Close)
	l := h.For(1, &Settings{Rules: []Rule{{Name: "local", Requests: 1, Unit: time.Hour}},
		Envoy: []EnvoyProvider{{Address: addr, Domain: "api"}}}, nil)
	c := Caller{User: "u"}
	for i := range 3 {
		if r := l.Check(t.Context(), t0, &c); r.Allowed || r.Provider != ProviderEnvoy {
			t.Fatalf("check %d: %+v", i, r)
		}
	}
	if st := l.rules[0]; st.shard("u").m["u"].req > t0.UnixNano() {
		t.Error("local request not given back after the envoy refusal")
	}
}

func TestEnvoyFailOpen(t *testing.T) {
	failing := func(context.Context, *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
		return nil, status.Error(codes.Internal, "redis down")
	}
	hanging := func(ctx context.Context, _ *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
		<-ctx.Done() // answers only when the caller gives up
		return nil, ctx.Err()
	}
	unknown := func(context.Context, *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error) {
		return &rlsv3.RateLimitResponse{OverallCode: rlsv3.RateLimitResponse_UNKNOWN}, nil
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()
	for _, tc := range []struct {
		name   string
		answer func(context.Context, *rlsv3.RateLimitRequest) (*rlsv3.RateLimitResponse, error)
	}{
		{"service error", failing},
		{"timeout", hanging},
		{"unknown code", unknown},
		{"unreachable", nil},
	} {
		for _, failOpen := range []bool{true, false} {
			name := tc.name + "/fail_open=false"
			if failOpen {
				name = tc.name + "/fail_open=true"
			}
			t.Run(name, func(t *testing.T) {
				addr := deadAddr
				if tc.answer != nil {
					addr = startFakeRLS(t, &fakeRLS{answer: tc.answer})
				}
				var h Holder
				t.Cleanup(h.Close)
				l := h.For(1, &Settings{FailOpen: failOpen, Rules: []Rule{{Name: "local", Requests: 1, Unit: time.Hour}},
					Envoy: []EnvoyProvider{{Address: addr, Domain: "api"}}}, nil)
				ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
				defer cancel()
				c := Caller{User: "u"}
				r := l.Check(ctx, t0, &c)
				if r.ProviderErr == nil || r.Provider != ProviderEnvoy {
					t.Fatalf("provider error not reported: %+v", r)
				}
				if r.Allowed != failOpen || r.Unavailable == failOpen {
					t.Fatalf("fail_open %v: allowed %v unavailable %v", failOpen, r.Allowed, r.Unavailable)
				}
				// fail closed gives the local request back
				r = l.Check(ctx, t0, &c)
				if !failOpen && r.Rule == "local" {
					t.Errorf("local budget spent by a refused request")
				}
			})
		}
	}
}
