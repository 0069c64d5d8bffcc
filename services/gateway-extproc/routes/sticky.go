package routes

import (
	"strings"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
)

// Sticky scopes (Sticky.Scope): what a pin is keyed by.
const (
	// StickyScopeConversation: the conversation header, else the session
	// header, else a hash of the conversation's opening (package sticky).
	StickyScopeConversation = "conversation"
	// StickyScopeSession: the session header only.
	StickyScopeSession = "session"
	// StickyScopeUser: the trusted user id header only.
	StickyScopeUser = "user"
)

// Sticky store backends (StickyStore.Backend).
const (
	StickyBackendMemory = "memory"
	StickyBackendRedis  = "redis"
)

// Defaults of global.router.learning.protection and state_store.
const (
	DefaultStickyIdleTimeout = 300 * time.Second
	DefaultStickyStoreTTL    = 24 * time.Hour
	DefaultStickyTimeout     = 50 * time.Millisecond
	DefaultStickyKeyPrefix   = "semrouter:sticky:v1:"
	// DefaultConversationHeader and DefaultSessionHeader name the
	// identity headers when protection.identity.headers leaves them out.
	DefaultConversationHeader = "x-conversation-id"
	DefaultSessionHeader      = "x-session-id"
)

// Sticky mirrors global.router.learning.protection (model switch
// protection: a conversation stays on the model it started with). The
// zero value is off. It is comparable.
type Sticky struct {
	Enabled bool
	// Scope is StickyScopeConversation, StickyScopeSession or
	// StickyScopeUser.
	Scope string
	// ConversationHeader and SessionHeader are lower-case header names.
	ConversationHeader, SessionHeader string
	// IdleTimeout ends a pin not used for that long.
	IdleTimeout time.Duration
	// MinTurns is min_turns_before_switch: the turns a pin serves before
	// a better-scored model may replace it.
	MinTurns int
	// SwitchMargin × StabilityWeight is how much better (by the
	// selection algorithm's score) a new choice must be to replace a pin.
	SwitchMargin    float64
	StabilityWeight float64
	Store           StickyStore
}

// StickyStore mirrors global.router.learning.state_store.
type StickyStore struct {
	// Backend is StickyBackendMemory or StickyBackendRedis.
	Backend string
	// TTL bounds how long an idle pin is kept in the store.
	TTL time.Duration
	// Timeout bounds one store operation (timeout_ms).
	Timeout time.Duration
	// Redis is the server of StickyBackendRedis (KeyPrefix defaulted).
	Redis ReplayRedis
}

// StickyFromConfig maps global.router.learning. Protection runs when
// learning.enabled and protection.enabled are both true; adaptation is
// not mapped (it has no effect; validation warns).
func StickyFromConfig(l *config.Learning) Sticky {
	if l == nil || !l.Enabled || l.Protection == nil || !l.Protection.Enabled {
		return Sticky{}
	}
	p := l.Protection
	s := Sticky{Enabled: true, Scope: p.Scope, ConversationHeader: DefaultConversationHeader, SessionHeader: DefaultSessionHeader,
		IdleTimeout: DefaultStickyIdleTimeout, StabilityWeight: 1}
	if s.Scope == "" {
		s.Scope = StickyScopeConversation
	}
	if id := p.Identity; id != nil {
		if h := strings.TrimSpace(id.Headers["conversation"]); h != "" {
			s.ConversationHeader = strings.ToLower(h)
		}
		if h := strings.TrimSpace(id.Headers["session"]); h != "" {
			s.SessionHeader = strings.ToLower(h)
		}
	}
	if t := p.Tuning; t != nil {
		if t.IdleTimeoutSeconds > 0 {
			s.IdleTimeout = time.Duration(t.IdleTimeoutSeconds) * time.Second
		}
		s.MinTurns = max(t.MinTurnsBeforeSwitch, 0)
		s.SwitchMargin = max(t.SwitchMargin, 0)
		if t.StabilityWeight > 0 {
			s.StabilityWeight = t.StabilityWeight
		}
	}
	s.Store = StickyStore{Backend: StickyBackendMemory, TTL: DefaultStickyStoreTTL, Timeout: DefaultStickyTimeout}
	st := l.StateStore
	if st == nil {
		return s
	}
	if st.TTLSeconds > 0 {
		s.Store.TTL = time.Duration(st.TTLSeconds) * time.Second
	}
	if st.TimeoutMs > 0 {
		s.Store.Timeout = time.Duration(st.TimeoutMs) * time.Millisecond
	}
	if (st.Backend == "redis" || st.Backend == "valkey") && st.Redis != nil {
		r := st.Redis
		db := r.DB
		if db == 0 {
			db = r.Database
		}
		s.Store.Backend = StickyBackendRedis
		s.Store.Redis = ReplayRedis{Addr: r.Address, Password: r.Password, DB: db, TLS: r.UseTLS || r.TLSEnabled,
			TLSSkipVerify: r.TLSSkipVerify, KeyPrefix: r.KeyPrefix, PoolSize: r.PoolSize, MaxRetries: r.MaxRetries,
			Timeout: time.Duration(max(r.DialTimeout, 0)) * time.Second}
		if s.Store.Redis.KeyPrefix == "" {
			s.Store.Redis.KeyPrefix = DefaultStickyKeyPrefix
		}
	}
	return s
}
