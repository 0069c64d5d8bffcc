package config

import (
	"sort"
	"strings"
)

// Rate-limit provider types (global.services.ratelimit.providers[].type).
const (
	RateLimitEnvoy = "envoy-ratelimit"
	RateLimitLocal = "local-limiter"
)

// RateLimitMatchKeys are the keys a local-limiter rule may match on: the
// caller's user id and one of its groups (the trusted identity headers of
// global.services.authz.identity) and the model.
func RateLimitMatchKeys() []string { return []string{"user", "group", "model"} }

// RateLimitUnits are the accepted rule units.
func RateLimitUnits() []string { return []string{"second", "minute", "hour", "day"} }

// validateRateLimit checks global.services.ratelimit.
func (v *validator) validateRateLimit() {
	rl := v.cfg.Global.Services.RateLimit
	if rl == nil {
		return
	}
	const base = "global.services.ratelimit"
	if len(rl.Providers) == 0 {
		v.warnf(base, "no providers: rate limiting has no effect")
	}
	names := map[string]string{}
	for i := range rl.Providers {
		p := &rl.Providers[i]
		pp := joinIndex(sub(base, "providers"), i)
		switch p.Type {
		case RateLimitEnvoy:
			if strings.TrimSpace(p.Address) == "" {
				v.errorf(sub(pp, "address"), "required for type %s (host:port of the rate limit service)", RateLimitEnvoy)
			}
			if strings.TrimSpace(p.Domain) == "" {
				v.errorf(sub(pp, "domain"), "required for type %s", RateLimitEnvoy)
			}
			if len(p.Rules) > 0 {
				v.errorf(sub(pp, "rules"), "only type %s has rules; the %s service holds its limits itself", RateLimitLocal, RateLimitEnvoy)
			}
		case RateLimitLocal:
			if p.Address != "" {
				v.warnf(sub(pp, "address"), "has no effect for type %s", RateLimitLocal)
			}
			if p.Domain != "" {
				v.warnf(sub(pp, "domain"), "has no effect for type %s", RateLimitLocal)
			}
			if len(p.Rules) == 0 {
				v.warnf(pp, "no rules: this %s limits nothing", RateLimitLocal)
			}
			for j := range p.Rules {
				v.validateRateLimitRule(joinIndex(sub(pp, "rules"), j), &p.Rules[j], names)
			}
		case "":
			v.errorf(sub(pp, "type"), "required (one of %s, %s)", RateLimitEnvoy, RateLimitLocal)
		default:
			v.errorf(sub(pp, "type"), "unknown type %q (expected one of %s, %s)", p.Type, RateLimitEnvoy, RateLimitLocal)
		}
	}
}

// validateRateLimitRule checks one local-limiter rule at rp; names maps
// the rule names seen so far (across providers) to their paths.
func (v *validator) validateRateLimitRule(rp string, r *RateLimitRule, names map[string]string) {
	switch name := strings.TrimSpace(r.Name); {
	case name == "":
		v.errorf(sub(rp, "name"), "required (it names the rule in 429 answers and metrics)")
	case names[name] != "":
		v.errorf(sub(rp, "name"), "duplicate rule name %q (first at %s)", name, names[name])
	default:
		names[name] = rp
	}
	keys := make([]string, 0, len(r.Match))
	for k := range r.Match {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kp := joinKey(sub(rp, "match"), k)
		known := false
		for _, mk := range RateLimitMatchKeys() {
			known = known || k == mk
		}
		if !known {
			v.errorf(kp, "unknown match key %q (expected one of %s)", k, strings.Join(RateLimitMatchKeys(), ", "))
			continue
		}
		if strings.TrimSpace(r.Match[k]) == "" {
			v.errorf(kp, "empty value: use \"*\" (or leave the key out) to match any %s", k)
		}
	}
	if r.RequestsPerUnit < 0 {
		v.errorf(sub(rp, "requests_per_unit"), "must not be negative, got %d", r.RequestsPerUnit)
	}
	if r.TokensPerUnit < 0 {
		v.errorf(sub(rp, "tokens_per_unit"), "must not be negative, got %d", r.TokensPerUnit)
	}
	if r.RequestsPerUnit <= 0 && r.TokensPerUnit <= 0 && r.RequestsPerUnit >= 0 && r.TokensPerUnit >= 0 {
		v.errorf(rp, "set requests_per_unit or tokens_per_unit (or both) above 0; this rule limits nothing")
	}
	if r.Unit == "" {
		v.errorf(sub(rp, "unit"), "required (one of %s)", strings.Join(RateLimitUnits(), ", "))
	} else {
		v.checkOneOf(sub(rp, "unit"), r.Unit, RateLimitUnits()...)
	}
}
