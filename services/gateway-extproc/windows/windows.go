// Package windows keeps per-model sliding-window aggregates of the
// requests a gateway sends upstream
// (global.services.observability.metrics.windowed_metrics): request count
// and rate, error ratio, latency p50/p95/p99, TTFT and TPOT p50/p95 of
// streamed responses, completion tokens per second, and the requests in
// flight with an estimated queue wait.
//
// Memory is bounded: each window is a ring of SlotsPerWindow time slots,
// each slot holding counters and fixed-bucket latency histograms (hist.go);
// a value leaves its window when its slot is reused. No per-request data
// is kept. Reports are recomputed at most once per update_interval, when
// read (a Prometheus scrape or the JSON endpoint); the in-flight counts are
// read live.
package windows

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// SlotsPerWindow is how many time slots make up one window: a value
// leaves a window between window-window/SlotsPerWindow and window after it
// was recorded.
const SlotsPerWindow = 12

// Label values of the aggregated series.
const (
	// Other aggregates the models seen after max_models were tracked.
	Other = "other"
	// All is the one series when model_metrics is false.
	All = "all"
)

// Settings mirrors global.services.observability.metrics.windowed_metrics.
// The zero value is disabled.
type Settings struct {
	Enabled bool
	// Windows are the time_windows, positive and increasing.
	Windows []time.Duration
	// UpdateInterval is how often reports are recomputed (at most once
	// per interval; 0: at every read).
	UpdateInterval time.Duration
	// PerModel is model_metrics: one series per model; false aggregates
	// every model under All.
	PerModel bool
	// QueueDepth is queue_depth_estimation: in-flight requests and the
	// estimated queue wait per model.
	QueueDepth bool
	// MaxModels bounds the models tracked by name (0: 50); later models
	// are aggregated under Other.
	MaxModels int
}

// DefaultMaxModels is the max_models used when it is unset.
const DefaultMaxModels = 50

// Equal reports whether s and o configure the same tracker.
func (s Settings) Equal(o Settings) bool {
	return s.Enabled == o.Enabled && slices.Equal(s.Windows, o.Windows) && s.UpdateInterval == o.UpdateInterval &&
		s.PerModel == o.PerModel && s.QueueDepth == o.QueueDepth && s.MaxModels == o.MaxModels
}

// Sample is one finished request of a model.
type Sample struct {
	// Latency is the time from the request's arrival to the end of the
	// upstream response; Responded is false when no upstream response
	// started (the latency is then not observed).
	Latency   time.Duration
	Responded bool
	// TTFT and TPOT are observed when > 0 (streamed responses).
	TTFT, TPOT time.Duration
	// CompletionTokens reported by the upstream (usage).
	CompletionTokens int64
	// Error: the request failed (llm_request_errors_total reasons other
	// than the client hanging up).
	Error bool
}

// Tracker holds the models' windows for one Settings. It is safe for
// concurrent use.
type Tracker struct {
	cfg   Settings
	start time.Time
	// widths are the slot widths of cfg.Windows.
	widths []int64

	mu     sync.RWMutex
	models map[string]*Model
	order  []*Model // creation order (reports list models in it)
	other  *Model
	// carried are the in-flight counters of the tracker this one replaced,
	// by model: requests that started before a reconfiguration end here.
	carried map[string]*atomic.Int64

	rmu      sync.Mutex
	report   *Report
	reportAt time.Time
}

// New returns a tracker for s started at now; prev, when not nil, is the
// tracker it replaces (its in-flight counts carry over).
func New(s Settings, now time.Time, prev *Tracker) *Tracker {
	if s.MaxModels <= 0 {
		s.MaxModels = DefaultMaxModels
	}
	t := &Tracker{cfg: s, start: now, models: map[string]*Model{}}
	for _, w := range s.Windows {
		t.widths = append(t.widths, max(int64(w)/SlotsPerWindow, 1))
	}
	if prev == nil {
		return t
	}
	prev.mu.RLock()
	t.carried = make(map[string]*atomic.Int64, len(prev.models)+1)
	var busy []string
	busyOther := false
	for _, m := range prev.order {
		t.carried[m.name] = m.inflight
		switch {
		case m.inflight.Load() == 0:
		case m == prev.other:
			busyOther = true
		default:
			busy = append(busy, m.name)
		}
	}
	prev.mu.RUnlock()
	// Models with requests in flight are listed from the start.
	for _, name := range busy {
		t.Model(name)
	}
	if busyOther && t.cfg.PerModel && t.other == nil {
		t.other = t.newModel(Other)
	}
	return t
}

