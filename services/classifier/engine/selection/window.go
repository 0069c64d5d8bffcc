package selection

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Observation is one completed request's latency as the gateway measured it.
type Observation struct {
	Model string
	TTFT  time.Duration // zero when not measured (non-streaming)
	TPOT  time.Duration // zero when not measured
	At    time.Time     // when the response completed
}

// LatencyRecorder accepts latency observations. The gateway publishes them
// (NATS, later) and every classifier replica records them, so the window is
// shared cluster-wide in effect.
type LatencyRecorder interface {
	Record(o Observation)
}

// Window keeps the most recent observations per model and answers
// percentiles over those younger than the window span. A computed percentile
// is cached until an observation is recorded for that model or a sample
// enters or leaves the window; WithRefresh additionally lets a cached value
// serve for a fixed time under constant traffic. It is safe for concurrent
// use.
type Window struct {
	span       time.Duration
	maxSamples int
	refresh    time.Duration

	mu      sync.Mutex
	byModel map[string]*ring
	scratch []time.Duration
}

var (
	_ LatencyRecorder = (*Window)(nil)
	_ LatencyStats    = (*Window)(nil)
)

type sample struct {
	ttft, tpot time.Duration
	at         time.Time
}

type ring struct {
	buf     []sample
	next    int
	version uint64
	cache   []cached
}

// cached is one computed percentile and the interval it stays exact in.
type cached struct {
	metric   Metric
	p        float64
	version  uint64
	from     time.Time // the now it was computed at
	until    time.Time // first instant the included sample set changes
	hasUntil bool
	d        time.Duration
	ok       bool
}

// WindowOption tunes a Window.
type WindowOption func(*Window)

// WithRefresh lets a cached percentile serve for up to d after it was
// computed even when new observations arrived, bounding the sorting work
// under heavy traffic. Zero (the default) keeps percentiles exact.
func WithRefresh(d time.Duration) WindowOption {
	return func(w *Window) { w.refresh = d }
}

// NewWindow returns a window that considers observations at most span old
// (zero: no age limit) and keeps at most maxSamples per model (oldest
// dropped first).
func NewWindow(span time.Duration, maxSamples int, opts ...WindowOption) *Window {
	if maxSamples <= 0 {
		maxSamples = 1024
	}
	w := &Window{span: span, maxSamples: maxSamples, byModel: make(map[string]*ring)}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Record adds one observation.
func (w *Window) Record(o Observation) {
	if o.Model == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.byModel[o.Model]
	if r == nil {
		r = &ring{buf: make([]sample, 0, min(w.maxSamples, 64))}
		w.byModel[o.Model] = r
	}
	s := sample{ttft: o.TTFT, tpot: o.TPOT, at: o.At}
	r.version++
	if len(r.buf) < w.maxSamples {
		r.buf = append(r.buf, s)
		return
	}
	r.buf[r.next] = s
	r.next = (r.next + 1) % w.maxSamples
}

// Percentile returns the p-th percentile (nearest rank, p in (0,100]) of the
// metric for model over observations in (now-span, now]. Zero-valued
// measurements (not measured) are ignored.
func (w *Window) Percentile(model string, m Metric, p float64, now time.Time) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.byModel[model]
	if r == nil {
		return 0, false
	}
	ci := -1
	for i := range r.cache {
		c := &r.cache[i]
		if c.metric != m || c.p != p {
			continue
		}
		ci = i
		if now.Before(c.from) {
			break
		}
		if w.refresh > 0 && now.Before(c.from.Add(w.refresh)) {
			return c.d, c.ok
		}
		if c.version == r.version && (!c.hasUntil || now.Before(c.until)) {
			return c.d, c.ok
		}
		break
	}
	d, ok, until, hasUntil := w.compute(r, m, p, now)
	entry := cached{metric: m, p: p, version: r.version, from: now, until: until, hasUntil: hasUntil, d: d, ok: ok}
	if ci >= 0 {
		r.cache[ci] = entry
	} else {
		r.cache = append(r.cache, entry)
	}
	return d, ok
}

// compute sorts the in-window values. until is the first instant after now
// at which a sample would enter (future timestamp) or leave (expiry) the
// window.
func (w *Window) compute(r *ring, m Metric, p float64, now time.Time) (time.Duration, bool, time.Time, bool) {
	var until time.Time
	hasUntil := false
	earliest := func(t time.Time) {
		if !hasUntil || t.Before(until) {
			until, hasUntil = t, true
		}
	}
	vals := w.scratch[:0]
	for _, s := range r.buf {
		if s.at.After(now) {
			earliest(s.at)
			continue
		}
		if w.span > 0 {
			if !s.at.After(now.Add(-w.span)) {
				continue
			}
			earliest(s.at.Add(w.span))
		}
		v := s.ttft
		if m == TPOT {
			v = s.tpot
		}
		if v > 0 {
			vals = append(vals, v)
		}
	}
	w.scratch = vals
	if len(vals) == 0 {
		return 0, false, until, hasUntil
	}
	slices.Sort(vals)
	return vals[nearestRank(len(vals), p)], true, until, hasUntil
}

// nearestRank maps a percentile to an index into n sorted values.
func nearestRank(n int, p float64) int {
	if p <= 0 {
		p = 50
	}
	if p > 100 {
		p = 100
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	return min(max(rank-1, 0), n-1)
}
