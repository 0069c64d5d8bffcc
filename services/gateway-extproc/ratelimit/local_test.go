package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// t0 is the injected clock's start; tests move time by adding to it.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newLimiter(t *testing.T, s Settings) *Limiter {
	t.Helper()
	var h Holder
	l := h.For(1, &s, nil)
	if l == nil {
		t.Fatal("no limiter for enabled settings")
	}
	return l
}

// step is one request of a scenario: at offset, from caller, expecting
// allowed (and, when set, the refusing rule and the remaining requests).
type step struct {
	at        time.Duration
	caller    Caller
	allowed   bool
	rule      string
	remaining int64 // checked when allowed and >= 0
	debit     int64 // tokens debited after an allowed request
}

func TestLocalLimiterScenarios(t *testing.T) {
	alice := Caller{User: "alice", Groups: []string{"premium-tier"}, Model: "m1", Requested: "auto"}
	bob := Caller{User: "bob", Groups: []string{"premium-tier"}, Model: "m1", Requested: "auto"}
	carol := Caller{User: "carol", Groups: []string{"free"}, Model: "m2", ModelID: "vendor/m2", Requested: "m2"}
	anon := Caller{Model: "m1"}
	aliceM2 := Caller{User: "alice", Model: "m2"}
	cases := []struct {
		name  string
		rules []Rule
		steps []step
	}{
		{"requests: the Nth+1 is refused, a unit later allowed again",
			[]Rule{{Name: "rpm", Requests: 3, Unit: time.Minute}},
			[]step{{0, alice, true, "", 2, 0}, {0, alice, true, "", 1, 0}, {0, alice, true, "", 0, 0},
				{0, alice, false, "rpm", -1, 0}, {time.Minute, alice, true, "", -1, 0}}},
		{"sliding: budget refills continuously, no burst at a window edge",
			[]Rule{{Name: "rps", Requests: 2, Unit: time.Second}},
			[]step{{0, alice, true, "", 1, 0}, {0, alice, true, "", 0, 0}, {400 * time.Millisecond, alice, false, "rps", -1, 0},
				{500 * time.Millisecond, alice, true, "", 0, 0}, {900 * time.Millisecond, alice, false, "rps", -1, 0},
				{time.Second, alice, true, "", 0, 0}, {1100 * time.Millisecond, alice, false, "rps", -1, 0}}},
		{"per user: each user of a group has its own budget",
			[]Rule{{Name: "premium", Group: "premium-tier", Requests: 1, Unit: time.Hour}},
			[]step{{0, alice, true, "", 0, 0}, {0, alice, false, "premium", -1, 0}, {0, bob, true, "", 0, 0},
				{0, carol, true, "", -1, 0}, {0, carol, true, "", -1, 0}}},
		{"user match: only that user",
			[]Rule{{Name: "demo", User: "alice", Requests: 1, Unit: time.Hour}},
			[]step{{0, alice, true, "", 0, 0}, {0, alice, false, "demo", -1, 0}, {0, bob, true, "", -1, 0}, {0, anon, true, "", -1, 0}}},
		{"model match: selected name, provider id or requested name",
			[]Rule{{Name: "m2-by-id", Model: "vendor/m2", Requests: 1, Unit: time.Hour},
				{Name: "auto", Model: "auto", Requests: 1, Unit: time.Hour}},
			[]step{{0, carol, true, "", 0, 0}, {0, carol, false, "m2-by-id", -1, 0}, {0, alice, true, "", 0, 0},
				{0, alice, false, "auto", -1, 0}}},
		{"anonymous callers share one budget per rule",
			[]Rule{{Name: "all", Requests: 1, Unit: time.Hour}},
			[]step{{0, anon, true, "", 0, 0}, {0, Caller{Model: "m2"}, false, "all", -1, 0}, {0, alice, true, "", 0, 0}}},
		{"tokens: refused once the budget is spent, allowed when it refills",
			[]Rule{{Name: "tpm", Tokens: 100, Unit: time.Minute}},
			[]step{{0, alice, true, "", -1, 60}, {0, alice, true, "", -1, 60}, {0, alice, false, "tpm", -1, 0},
				{0, bob, true, "", -1, 0}, {12 * time.Second, alice, false, "tpm", -1, 0},
				{13 * time.Second, alice, true, "", -1, 0}}},
		{"a refusal by one rule gives back the others' requests",
			[]Rule{{Name: "wide", Requests: 2, Unit: time.Hour}, {Name: "narrow", Model: "m1", Requests: 1, Unit: time.Hour}},
			[]step{{0, alice, true, "", 0, 0}, {0, alice, false, "narrow", -1, 0}, {0, aliceM2, true, "", 0, 0},
				{0, aliceM2, false, "wide", -1, 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(t, Settings{Rules: tc.rules})
			for i, s := range tc.steps {
				c := s.caller
				r := l.Check(context.Background(), t0.Add(s.at), &c)
				if r.Allowed != s.allowed {
					t.Fatalf("step %d (%s at %v): allowed %v, want %v (%+v)", i, c.User, s.at, r.Allowed, s.allowed, r)
				}
				if !r.Allowed {
					if r.Rule != s.rule || r.Provider != ProviderLocal || r.RetryAfter <= 0 {
						t.Fatalf("step %d: refused by %q/%q retry %v, want rule %q", i, r.Rule, r.Provider, r.RetryAfter, s.rule)
					}
					continue
				}
				if s.remaining >= 0 && r.Requests.Remaining != s.remaining {
					t.Fatalf("step %d: remaining %d, want %d (%+v)", i, r.Requests.Remaining, s.remaining, r.Requests)
				}
				l.Debit(t0.Add(s.at), &c, s.debit)
			}
		})
	}
}

func TestRetryAfterAndQuota(t *testing.T) {
	l := newLimiter(t, Settings{Rules: []Rule{{Name: "r", Requests: 2, Tokens: 1000, Unit: time.Minute}}})
	c := Caller{User: "u"}
	for range 2 {
		if r := l.Check(context.Background(), t0, &c); !r.Allowed {
			t.Fatal("refused early")
		}
	}
	r := l.Check(context.Background(), t0, &c)
	if r.Allowed || r.Budget != BudgetRequests {
		t.Fatalf("%+v", r)
	}
	if r.RetryAfter != 30*time.Second {
		t.Errorf("retry after %v, want 30s (one request refills every 30s)", r.RetryAfter)
	}
	if r.Requests.Limit != 2 || r.Requests.Remaining != 0 || r.Requests.Reset != time.Minute {
		t.Errorf("requests quota %+v", r.Requests)
	}
	if r.Tokens.Limit != 1000 || r.Tokens.Remaining != 1000 {
		t.Errorf("tokens quota %+v", r.Tokens)
	}
	// token debt: 2500 tokens on a 1000/min budget waits off the debt.
	l.Debit(t0, &c, 2500)
	r = l.Check(context.Background(), t0.Add(90*time.Second), &c)
	if r.Allowed || r.Budget != BudgetTokens {
		t.Fatalf("in token debt: %+v", r)
	}
	if want := 60 * time.Millisecond; r.RetryAfter != want {
		t.Errorf("token retry %v, want %v", r.RetryAfter, want)
	}
	if r = l.Check(context.Background(), t0.Add(91*time.Second), &c); !r.Allowed || r.Tokens.Remaining != 16 {
		t.Errorf("after the debt: %+v", r)
	}
}

func TestDebtIsCapped(t *testing.T) {
	l := newLimiter(t, Settings{Rules: []Rule{{Name: "r", Tokens: 1, Unit: 24 * time.Hour}}})
	c := Caller{User: "u"}
	l.Debit(t0, &c, 1<<62) // no overflow
	r := l.Check(context.Background(), t0, &c)
	if r.Allowed {
		t.Fatal("allowed in debt")
	}
	if max := maxDebtUnits * 24 * time.Hour; r.RetryAfter > max || r.RetryAfter < max-24*time.Hour {
		t.Errorf("retry %v, want about %v", r.RetryAfter, max-24*time.Hour)
	}
}

func TestBoundedKeys(t *testing.T) {
	var h Holder
	h.MaxKeys = 64
	s := Settings{Rules: []Rule{{Name: "r", Requests: 1, Unit: time.Minute}}}
	l := h.For(1, &s, nil)
	for i := range 1000 {
		c := Caller{User: fmt.Sprintf("user-%d", i)}
		if r := l.Check(context.Background(), t0, &c); !r.Allowed {
			t.Fatalf("user %d refused on a fresh budget", i)
		}
	}
	if n := l.rules[0].keys(); n > 64 {
		t.Errorf("%d buckets kept, bound is 64", n)
	}
	// once idle (a unit later), a shard's old buckets are swept as its
	// callers come back: only the returning caller keeps one
	later := t0.Add(2 * time.Minute)
	st := l.rules[0]
	sh := st.shard("again")
	for range 2 * sweepEvery {
		c := Caller{User: "again"}
		l.Check(context.Background(), later, &c)
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m["again"]; !ok || len(sh.m) != 1 {
		t.Errorf("shard keeps %d buckets after the idle sweep, want only the returning caller's", len(sh.m))
	}
}

func TestHolderReload(t *testing.T) {
	var h Holder
	keep := Rule{Name: "keep", Requests: 1, Unit: time.Hour}
	change := Rule{Name: "change", Model: "m1", Requests: 1, Unit: time.Hour}
	s1 := Settings{Rules: []Rule{keep, change}}
	l1 := h.For(1, &s1, nil)
	a := Caller{User: "a", Model: "m1"}
	if !l1.Check(context.Background(), t0, &a).Allowed {
		t.Fatal("first request refused")
	}
	if h.For(1, &s1, nil) != l1 {
		t.Fatal("same settings built a new limiter")
	}
	changed := change
	changed.Requests = 5
	s2 := Settings{Rules: []Rule{keep, changed}}
	l2 := h.For(2, &s2, nil)
	if l2 == l1 || l2.rules[0] != l1.rules[0] || l2.rules[1] == l1.rules[1] {
		t.Fatal("unchanged rule not kept, or changed rule kept")
	}
	if r := l2.Check(context.Background(), t0, &a); r.Allowed || r.Rule != "keep" {
		t.Fatalf("kept rule forgot its budget: %+v", r)
	}
	if h.For(1, &s1, nil) != l2 {
		t.Error("an older revision replaced the newer limiter")
	}
	if h.For(3, nil, nil) != nil {
		t.Error("a revision without limits still limits")
	}
	var empty Holder
	if empty.For(1, nil, nil) != nil || empty.For(1, &Settings{}, nil) != nil {
		t.Error("nothing configured, yet a limiter")
	}
}

func TestFromConfigMapping(t *testing.T) {
	// See config_test.go for the config-document cases.
	r := Rule{Name: "x", Group: "g", Requests: 1, Unit: time.Second}
	c := Caller{User: "u", Groups: []string{"a", "g"}}
	if !r.matches(&c) {
		t.Error("group among several not matched")
	}
	c.Groups = nil
	if r.matches(&c) {
		t.Error("caller without groups matched a group rule")
	}
}
