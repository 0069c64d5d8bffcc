package routes

import (
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
)

func TestStickyFromConfig(t *testing.T) {
	on := func(p *config.LearningProtection, st *config.LearningStateStore) *config.Learning {
		return &config.Learning{Enabled: true, Protection: p, StateStore: st}
	}
	defStore := StickyStore{Backend: StickyBackendMemory, TTL: DefaultStickyStoreTTL, Timeout: DefaultStickyTimeout}
	defaults := Sticky{Enabled: true, Scope: StickyScopeConversation, ConversationHeader: DefaultConversationHeader,
		SessionHeader: DefaultSessionHeader, IdleTimeout: DefaultStickyIdleTimeout, StabilityWeight: 1, Store: defStore}
	for _, tc := range []struct {
		name string
		in   *config.Learning
		want Sticky
	}{
		{"absent", nil, Sticky{}},
		{"learning off", &config.Learning{Protection: &config.LearningProtection{Enabled: true}}, Sticky{}},
		{"protection off", on(&config.LearningProtection{}, nil), Sticky{}},
		{"defaults", on(&config.LearningProtection{Enabled: true}, nil), defaults},
		{"reference", on(&config.LearningProtection{Enabled: true, Scope: "session",
			Identity: &config.LearningIdentity{Headers: map[string]string{"session": "X-Sess", "conversation": "X-Conv"}},
			Tuning:   &config.LearningTuning{IdleTimeoutSeconds: 60, MinTurnsBeforeSwitch: 3, SwitchMargin: 0.05, StabilityWeight: 2}},
			&config.LearningStateStore{Backend: "valkey", TTLSeconds: 120, TimeoutMs: 20,
				Redis: &config.RedisClient{Address: "r:6379", Database: 2, Password: "p", UseTLS: true}}),
			Sticky{Enabled: true, Scope: StickyScopeSession, ConversationHeader: "x-conv", SessionHeader: "x-sess",
				IdleTimeout: time.Minute, MinTurns: 3, SwitchMargin: 0.05, StabilityWeight: 2,
				Store: StickyStore{Backend: StickyBackendRedis, TTL: 2 * time.Minute, Timeout: 20 * time.Millisecond,
					Redis: ReplayRedis{Addr: "r:6379", DB: 2, Password: "p", TLS: true, KeyPrefix: DefaultStickyKeyPrefix}}}},
		{"redis without a block stays in memory", on(&config.LearningProtection{Enabled: true}, &config.LearningStateStore{Backend: "redis"}), defaults},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := StickyFromConfig(tc.in); got != tc.want {
				t.Errorf("StickyFromConfig =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}
