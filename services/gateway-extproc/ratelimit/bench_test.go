package ratelimit

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkLocalCheck is the hot-path cost of the local limiter: the
// reference config's two rules, one matching, for a known caller.
func BenchmarkLocalCheck(b *testing.B) {
	var h Holder
	l := h.For(1, &Settings{Rules: []Rule{
		{Name: "premium-per-minute", Group: "premium-tier", Model: "qwen3-32b", Requests: 1 << 40, Tokens: 300000, Unit: time.Minute},
		{Name: "user-per-hour", User: "demo-user", Requests: 1000, Tokens: 2000000, Unit: time.Hour},
	}}, nil)
	c := Caller{User: "alice", Groups: []string{"premium-tier"}, Model: "qwen3-32b", Requested: "auto"}
	ctx := context.Background()
	b.ReportAllocs()
	now := t0
	for b.Loop() {
		now = now.Add(time.Microsecond)
		if !l.Check(ctx, now, &c).Allowed {
			b.Fatal("refused")
		}
	}
}

// BenchmarkLocalCheckParallel spreads 1024 callers over the shards.
func BenchmarkLocalCheckParallel(b *testing.B) {
	var h Holder
	l := h.For(1, &Settings{Rules: []Rule{{Name: "per-user", Requests: 1 << 40, Tokens: 1 << 40, Unit: time.Minute}}}, nil)
	callers := make([]Caller, 1024)
	for i := range callers {
		callers[i] = Caller{User: "user-" + strconv.Itoa(i), Model: "m1"}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			l.Check(ctx, t0, &callers[i%len(callers)])
		}
	})
}

// BenchmarkDebit is the response-path cost of a token debit.
func BenchmarkDebit(b *testing.B) {
	var h Holder
	l := h.For(1, &Settings{Rules: []Rule{{Name: "tpm", Tokens: 1 << 40, Unit: time.Minute}}}, nil)
	c := Caller{User: "alice"}
	b.ReportAllocs()
	for b.Loop() {
		l.Debit(t0, &c, 100)
	}
}

// BenchmarkLocalCheckFlood is a flood of distinct callers against a full
// key bound: every check adds a bucket and evicts one.
func BenchmarkLocalCheckFlood(b *testing.B) {
	h := Holder{MaxKeys: 1024}
	l := h.For(1, &Settings{Rules: []Rule{{Name: "per-user", Requests: 10, Unit: time.Hour}}}, nil)
	callers := make([]Caller, 1<<16)
	for i := range callers {
		callers[i] = Caller{User: "user-" + strconv.Itoa(i)}
	}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		l.Check(ctx, t0, &callers[i%len(callers)])
	}
	if n := l.rules[0].keys(); n > 1024 {
		b.Fatalf("%d keys over the bound", n)
	}
}
