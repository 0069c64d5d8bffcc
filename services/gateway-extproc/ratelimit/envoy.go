package ratelimit

import (
	"context"
	"fmt"
	"time"

	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Descriptor keys sent to the envoy-ratelimit service.
const (
	DescriptorUser  = "user"
	DescriptorGroup = "group"
	DescriptorModel = "model"
	// DescriptorBudget leads the token descriptors: ("budget", "tokens").
	DescriptorBudget = "budget"
	BudgetTokensKey  = "tokens"
)

// envoyClient asks one envoy-ratelimit service (ShouldRateLimit).
type envoyClient struct {
	addr, domain string
	conn         *grpc.ClientConn
	rls          rlsv3.RateLimitServiceClient
}

// dialEnvoy makes a client of the service at addr (plaintext gRPC; the
// connection is made lazily, so an unreachable service shows as a check
// error, never as a config error).
func dialEnvoy(p EnvoyProvider) (*envoyClient, error) {
	conn, err := grpc.NewClient(p.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial rate limit service %q: %w", p.Address, err)
	}
	return &envoyClient{addr: p.Address, domain: p.Domain, conn: conn, rls: rlsv3.NewRateLimitServiceClient(conn)}, nil
}

// chains are the descriptor entry chains of c, each only when its values
// are known: (user), (user, model), (model), and per group (group) and
// (group, model). A service config keys its limits on any of them.
func chains(c *Caller) [][][2]string {
	out := make([][][2]string, 0, 3+2*len(c.Groups))
	if c.User != "" {
		out = append(out, [][2]string{{DescriptorUser, c.User}})
		if c.Model != "" {
			out = append(out, [][2]string{{DescriptorUser, c.User}, {DescriptorModel, c.Model}})
		}
	}
	if c.Model != "" {
		out = append(out, [][2]string{{DescriptorModel, c.Model}})
	}
	for _, g := range c.Groups {
		out = append(out, [][2]string{{DescriptorGroup, g}})
		if c.Model != "" {
			out = append(out, [][2]string{{DescriptorGroup, g}, {DescriptorModel, c.Model}})
		}
	}
	return out
}

// descriptors renders chains; tokens prefixes each with ("budget",
// "tokens") and sets its hits_addend to hits (0: look, do not spend).
func descriptors(cs [][][2]string, tokens bool, hits uint64) []*ratelimitv3.RateLimitDescriptor {
	out := make([]*ratelimitv3.RateLimitDescriptor, 0, len(cs))
	for _, ch := range cs {
		d := &ratelimitv3.RateLimitDescriptor{Entries: make([]*ratelimitv3.RateLimitDescriptor_Entry, 0, len(ch)+1)}
		if tokens {
			d.Entries = append(d.Entries, &ratelimitv3.RateLimitDescriptor_Entry{Key: DescriptorBudget, Value: BudgetTokensKey})
			d.HitsAddend = wrapperspb.UInt64(hits)
		}
		for _, kv := range ch {
			d.Entries = append(d.Entries, &ratelimitv3.RateLimitDescriptor_Entry{Key: kv[0], Value: kv[1]})
		}
		out = append(out, d)
	}
	return out
}

// envoyVerdict is one service's answer to a check.
type envoyVerdict struct {
	verdict
	rule string
	// tokenLimits: the service has a token limit for one of the caller's
	// token descriptors, so the response's tokens must be reported.
	tokenLimits bool
}

// check asks whether one more request of c is allowed: the request
// descriptors spend one hit each, the token descriptors (same chains
// under ("budget", "tokens")) are looked at with hits_addend 0 and refuse
// once the token budget is spent. The quotas are the tightest the service
// reported.
func (e *envoyClient) check(ctx context.Context, c *Caller) (envoyVerdict, error) {
	cs := chains(c)
	if len(cs) == 0 {
		return envoyVerdict{verdict: verdict{ok: true}}, nil // nothing known to limit on
	}
	ds := append(descriptors(cs, false, 0), descriptors(cs, true, 0)...)
	resp, err := e.rls.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: e.domain, Descriptors: ds, HitsAddend: 1})
	if err != nil {
		return envoyVerdict{}, fmt.Errorf("ask rate limit service %s: %w", e.addr, err)
	}
	v := envoyVerdict{verdict: verdict{ok: true}}
	for i, st := range resp.GetStatuses() {
		lim := st.GetCurrentLimit()
		if lim == nil {
			continue
		}
		tokens := i >= len(cs)
		v.tokenLimits = v.tokenLimits || tokens
		reset := st.GetDurationUntilReset().AsDuration()
		q := Quota{Limit: int64(lim.GetRequestsPerUnit()), Remaining: int64(st.GetLimitRemaining()), Reset: reset}
		over := st.GetCode() == rlsv3.RateLimitResponse_OVER_LIMIT
		if over {
			q.Remaining = 0
			if v.ok || reset > v.retry {
				v.rule, v.budget = lim.GetName(), BudgetRequests
				if tokens {
					v.budget = BudgetTokens
				}
			}
			v.ok = false
			v.retry = max(v.retry, reset)
		}
		target := &v.requests
		if tokens {
			target = &v.tokens
		}
		if over || q.tighter(*target) {
			*target = q
		}
	}
	switch resp.GetOverallCode() {
	case rlsv3.RateLimitResponse_OK:
		v.ok = true // the overall code is the service's verdict
	case rlsv3.RateLimitResponse_OVER_LIMIT:
		if v.ok {
			v.ok, v.budget = false, BudgetRequests
		}
		if v.retry <= 0 {
			v.retry = time.Second
		}
	default:
		return envoyVerdict{}, fmt.Errorf("ask rate limit service %s: overall code %s", e.addr, resp.GetOverallCode())
	}
	if v.rule == "" {
		v.rule = "envoy-ratelimit/" + e.domain
	}
	return v, nil
}

// debit reports n tokens used by c: the token descriptors with
// hits_addend n.
func (e *envoyClient) debit(ctx context.Context, c *Caller, n int64) error {
	cs := chains(c)
	if len(cs) == 0 || n <= 0 {
		return nil
	}
	_, err := e.rls.ShouldRateLimit(ctx, &rlsv3.RateLimitRequest{Domain: e.domain, Descriptors: descriptors(cs, true, uint64(n))})
	if err != nil {
		return fmt.Errorf("report tokens to rate limit service %s: %w", e.addr, err)
	}
	return nil
}

func (e *envoyClient) close() {
	if e.conn != nil {
		_ = e.conn.Close()
	}
}

// failingRLS stands in for a service that could not be dialled: every
// check fails with err.
type failingRLS struct{ err error }

func (f failingRLS) ShouldRateLimit(context.Context, *rlsv3.RateLimitRequest, ...grpc.CallOption) (*rlsv3.RateLimitResponse, error) {
	return nil, f.err
}

var _ rlsv3.RateLimitServiceClient = failingRLS{}
