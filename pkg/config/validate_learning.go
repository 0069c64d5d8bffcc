package config

import "sort"

// LearningScopes are the protection.scope values of global.router.learning:
// conversation (the conversation header, else the session header, else a
// hash of the conversation's opening), session (the session header) and
// user (the trusted user id header).
var LearningScopes = []string{"conversation", "session", "user"}

// LearningStateBackends are the state_store.backend values: memory (each
// gateway's process) and redis / valkey (shared by every replica).
var LearningStateBackends = []string{"memory", "redis", "valkey"}

// validateLearning checks global.router.learning. protection (model
// switch protection: a conversation stays on its model) and state_store
// run in the gateway; adaptation (exploration sampling) is accepted and
// has no effect.
func (v *validator) validateLearning() {
	l := v.cfg.Global.Router.Learning
	if l == nil {
		return
	}
	p := "global.router.learning"
	if a := l.Adaptation; a != nil {
		v.warnf(sub(p, "adaptation"), "accepted and kept, but semrouter does not sample routes for exploration; it has no effect")
	}
	pr := l.Protection
	if pr != nil && pr.Enabled && !l.Enabled {
		v.warnf(sub(p, "enabled"), "false: protection.enabled has no effect until learning.enabled is true")
	}
	if pr != nil {
		v.validateProtection(sub(p, "protection"), pr)
	}
	if st := l.StateStore; st != nil {
		v.validateLearningStore(sub(p, "state_store"), st)
	}
}

func (v *validator) validateProtection(p string, pr *LearningProtection) {
	v.checkOneOf(sub(p, "scope"), pr.Scope, LearningScopes...)
	if id := pr.Identity; id != nil {
		hp := sub(sub(p, "identity"), "headers")
		keys := make([]string, 0, len(id.Headers))
		for k := range id.Headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			kp := joinKey(hp, k)
			if k != "session" && k != "conversation" {
				v.warnf(kp, "has no effect: only the session and conversation headers identify a conversation")
				continue
			}
			if id.Headers[k] == "" {
				v.errorf(kp, "must name a header (or be left out for the default x-%s-id)", k)
				continue
			}
			v.checkHeaderName(kp, id.Headers[k])
		}
	}
	if t := pr.Tuning; t != nil {
		tp := sub(p, "tuning")
		if t.IdleTimeoutSeconds < 0 {
			v.errorf(sub(tp, "idle_timeout_seconds"), "must not be negative (0: the default, 300)")
		}
		if t.MinTurnsBeforeSwitch < 0 {
			v.errorf(sub(tp, "min_turns_before_switch"), "must not be negative")
		}
		if t.SwitchMargin < 0 {
			v.errorf(sub(tp, "switch_margin"), "must not be negative")
		}
		if t.StabilityWeight < 0 {
			v.errorf(sub(tp, "stability_weight"), "must not be negative (0: the default, 1)")
		}
	}
}

func (v *validator) validateLearningStore(p string, st *LearningStateStore) {
	v.checkOneOf(sub(p, "backend"), st.Backend, LearningStateBackends...)
	if st.TTLSeconds < 0 {
		v.errorf(sub(p, "ttl_seconds"), "must not be negative (0: the default, 86400)")
	}
	if st.TimeoutMs < 0 {
		v.errorf(sub(p, "timeout_ms"), "must not be negative (0: the default, 50)")
	}
	shared := st.Backend == "redis" || st.Backend == "valkey"
	r := st.Redis
	if shared && (r == nil || r.Address == "") {
		v.requireRedisAddress(p, r, "backend", st.Backend)
	}
	if r == nil {
		return
	}
	rp := sub(p, "redis")
	if !shared {
		v.warnf(rp, "has no effect: backend is %q (pins stay in each gateway's memory)", st.Backend)
		return
	}
	v.checkRedisNumbers(rp, r)
	if r.ClusterMode || len(r.ClusterAddresses) > 0 {
		v.warnf(rp, "cluster_mode and cluster_addresses have no effect: the state store talks to one redis/valkey server (address)")
	}
	if r.TTLSeconds != 0 {
		v.warnf(sub(rp, "ttl_seconds"), "has no effect: pins expire after state_store.ttl_seconds")
	}
	if r.TLSCertPath != "" || r.TLSKeyPath != "" || r.TLSCAPath != "" {
		v.warnf(rp, "tls_cert_path, tls_key_path and tls_ca_path have no effect: use_tls verifies the server against the system roots")
	}
}
