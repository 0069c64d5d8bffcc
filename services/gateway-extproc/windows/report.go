package windows

import (
	"strings"
	"time"
)

// Report is the tracker's view at one instant: the JSON body of API
// mode's GET /v1/router_model_stats and the source of the
// semrouter_gateway_window_* series.
type Report struct {
	// UpdatedAt is when the window aggregates were computed (they are
	// recomputed at most once per update_interval); in-flight counts and
	// queue estimates are read live.
	UpdatedAt             time.Time     `json:"updated_at"`
	UpdateIntervalSeconds float64       `json:"update_interval_seconds"`
	Windows               []string      `json:"windows"`
	ModelMetrics          bool          `json:"model_metrics"`
	QueueDepthEstimation  bool          `json:"queue_depth_estimation"`
	MaxModels             int           `json:"max_models"`
	Models                []ModelReport `json:"models"`
}

// ModelReport is one model's windows (model "other": the models past
// max_models; "all": every model when model_metrics is false).
type ModelReport struct {
	Model string `json:"model"`
	// InFlight (queue_depth_estimation) is the number of requests
	// forwarded upstream and not finished.
	InFlight *int64 `json:"in_flight,omitempty"`
	// EstimatedQueueSeconds (queue_depth_estimation) is QueueWait of the
	// in-flight count and the smallest window with responses.
	EstimatedQueueSeconds *float64      `json:"estimated_queue_seconds,omitempty"`
	Windows               []WindowStats `json:"windows"`

	// throughput (responses/s) and mean latency (s) of the window the
	// queue estimate uses; m is the entry (live in-flight count).
	throughput, meanLatency float64
	m                       *Model
}

// WindowStats aggregates the requests of one model that finished in one
// window.
type WindowStats struct {
	Window string `json:"window"`
	// CoveredSeconds is the time the aggregates span: the window, less
	// the unfinished part of its oldest slot, and no more than the time
	// since the tracker started.
	CoveredSeconds            float64 `json:"covered_seconds"`
	Requests                  uint64  `json:"requests"`
	RequestsPerSecond         float64 `json:"requests_per_second"`
	Errors                    uint64  `json:"errors"`
	ErrorRatio                float64 `json:"error_ratio"`
	CompletionTokensPerSecond float64 `json:"completion_tokens_per_second"`
	// Latency (requests that got an upstream response), TTFT and TPOT
	// (streamed responses): nil when none was observed.
	Latency *Quantiles `json:"latency_seconds,omitempty"`
	TTFT    *Quantiles `json:"ttft_seconds,omitempty"`
	TPOT    *Quantiles `json:"tpot_seconds,omitempty"`
}

// Quantiles of durations in seconds (nearest rank over fixed buckets:
// within RelativeError of the exact value).
type Quantiles struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean,omitempty"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
}

// QueueWait estimates how long a request arriving now waits before the
// model starts on it, from Little's law over a recent window: with
// throughput λ (responses per second) and mean latency W, the model has
// been serving C = λ·W requests at once; the n in-flight requests beyond C
// are a backlog that drains at λ, so the wait is max(0, n − C) / λ, i.e.
// (n − C)·W / C. It is 0 without responses in the window (λ = 0).
func QueueWait(n int64, throughput, meanLatency float64) float64 {
	if throughput <= 0 {
		return 0
	}
	c := throughput * meanLatency
	return max(0, float64(n)-c) / throughput
}

// Report returns the report at now: the window aggregates computed at
// most update_interval ago, with the in-flight counts read now.
func (t *Tracker) Report(now time.Time) *Report {
	t.rmu.Lock()
	if t.report == nil || t.cfg.UpdateInterval <= 0 || now.Sub(t.reportAt) >= t.cfg.UpdateInterval || now.Before(t.reportAt) {
		t.report, t.reportAt = t.compute(now), now
	}
	base := t.report
	t.rmu.Unlock()
	out := *base
	out.Models = make([]ModelReport, len(base.Models))
	for i, mr := range base.Models {
		if t.cfg.QueueDepth {
			n := mr.m.InFlight()
			q := QueueWait(n, mr.throughput, mr.meanLatency)
			mr.InFlight, mr.EstimatedQueueSeconds = &n, &q
		}
		out.Models[i] = mr
	}
	return &out
}

