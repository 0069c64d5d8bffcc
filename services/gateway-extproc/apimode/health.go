package apimode

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

// Passive outlier detection defaults, applied when a model's reliability
// block leaves the key unset (Envoy's outlier-detection semantics, so API
// mode and the Envoy clusters config-hub serves behave alike).
const (
	// DefaultConsecutiveFailures is reliability.consecutive_5xx when unset.
	DefaultConsecutiveFailures = 5
	// DefaultBaseEjectionTime is reliability.base_ejection_time when unset.
	DefaultBaseEjectionTime = 30 * time.Second
	// DefaultMaxEjectionPercent is reliability.max_ejection_percent when
	// unset. At least one backend may always be ejected, never the last
	// one in rotation.
	DefaultMaxEjectionPercent = 10
	// MaxEjectionTime caps an ejection (base_ejection_time × the number of
	// times the backend was ejected) unless base_ejection_time is larger.
	MaxEjectionTime = 300 * time.Second
)

// UpstreamObserver is told about upstream attempts and ejections
// (*metrics.Gateway implements it).
type UpstreamObserver interface {
	UpstreamAttemptFailed(model, backend, reason string)
	UpstreamEjected(model, backend string, ejected bool)
}

// endpointKey names one backend of one model (outlier state is per model,
// like Envoy's per-cluster detection). The strings are the table's own, so
// building a key does not allocate.
type endpointKey struct {
	model, endpoint, baseURL, path string
}

func keyOf(m *routes.Model, b *routes.Backend) endpointKey {
	return endpointKey{model: m.Name, endpoint: b.Endpoint, baseURL: b.BaseURL, path: b.ChatPath}
}

// endpointHealth is the passive health of one backend.
type endpointHealth struct {
	backend   string    // name, for logs and metrics
	failures  int       // consecutive failures
	ejections int       // ejection multiplier
	until     time.Time // ejected until; zero: in rotation
	returned  time.Time // when the last ejection ended
}

// outliers tracks consecutive failures per backend and ejects a backend
// for a while once they reach the model's threshold. It is shared by all
// requests of a Server and safe for concurrent use.
type outliers struct {
	now func() time.Time
	log *slog.Logger
	obs UpstreamObserver

	// ejected counts entries with a non-zero until (some may have expired
	// and not been returned yet); zero lets the pick skip the lock.
	ejected atomic.Int32
	// tracked is len(eps); zero lets a success skip the lock.
	tracked atomic.Int32

	mu  sync.Mutex
	eps map[endpointKey]*endpointHealth
}

func newOutliers(now func() time.Time, log *slog.Logger, obs UpstreamObserver) *outliers {
	return &outliers{now: now, log: log, obs: obs, eps: map[endpointKey]*endpointHealth{}}
}

// policy is a model's outlier settings with defaults applied.
type policy struct {
	consecutive int
	base        time.Duration
	maxPercent  int
}

func policyOf(m *routes.Model) policy {
	p := policy{consecutive: m.Outlier.Consecutive5xx, base: m.Outlier.BaseEjectionTime, maxPercent: m.Outlier.MaxEjectionPercent}
	if p.consecutive <= 0 {
		p.consecutive = DefaultConsecutiveFailures
	}
	if p.base <= 0 {
		p.base = DefaultBaseEjectionTime
	}
	if p.maxPercent <= 0 {
		p.maxPercent = DefaultMaxEjectionPercent
	}
	return p
}

// maxEjected is how many of n backends may be ejected at once: the
// percentage rounded down, at least one, never all of them.
func (p policy) maxEjected(n int) int {
	return min(max(n*p.maxPercent/100, 1), n-1)
}

