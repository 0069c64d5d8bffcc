package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Result is a Limiter's answer for one request.
type Result struct {
	// Allowed: the request may go upstream.
	Allowed bool
	// Unavailable: refused because a provider failed and fail_open is
	// false (the client gets 503, not 429).
	Unavailable bool
	// Rule names the rule that refused the request (envoy-ratelimit: the
	// limit's name, or "envoy-ratelimit/<domain>").
	Rule string
	// Provider is the provider that refused the request, or that failed.
	Provider string
	// Budget is the budget that refused (BudgetRequests, BudgetTokens).
	Budget string
	// RetryAfter is when the refused request may succeed.
	RetryAfter time.Duration
	// Requests and Tokens are the tightest budgets that applied.
	Requests, Tokens Quota
	// ProviderErr is the failure of a provider (nil: none).
	ProviderErr error
	// envoyTokens marks (bit i) the envoy-ratelimit providers that have
	// a token limit for the caller: DebitEnvoy reports to them.
	envoyTokens uint64
}

// EnvoyDebit reports whether DebitEnvoy has tokens to report for r.
func (r *Result) EnvoyDebit() bool { return r.envoyTokens != 0 }

// Limiter checks requests against one config revision's settings. It is
// safe for concurrent use; build it with a Holder.
type Limiter struct {
	settings *Settings
	rules    []*ruleState
	envoy    []*envoyClient
}

// Settings returns the settings the limiter enforces.
func (l *Limiter) Settings() *Settings { return l.settings }

// Local reports whether the limiter has local rules (Debit has work).
func (l *Limiter) Local() bool { return l != nil && len(l.rules) > 0 }

// maxInline is how many matched rules Check tracks without allocating.
const maxInline = 8

// Check decides whether one more request of c may go upstream at now:
// the local rules first (one request of every matching rule is taken,
// and given back when another rule or provider refuses), then each
// envoy-ratelimit provider under ctx (its deadline bounds the call).
func (l *Limiter) Check(ctx context.Context, now time.Time, c *Caller) Result {
	res := Result{Allowed: true}
	if l == nil {
		return res
	}
	ns := now.UnixNano()
	var inline [maxInline]*ruleState
	taken := inline[:0]
	for _, st := range l.rules {
		if !st.rule.matches(c) {
			continue
		}
		v := st.take(c.User, ns)
		if !v.ok {
			l.refund(taken, c.User)
			return Result{Rule: st.rule.Name, Provider: ProviderLocal, Budget: v.budget, RetryAfter: v.retry, Requests: v.requests, Tokens: v.tokens}
		}
		taken = append(taken, st)
		res.Requests, res.Tokens = tighter(v.requests, res.Requests), tighter(v.tokens, res.Tokens)
	}
	for i, e := range l.envoy {
		v, err := e.check(ctx, c)
		if err != nil {
			res.ProviderErr, res.Provider = err, ProviderEnvoy
			if l.settings.FailOpen {
				continue
			}
			l.refund(taken, c.User)
			return Result{Unavailable: true, Provider: ProviderEnvoy, RetryAfter: time.Second, ProviderErr: err}
		}
		if !v.ok {
			l.refund(taken, c.User)
			return Result{Rule: v.rule, Provider: ProviderEnvoy, Budget: v.budget, RetryAfter: v.retry,
				Requests: tighter(v.requests, res.Requests), Tokens: tighter(v.tokens, res.Tokens)}
		}
		res.Requests, res.Tokens = tighter(v.requests, res.Requests), tighter(v.tokens, res.Tokens)
		if v.tokenLimits && i < 64 {
			res.envoyTokens |= 1 << i
		}
	}
	return res
}

// tighter is the one of a and b that leaves less (a set quota wins over
// an unset one).
func tighter(a, b Quota) Quota {
	if a.Limit > 0 && a.tighter(b) {
		return a
	}
	return b
}

