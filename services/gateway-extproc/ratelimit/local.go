package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

const (
	shardCount = 16
	// DefaultMaxKeys bounds the callers a rule keeps a bucket for.
	DefaultMaxKeys = 1 << 16
	// sweepEvery: a shard drops its idle buckets every sweepEvery checks.
	sweepEvery = 1024
	// maxDebtUnits caps how far a token debit may push a budget into
	// debt, in units (so a caller never waits more than that many units).
	maxDebtUnits = 10
)

// Budgets (Result.Budget).
const (
	BudgetRequests = "requests"
	BudgetTokens   = "tokens"
)

// Quota is what a budget says to the caller (the x-ratelimit-* headers).
// Limit 0 means no such budget applies.
type Quota struct {
	Limit     int64
	Remaining int64
	// Reset is the time until the budget is full again.
	Reset time.Duration
}

// tighter reports whether q leaves less than o.
func (q Quota) tighter(o Quota) bool {
	return o.Limit == 0 || (q.Limit > 0 && q.Remaining < o.Remaining)
}

// bucket holds the GCRA theoretical arrival times (unix ns; 0: fresh) of
// a caller's request and token budgets. A TAT at or before now is the same
// as a full budget, so such buckets can be dropped at any time.
type bucket struct{ req, tok int64 }

type shard struct {
	mu  sync.Mutex
	m   map[string]bucket
	ops uint32
}

// ruleState is the budgets of one rule. It is kept across config
// revisions while the rule does not change.
type ruleState struct {
	rule   Rule
	period int64 // ns per unit
	// reqIv and tokIv are the ns one request / one token costs (0: no
	// such budget).
	reqIv, tokIv int64
	maxPerShard  int
	seed         maphash.Seed
	shards       [shardCount]shard
}

func newRuleState(r Rule, maxKeys int) *ruleState {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	st := &ruleState{rule: r, period: int64(r.Unit), seed: maphash.MakeSeed(),
		maxPerShard: max(1, maxKeys/shardCount)}
	if r.Requests > 0 {
		st.reqIv = max(1, st.period/r.Requests)
	}
	if r.Tokens > 0 {
		st.tokIv = max(1, st.period/r.Tokens)
	}
	for i := range st.shards {
		st.shards[i].m = map[string]bucket{}
	}
	return st
}

func (st *ruleState) shard(key string) *shard {
	return &st.shards[maphash.String(st.seed, key)%shardCount]
}

// verdict is one rule's answer to a check.
type verdict struct {
	ok bool
	// budget is what refused: BudgetRequests or BudgetTokens.
	budget   string
	retry    time.Duration
	requests Quota
	tokens   Quota
}

// take spends one request of key's budget and checks that its token
// budget is not spent. A refusal changes nothing.
func (st *ruleState) take(key string, now int64) verdict {
	sh := st.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	st.maybeSweep(sh, now)
	b, found := sh.m[key]
	v := verdict{ok: true}
	newReq := b.req
	if st.reqIv > 0 {
		tat := max(b.req, now)
		newReq = tat + st.reqIv
		if over := newReq - now - st.period; over > 0 {
			v.ok, v.retry, v.budget = false, time.Duration(over), BudgetRequests
			v.requests = Quota{Limit: st.rule.Requests, Remaining: 0, Reset: time.Duration(tat - now)}
		} else {
			v.requests = Quota{Limit: st.rule.Requests, Remaining: (st.period - (newReq - now)) / st.reqIv, Reset: time.Duration(newReq - now)}
		}
	}
	if st.tokIv > 0 {
		tat := max(b.tok, now)
		left := (st.period - (tat - now)) / st.tokIv
		if tat-now+st.tokIv > st.period {
			left = 0
			if v.ok {
				v.ok, v.budget = false, BudgetTokens
				v.retry = time.Duration(tat + st.tokIv - st.period - now)
			} else {
				v.retry = max(v.retry, time.Duration(tat+st.tokIv-st.period-now))
			}
		}
		v.tokens = Quota{Limit: st.rule.Tokens, Remaining: left, Reset: time.Duration(tat - now)}
	}
	if !v.ok {
		return v
	}
	if st.reqIv > 0 {
		b.req = newReq
		if !found {
			st.makeRoom(sh, now)
		}
		sh.m[key] = b
	}
	return v
}

// refund gives back one request taken by take.
func (st *ruleState) refund(key string) {
	if st.reqIv == 0 {
		return
	}
	sh := st.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if b, ok := sh.m[key]; ok {
		b.req -= st.reqIv
		sh.m[key] = b
	}
}

// debit spends n tokens of key's budget (capped at maxDebtUnits units of
// debt).
func (st *ruleState) debit(key string, now, n int64) {
	if st.tokIv == 0 || n <= 0 {
		return
	}
	sh := st.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	b, found := sh.m[key]
	limit := now + maxDebtUnits*st.period
	tat := max(b.tok, now)
	if n >= (limit-tat)/st.tokIv {
		tat = limit
	} else {
		tat += n * st.tokIv
	}
	b.tok = tat
	if !found {
		st.makeRoom(sh, now)
	}
	sh.m[key] = b
}

// makeRoom keeps a shard under its bound before a new key is added: it
// samples a few buckets (map order is random) and drops the first idle
// one, else the first sampled (its caller gets a full budget back: a
// flood of distinct callers can cost precision, never memory). The
// periodic sweep does the bulk cleaning, so this stays O(1).
func (st *ruleState) makeRoom(sh *shard, now int64) {
	if len(sh.m) < st.maxPerShard {
		return
	}
	victim, probes := "", 0
	for k, b := range sh.m {
		if b.req <= now && b.tok <= now {
			delete(sh.m, k)
			return
		}
		if probes == 0 {
			victim = k
		}
		if probes++; probes == 8 {
			break
		}
	}
	delete(sh.m, victim)
}

func (st *ruleState) maybeSweep(sh *shard, now int64) {
	sh.ops++
	if sh.ops%sweepEvery == 0 {
		sweep(sh, now)
	}
}

// sweep drops the buckets that are full again (the same as no bucket).
func sweep(sh *shard, now int64) {
	for k, b := range sh.m {
		if b.req <= now && b.tok <= now {
			delete(sh.m, k)
		}
	}
}

// keys is the number of buckets the rule holds (tests).
func (st *ruleState) keys() int {
	n := 0
	for i := range st.shards {
		sh := &st.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