// compute aggregates every model's windows at now.
func (t *Tracker) compute(now time.Time) *Report {
	r := &Report{UpdatedAt: now, UpdateIntervalSeconds: t.cfg.UpdateInterval.Seconds(), ModelMetrics: t.cfg.PerModel,
		QueueDepthEstimation: t.cfg.QueueDepth, MaxModels: t.cfg.MaxModels, Windows: make([]string, len(t.cfg.Windows))}
	for i, w := range t.cfg.Windows {
		r.Windows[i] = Label(w)
	}
	t.mu.RLock()
	models := append([]*Model(nil), t.order...)
	t.mu.RUnlock()
	r.Models = make([]ModelReport, 0, len(models))
	var agg slotHists
	for _, m := range models {
		mr := ModelReport{Model: m.name, m: m, Windows: make([]WindowStats, len(t.cfg.Windows))}
		m.mu.Lock()
		for i := range m.rings {
			ws := m.rings[i].stats(now, t.start, &agg)
			ws.Window = r.Windows[i]
			mr.Windows[i] = ws
			if mr.throughput == 0 && ws.Latency != nil && ws.CoveredSeconds > 0 {
				mr.throughput = float64(ws.Latency.Count) / ws.CoveredSeconds
				mr.meanLatency = ws.Latency.Mean
			}
		}
		m.mu.Unlock()
		r.Models = append(r.Models, mr)
	}
	return r
}

// stats sums the slots of the window ending at now. agg is scratch.
func (r *ring) stats(now, start time.Time, agg *slotHists) WindowStats {
	ns := now.UnixNano()
	cur := ns/r.width + 1
	oldest := cur - SlotsPerWindow + 1
	from := max((oldest-1)*r.width, start.UnixNano())
	covered := max(time.Duration(ns-from), time.Second).Seconds()
	*agg = slotHists{}
	var sum slot
	for i := range r.slots {
		s := &r.slots[i]
		if s.epoch < oldest || s.epoch > cur {
			continue
		}
		sum.requests += s.requests
		sum.errors += s.errors
		sum.tokens += s.tokens
		sum.latencyN += s.latencyN
		sum.ttftN += s.ttftN
		sum.tpotN += s.tpotN
		sum.latencySum += s.latencySum
		if s.h != nil {
			agg.latency.add(&s.h.latency)
			agg.ttft.add(&s.h.ttft)
			agg.tpot.add(&s.h.tpot)
		}
	}
	ws := WindowStats{CoveredSeconds: covered, Requests: sum.requests, Errors: sum.errors,
		RequestsPerSecond: float64(sum.requests) / covered, CompletionTokensPerSecond: float64(sum.tokens) / covered}
	if sum.requests > 0 {
		ws.ErrorRatio = float64(sum.errors) / float64(sum.requests)
	}
	ws.Latency = quantiles(&agg.latency, sum.latencyN)
	if ws.Latency != nil {
		ws.Latency.Mean = (sum.latencySum / time.Duration(sum.latencyN)).Seconds()
	}
	ws.TTFT = quantiles(&agg.ttft, sum.ttftN)
	ws.TPOT = quantiles(&agg.tpot, sum.tpotN)
	return ws
}

func quantiles(h *hist, n uint64) *Quantiles {
	if n == 0 {
		return nil
	}
	return &Quantiles{Count: n, P50: h.quantile(n, 0.50), P95: h.quantile(n, 0.95), P99: h.quantile(n, 0.99)}
}

// Label is the window label of d: Go's duration notation without zero
// units (1m, 5m, 1h, 1h30m, 90s → 1m30s).
func Label(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