// Settings returns the tracker's settings.
func (t *Tracker) Settings() Settings { return t.cfg }

// Model returns the model entry that counts requests of name: its own,
// All when per-model metrics are off, or Other past max_models.
func (t *Tracker) Model(name string) *Model {
	if !t.cfg.PerModel {
		name = All
	}
	t.mu.RLock()
	m := t.models[name]
	t.mu.RUnlock()
	if m != nil {
		return m
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if m = t.models[name]; m != nil {
		return m
	}
	if len(t.models) >= t.cfg.MaxModels {
		if t.other == nil {
			t.other = t.newModel(Other)
		}
		return t.other
	}
	m = t.newModel(name)
	t.models[name] = m
	return m
}

func (t *Tracker) newModel(name string) *Model {
	m := &Model{name: name, t: t, rings: make([]ring, len(t.widths))}
	for i, w := range t.widths {
		m.rings[i].width = w
	}
	if c := t.carried[name]; c != nil {
		m.inflight = c
	} else {
		m.inflight = new(atomic.Int64)
	}
	t.order = append(t.order, m)
	return m
}

// Model is the windows of one tracked model (or of Other / All).
type Model struct {
	name     string
	t        *Tracker
	inflight *atomic.Int64

	mu    sync.Mutex
	rings []ring
}

// Name is the model label of the entry.
func (m *Model) Name() string { return m.name }

// Tracker is the tracker the entry belongs to.
func (m *Model) Tracker() *Tracker { return m.t }

// Start counts a request forwarded upstream as in flight.
func (m *Model) Start() { m.inflight.Add(1) }

// Done ends a request counted by Start.
func (m *Model) Done() { m.inflight.Add(-1) }

// InFlight is the number of requests in flight.
func (m *Model) InFlight() int64 { return m.inflight.Load() }

// Record adds one finished request at now to every window.
func (m *Model) Record(now time.Time, s Sample) {
	ns := now.UnixNano()
	var lb, tb, pb uint8
	if s.Responded {
		lb = bucketOf(s.Latency)
	}
	if s.TTFT > 0 {
		tb = bucketOf(s.TTFT)
	}
	if s.TPOT > 0 {
		pb = bucketOf(s.TPOT)
	}
	m.mu.Lock()
	for i := range m.rings {
		sl := m.rings[i].slotAt(ns)
		if sl == nil {
			continue
		}
		sl.requests++
		if s.Error {
			sl.errors++
		}
		if s.CompletionTokens > 0 {
			sl.tokens += uint64(s.CompletionTokens)
		}
		if !s.Responded && s.TTFT <= 0 && s.TPOT <= 0 {
			continue
		}
		h := sl.hists()
		if s.Responded {
			h.latency[lb]++
			sl.latencyN++
			sl.latencySum += s.Latency
		}
		if s.TTFT > 0 {
			h.ttft[tb]++
			sl.ttftN++
		}
		if s.TPOT > 0 {
			h.tpot[pb]++
			sl.tpotN++
		}
	}
	m.mu.Unlock()
}

// ring is one window: SlotsPerWindow slots of width ns.
type ring struct {
	width int64
	slots [SlotsPerWindow]slot
}

// slot aggregates the requests recorded in one time slot.
type slot struct {
	epoch      int64 // slot number (time / width); 0: never used
	requests   uint64
	errors     uint64
	tokens     uint64
	latencyN   uint64
	ttftN      uint64
	tpotN      uint64
	latencySum time.Duration
	h          *slotHists // allocated on the first latency observed
}

type slotHists struct {
	latency, ttft, tpot hist
}

// hists returns the slot's histograms, allocating them once.
func (s *slot) hists() *slotHists {
	if s.h == nil {
		s.h = new(slotHists)
	}
	return s.h
}

// slotAt returns the slot of the instant ns, cleared when it last held an
// older time slot; nil when the slot already moved on to a newer time (ns
// is a whole window late: a caller's clock reading raced a newer one).
func (r *ring) slotAt(ns int64) *slot {
	ep := ns/r.width + 1
	s := &r.slots[ep%SlotsPerWindow]
	if s.epoch > ep {
		return nil
	}
	if s.epoch != ep {
		h := s.h
		*s = slot{epoch: ep, h: h}
		if h != nil {
			*h = slotHists{}
		}
	}
	return s
}
