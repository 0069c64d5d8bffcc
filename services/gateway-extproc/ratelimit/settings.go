// Package ratelimit enforces global.services.ratelimit: a per-process
// local limiter (local-limiter rules; GCRA buckets per rule and caller,
// request and token budgets) and a client of Envoy's rate limit service
// (envoy-ratelimit). The gateway asks a Limiter before a routed request
// goes upstream and debits the tokens the response used afterwards.
//
// Semantics (docs/operations.md, "Rate limiting"):
//   - A rule applies when every match key matches: user is the trusted
//     user id, group one of the trusted groups, model the selected
//     model's name or provider_model_id, or the model name the client
//     asked for (so "model: auto" limits auto-routed traffic). "*" or an
//     absent key matches anything, a caller without identity included.
//   - Budgets are per rule and per caller (user id): a rule matching a
//     group gives each user of the group its own budget. Callers without
//     a user id share one budget per rule.
//   - Requests and tokens are GCRA (a token bucket holding one unit's
//     worth): a full unit of burst, refilled continuously, never reset in
//     bulk at a window edge.
//   - Tokens: a request is refused while the caller's token budget is
//     spent; after the response the prompt+completion tokens of its usage
//     (an estimate when the upstream reports none) are debited, so one
//     request may overdraw the budget and the caller then waits it off.
package ratelimit

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
)

// Provider names (Result.Provider, metrics labels).
const (
	ProviderLocal = config.RateLimitLocal
	ProviderEnvoy = config.RateLimitEnvoy
)

// Any is the wildcard match value.
const Any = "*"

// Settings is the compiled global.services.ratelimit block. The zero
// value limits nothing.
type Settings struct {
	// FailOpen lets requests through when a provider fails (errors or
	// times out); otherwise they are refused with 503.
	FailOpen bool
	// Rules are the local-limiter rules of every local-limiter provider,
	// in config order.
	Rules []Rule
	// Envoy are the envoy-ratelimit providers, in config order.
	Envoy []EnvoyProvider
}

// Enabled reports whether s limits anything.
func (s *Settings) Enabled() bool { return s != nil && (len(s.Rules) > 0 || len(s.Envoy) > 0) }

// Rule is one local-limiter rule. Match values are "" for any.
type Rule struct {
	Name  string
	User  string
	Group string
	Model string
	// Requests and Tokens are the budgets per Unit (0: no such budget).
	Requests int64
	Tokens   int64
	Unit     time.Duration
}

// EnvoyProvider is one envoy-ratelimit provider.
type EnvoyProvider struct {
	// Address is host:port of the gRPC rate limit service.
	Address string
	// Domain is the rate limit domain sent with every request.
	Domain string
}

// Units maps the config units to durations.
func unitDuration(u string) (time.Duration, bool) {
	switch u {
	case "second":
		return time.Second, true
	case "minute":
		return time.Minute, true
	case "hour":
		return time.Hour, true
	case "day":
		return 24 * time.Hour, true
	}
	return 0, false
}

// FromConfig compiles global.services.ratelimit (nil: nothing limited).
// It repeats the checks of config validation that matter at run time, so
// a config that skipped validation still cannot install a broken rule.
func FromConfig(rl *config.RateLimit) (Settings, error) {
	if rl == nil {
		return Settings{}, nil
	}
	s := Settings{FailOpen: rl.FailOpen}
	var errs []error
	names := map[string]bool{}
	for i, p := range rl.Providers {
		pp := fmt.Sprintf("global.services.ratelimit.providers[%d]", i)
		switch p.Type {
		case config.RateLimitEnvoy:
			if p.Address == "" || p.Domain == "" {
				errs = append(errs, fmt.Errorf("%s: address and domain must be set", pp))
				continue
			}
			s.Envoy = append(s.Envoy, EnvoyProvider{Address: p.Address, Domain: p.Domain})
		case config.RateLimitLocal:
			for j, r := range p.Rules {
				rp := fmt.Sprintf("%s.rules[%d]", pp, j)
				rule, err := ruleFromConfig(r)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", rp, err))
					continue
				}
				if names[rule.Name] {
					errs = append(errs, fmt.Errorf("%s.name: duplicate rule name %q", rp, rule.Name))
					continue
				}
				names[rule.Name] = true
				s.Rules = append(s.Rules, rule)
			}
		default:
			errs = append(errs, fmt.Errorf("%s.type: unknown type %q", pp, p.Type))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Settings{}, fmt.Errorf("compile ratelimit: %w", err)
	}
	return s, nil
}

func ruleFromConfig(r config.RateLimitRule) (Rule, error) {
	out := Rule{Name: strings.TrimSpace(r.Name), Requests: r.RequestsPerUnit, Tokens: r.TokensPerUnit}
	if out.Name == "" {
		return Rule{}, errors.New("name must be set")
	}
	unit, ok := unitDuration(r.Unit)
	if !ok {
		return Rule{}, fmt.Errorf("unit: unknown unit %q", r.Unit)
	}
	out.Unit = unit
	if r.RequestsPerUnit < 0 || r.TokensPerUnit < 0 || r.RequestsPerUnit+r.TokensPerUnit <= 0 {
		return Rule{}, errors.New("requests_per_unit and tokens_per_unit must not be negative, and one must be above 0")
	}
	for k, v := range r.Match {
		v = strings.TrimSpace(v)
		if v == Any {
			v = ""
		}
		switch k {
		case "user":
			out.User = v
		case "group":
			out.Group = v
		case "model":
			out.Model = v
		default:
			return Rule{}, fmt.Errorf("match.%s: unknown match key (expected one of %s)", k, strings.Join(config.RateLimitMatchKeys(), ", "))
		}
	}
	return out, nil
}

// Caller is who sends a request and to which model.
type Caller struct {
	// User is the trusted user id ("" when unknown).
	User string
	// Groups are the trusted groups.
	Groups []string
	// Model is the selected model's name, ModelID its provider_model_id
	// ("" when the same) and Requested the model the client named.
	Model, ModelID, Requested string
}

// matches reports whether r applies to c.
func (r *Rule) matches(c *Caller) bool {
	if r.User != "" && r.User != c.User {
		return false
	}
	if r.Model != "" && r.Model != c.Model && (c.ModelID == "" || r.Model != c.ModelID) && r.Model != c.Requested {
		return false
	}
	if r.Group != "" {
		for _, g := range c.Groups {
			if g == r.Group {
				return true
			}
		}
		return false
	}
	return true
}