// DebitEnvoy reports n tokens used by c to the envoy-ratelimit services
// that have a token limit for c (res is c's Check result); ctx bounds the
// calls. It returns the first failure.
func (l *Limiter) DebitEnvoy(ctx context.Context, c *Caller, res *Result, n int64) error {
	if l == nil || res.envoyTokens == 0 || n <= 0 {
		return nil
	}
	var first error
	for i, e := range l.envoy {
		if i < 64 && res.envoyTokens&(1<<i) != 0 {
			if err := e.debit(ctx, c, n); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}

func (l *Limiter) refund(taken []*ruleState, user string) {
	for _, st := range taken {
		st.refund(user)
	}
}

// Debit spends n tokens (prompt + completion) of c's token budgets in
// every matching local rule.
func (l *Limiter) Debit(now time.Time, c *Caller, n int64) {
	if l == nil || n <= 0 {
		return
	}
	ns := now.UnixNano()
	for _, st := range l.rules {
		if st.tokIv > 0 && st.rule.matches(c) {
			st.debit(c.User, ns, n)
		}
	}
}

// Holder builds the Limiter of each config revision and keeps what does
// not change across revisions: the budgets of a rule that is the same in
// the new revision (same name, match and limits), and the connection to
// an envoy-ratelimit address still in use. The zero value is ready; it is
// safe for concurrent use.
type Holder struct {
	// MaxKeys bounds the callers each rule keeps a bucket for (0:
	// DefaultMaxKeys). Set it before the first For.
	MaxKeys int

	cur atomic.Pointer[held]
	mu  sync.Mutex
}

// held is the limiter of the newest revision seen.
type held struct {
	settings *Settings
	rev      uint64
	lim      *Limiter
}

// For returns the Limiter enforcing s, the settings of config revision
// rev (nil when s limits nothing). The limiter of the newest revision
// asked for wins: an exchange still running on an older revision gets the
// current limiter. log receives dial errors.
func (h *Holder) For(rev uint64, s *Settings, log *slog.Logger) *Limiter {
	if c := h.cur.Load(); c != nil && (c.settings == s || rev < c.rev) {
		return c.lim.active()
	} else if c == nil && !s.Enabled() {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.cur.Load()
	if c != nil && (c.settings == s || rev < c.rev) {
		return c.lim.active()
	}
	next := &Limiter{settings: s}
	old := map[Rule]*ruleState{}
	oldEnvoy := map[EnvoyProvider]*envoyClient{}
	if c != nil {
		for _, st := range c.lim.rules {
			old[st.rule] = st
		}
		for _, e := range c.lim.envoy {
			oldEnvoy[EnvoyProvider{Address: e.addr, Domain: e.domain}] = e
		}
	}
	if s != nil {
		for _, r := range s.Rules {
			st, ok := old[r]
			if ok {
				delete(old, r)
			} else {
				st = newRuleState(r, h.MaxKeys)
			}
			next.rules = append(next.rules, st)
		}
		for _, p := range s.Envoy {
			e, ok := oldEnvoy[p]
			if ok {
				delete(oldEnvoy, p)
			} else {
				var err error
				if e, err = dialEnvoy(p); err != nil {
					// grpc.NewClient only fails on a malformed target:
					// every check then fails and fail_open decides.
					e = &envoyClient{addr: p.Address, domain: p.Domain, rls: failingRLS{err}}
					if log != nil {
						log.Warn("rate limit service", slog.String("address", p.Address), slog.Any("error", err))
					}
				}
			}
			next.envoy = append(next.envoy, e)
		}
	}
	for _, e := range oldEnvoy {
		e.close()
	}
	h.cur.Store(&held{settings: s, rev: rev, lim: next})
	return next.active()
}

// active is l, or nil when it limits nothing.
func (l *Limiter) active() *Limiter {
	if l == nil || (len(l.rules) == 0 && len(l.envoy) == 0) {
		return nil
	}
	return l
}

// Close closes the connections to envoy-ratelimit services; a later For
// starts afresh.
func (h *Holder) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.cur.Swap(nil); c != nil {
		for _, e := range c.lim.envoy {
			e.close()
		}
	}
}
