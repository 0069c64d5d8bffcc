package cache

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mode selects the tiers a lookup consults.
type Mode string

// Lookup modes.
const (
	ModeExact             Mode = "exact"
	ModeSemantic          Mode = "semantic"
	ModeExactThenSemantic Mode = "exact_then_semantic"
)

// Scope selects which caller identity partitions the cache.
type Scope string

// Scopes, from widest to narrowest.
const (
	ScopeGlobal Scope = "global"
	ScopeTenant Scope = "tenant"
	ScopeTeam   Scope = "team"
	ScopeUser   Scope = "user"
)

// Request-control directives of the x-vsr-cache-control header.
const (
	DirectiveNoCache = "no-cache" // do not answer from the cache; still store
	DirectiveNoStore = "no-store" // may answer from the cache; do not store
	DirectiveBypass  = "bypass"   // neither look up nor store
	DirectiveMaxAge  = "max-age"  // max-age=N: only entries at most N seconds old
	DirectiveTTL     = "ttl"      // ttl=N: store with a TTL of N seconds
)

// DefaultControlHeader is the request header carrying cache controls.
const DefaultControlHeader = "x-vsr-cache-control"

// ControlPolicy says which request controls a decision honours.
type ControlPolicy struct {
	Enabled bool
	Header  string
	// Allowed lists the honoured directive names (no-cache, no-store,
	// bypass, max-age, ttl); others are ignored.
	Allowed []string
	// MaxTTL caps ttl=N (0: no cap beyond the policy TTL rules).
	MaxTTL time.Duration
}

// Policy is the compiled response_cache plugin of one decision.
type Policy struct {
	Enabled             bool
	Mode                Mode
	Scope               Scope
	SimilarityThreshold float32
	// TTL is the lifetime of stored entries (0: the backend default).
	TTL      time.Duration
	Controls ControlPolicy
	// Revision folds the configured cache_epoch / model, prompt and policy
	// revisions into the partition, so bumping one retires old entries.
	Revision string
}

// Validate reports every problem with p.
func (p Policy) Validate() error {
	var errs []error
	switch p.Mode {
	case ModeExact, ModeSemantic, ModeExactThenSemantic:
	default:
		errs = append(errs, fmt.Errorf("mode %q: want exact, semantic or exact_then_semantic", p.Mode))
	}
	switch p.Scope {
	case "", ScopeGlobal, ScopeTenant, ScopeTeam, ScopeUser:
	default:
		errs = append(errs, fmt.Errorf("scope %q: want global, tenant, team or user", p.Scope))
	}
	if p.SimilarityThreshold < 0 || p.SimilarityThreshold > 1 {
		errs = append(errs, fmt.Errorf("similarity_threshold %v: want 0..1", p.SimilarityThreshold))
	}
	if p.TTL < 0 {
		errs = append(errs, fmt.Errorf("ttl %v: must not be negative", p.TTL))
	}
	if p.Controls.MaxTTL < 0 {
		errs = append(errs, fmt.Errorf("request_controls.max_ttl %v: must not be negative", p.Controls.MaxTTL))
	}
	for _, d := range p.Controls.Allowed {
		switch d {
		case DirectiveNoCache, DirectiveNoStore, DirectiveBypass, DirectiveMaxAge, DirectiveTTL:
		default:
			errs = append(errs, fmt.Errorf("request_controls.allowed: unknown directive %q", d))
		}
	}
	return errors.Join(errs...)
}

// Controls are the request's honoured cache directives.
type Controls struct {
	NoCache bool
	NoStore bool
	Bypass  bool
	// MaxAge, when HasMaxAge, bounds the age of an entry that may answer.
	MaxAge    time.Duration
	HasMaxAge bool
	// TTL, when HasTTL, is the requested lifetime of the stored response
	// (already capped by the policy).
	TTL    time.Duration
	HasTTL bool
	// Ignored lists directives that were not allowed or did not parse.
	Ignored []string
}

// ParseControls parses a header value such as "no-store, max-age=60" under
// cp. Directive names are case-insensitive; directives not in cp.Allowed,
// unknown ones and malformed values are ignored and listed in Ignored. When
// cp is disabled every directive is ignored.
func ParseControls(header string, cp ControlPolicy) Controls {
	var c Controls
	allowed := func(name string) bool {
		for _, a := range cp.Allowed {
			if strings.EqualFold(a, name) {
				return true
			}
		}
		return false
	}
	for _, raw := range strings.Split(header, ",") {
		d := strings.TrimSpace(raw)
		if d == "" {
			continue
		}
		name, val, hasVal := strings.Cut(d, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.Trim(strings.TrimSpace(val), `"`)
		if !cp.Enabled || !allowed(name) {
			c.Ignored = append(c.Ignored, d)
			continue
		}
		switch name {
		case DirectiveNoCache, DirectiveNoStore, DirectiveBypass:
			if hasVal {
				c.Ignored = append(c.Ignored, d)
				continue
			}
			switch name {
			case DirectiveNoCache:
				c.NoCache = true
			case DirectiveNoStore:
				c.NoStore = true
			default:
				c.Bypass = true
			}
		case DirectiveMaxAge, DirectiveTTL:
			n, err := strconv.ParseInt(val, 10, 64)
			if !hasVal || err != nil || n < 0 || n > int64(100*365*24*3600) {
				c.Ignored = append(c.Ignored, d)
				continue
			}
			dur := time.Duration(n) * time.Second
			if name == DirectiveMaxAge {
				c.MaxAge, c.HasMaxAge = dur, true
				continue
			}
			if cp.MaxTTL > 0 && dur > cp.MaxTTL {
				dur = cp.MaxTTL
			}
			c.TTL, c.HasTTL = dur, true
		default:
			c.Ignored = append(c.Ignored, d)
		}
	}
	return c
}

// ShouldLookup reports whether the cache may answer this request.
func (c Controls) ShouldLookup() bool { return !c.Bypass && !c.NoCache }

// ShouldStore reports whether the response may be stored.
func (c Controls) ShouldStore() bool { return !c.Bypass && !c.NoStore }

// EffectiveTTL is the lifetime to store a response with.
func (p Policy) EffectiveTTL(c Controls) time.Duration {
	if c.HasTTL {
		return c.TTL
	}
	return p.TTL
}