// isEjected reports whether b of m is out of rotation at now. An ejection
// that has run out is ended here (logged, gauge reset).
func (o *outliers) isEjected(m *routes.Model, b *routes.Backend, now time.Time) bool {
	if o.ejected.Load() == 0 {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ejectedLocked(keyOf(m, b), now)
}

// ejectedMask marks the ejected backends among the first 64 of m at now
// (bit i: m.Backends[i]), under one lock.
func (o *outliers) ejectedMask(m *routes.Model, now time.Time) uint64 {
	if o.ejected.Load() == 0 {
		return 0
	}
	var out uint64
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range m.Backends[:min(len(m.Backends), 64)] {
		if o.ejectedLocked(keyOf(m, &m.Backends[i]), now) {
			out |= 1 << i
		}
	}
	return out
}

func (o *outliers) ejectedLocked(k endpointKey, now time.Time) bool {
	h := o.eps[k]
	if h == nil || h.until.IsZero() {
		return false
	}
	if now.Before(h.until) {
		return true
	}
	h.until, h.failures, h.returned = time.Time{}, 0, now
	o.ejected.Add(-1)
	o.log.Info("upstream backend returned to rotation", slog.String("model", k.model), slog.String("backend", h.backend))
	o.obs.UpstreamEjected(k.model, h.backend, false)
	return false
}

// success resets b's consecutive failures. A backend that stays healthy
// for base_ejection_time after an ejection has its multiplier lowered by
// one per success after that.
func (o *outliers) success(m *routes.Model, b *routes.Backend) {
	if o.tracked.Load() == 0 {
		return
	}
	k := keyOf(m, b)
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.eps[k]
	if h == nil || !h.until.IsZero() {
		return
	}
	h.failures = 0
	if h.ejections > 0 && o.now().Sub(h.returned) >= policyOf(m).base {
		h.ejections--
	}
	if h.ejections == 0 {
		delete(o.eps, k)
		o.tracked.Add(-1)
	}
}

// failure counts one failed attempt on b of m and ejects b once the
// model's threshold is reached, unless that would leave fewer backends of
// m in rotation than max_ejection_percent allows. It reports whether b
// was ejected now.
func (o *outliers) failure(m *routes.Model, b *routes.Backend) bool {
	now := o.now()
	k := keyOf(m, b)
	p := policyOf(m)
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.eps[k]
	if h == nil {
		h = &endpointHealth{backend: b.Name}
		o.eps[k] = h
		o.tracked.Add(1)
	}
	if o.ejectedLocked(k, now) {
		return false // an attempt that started before the ejection
	}
	h.failures++
	if h.failures < p.consecutive {
		return false
	}
	out := 0
	for i := range m.Backends {
		if o.ejectedLocked(keyOf(m, &m.Backends[i]), now) {
			out++
		}
	}
	if out+1 > p.maxEjected(len(m.Backends)) {
		if h.failures == p.consecutive {
			o.log.Info("upstream backend not ejected: too few would stay in rotation", slog.String("model", m.Name),
				slog.String("backend", b.Name), slog.Int("ejected", out), slog.Int("backends", len(m.Backends)))
		}
		return false
	}
	h.ejections++
	d := time.Duration(h.ejections) * p.base
	if limit := max(MaxEjectionTime, p.base); d > limit {
		d = limit
	}
	h.until, h.failures = now.Add(d), 0
	o.ejected.Add(1)
	o.log.Info("upstream backend ejected", slog.String("model", m.Name), slog.String("backend", b.Name),
		slog.Int("consecutive_failures", p.consecutive), slog.Duration("for", d), slog.Int("ejections", h.ejections))
	o.obs.UpstreamEjected(m.Name, b.Name, true)
	// End the ejection on time even when no request asks for the model
	// (log and gauge); a pick ends it too, whichever comes first.
	time.AfterFunc(d, func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.ejectedLocked(k, o.now())
	})
	return true
}

// prune forgets backends that no model of t has any more (after a config
// revision), ending their ejections.
func (o *outliers) prune(t *routes.Table) {
	if o.tracked.Load() == 0 {
		return
	}
	keep := make(map[endpointKey]bool)
	for i := range t.Models {
		m := &t.Models[i]
		for j := range m.Backends {
			keep[keyOf(m, &m.Backends[j])] = true
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, h := range o.eps {
		if keep[k] {
			continue
		}
		if !h.until.IsZero() {
			o.ejected.Add(-1)
			o.obs.UpstreamEjected(k.model, h.backend, false)
		}
		delete(o.eps, k)
		o.tracked.Add(-1)
	}
}
