package gateway

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/semrouter/semrouter/pkg/metrics"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
	"github.com/semrouter/semrouter/services/gateway-extproc/windows"
)

// windowState keeps the windowed metrics tracker across config revisions
// (global.services.observability.metrics.windowed_metrics): a revision
// with the same settings keeps the windows; other settings start new ones
// (in-flight counts carry over); disabled drops them.
type windowState struct {
	mu      sync.Mutex
	tracker atomic.Pointer[windows.Tracker]
}

// configureWindows applies the windowed-metrics settings of t.
func (g *Gateway) configureWindows(t *routes.Table) {
	s := &g.win
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.tracker.Load()
	if !t.Windows.Enabled || len(t.Windows.Windows) == 0 {
		s.tracker.Store(nil)
		return
	}
	if cur != nil && cur.Settings().Equal(t.Windows) {
		return
	}
	s.tracker.Store(windows.New(t.Windows, g.now(), cur))
}

// ModelStats returns the windowed per-model report at this instant, or
// nil when windowed_metrics is off.
func (g *Gateway) ModelStats() *windows.Report {
	tr := g.win.tracker.Load()
	if tr == nil {
		return nil
	}
	return tr.Report(g.now())
}

// windowSource feeds the semrouter_gateway_window_* series.
type windowSource struct{ g *Gateway }

var _ metrics.WindowSource = windowSource{}

// WindowSeries implements metrics.WindowSource.
func (w windowSource) WindowSeries() metrics.WindowSeries {
	r := w.g.ModelStats()
	if r == nil {
		return metrics.WindowSeries{}
	}
	return SeriesOf(r)
}

// SeriesOf maps a report to the Prometheus series.
func SeriesOf(r *windows.Report) metrics.WindowSeries {
	var out metrics.WindowSeries
	for _, m := range r.Models {
		for _, ws := range m.Windows {
			row := metrics.WindowRow{Model: m.Model, Window: ws.Window, Requests: float64(ws.Requests),
				RequestRate: ws.RequestsPerSecond, ErrorRatio: ws.ErrorRatio, TokensPerSecond: ws.CompletionTokensPerSecond}
			if q := ws.Latency; q != nil {
				row.Latency = []float64{q.P50, q.P95, q.P99}
			}
			if q := ws.TTFT; q != nil {
				row.TTFT = []float64{q.P50, q.P95}
			}
			if q := ws.TPOT; q != nil {
				row.TPOT = []float64{q.P50, q.P95}
			}
			out.Rows = append(out.Rows, row)
		}
		if m.InFlight != nil && m.EstimatedQueueSeconds != nil {
			out.Load = append(out.Load, metrics.ModelLoad{Model: m.Model, InFlight: float64(*m.InFlight), QueueSeconds: *m.EstimatedQueueSeconds})
		}
	}
	return out
}

// windowStart counts a request forwarded upstream as in flight for its
// model (the first target).
func (x *Exchange) windowStart(fwd *Forward) {
	tr := x.g.win.tracker.Load()
	if tr == nil || x.win != nil || len(fwd.Targets) == 0 || fwd.Targets[0].Model == nil {
		return
	}
	x.win = tr.Model(fwd.Targets[0].Model.Name)
	x.win.Start()
}

// windowRetarget moves the in-flight count to the model of t when
// failover hands the request to another model.
func (x *Exchange) windowRetarget(t Target) {
	if x.win == nil || t.Model == nil {
		return
	}
	m := x.win.Tracker().Model(t.Model.Name)
	if m == x.win {
		return
	}
	x.win.Done()
	m.Start()
	x.win = m
}

// windowEnd ends the in-flight count and records the finished request of
// model (routed upstream) in its windows; reason is its
// llm_request_errors_total reason ("": it did not fail).
func (x *Exchange) windowEnd(model, reason string) {
	w := x.win
	if w == nil {
		return
	}
	x.win = nil
	w.Done()
	if x.routed.path != "upstream" || model == "" {
		return
	}
	s := windows.Sample{Error: reason != "" && reason != metrics.ReasonCancellation}
	if o := x.resp.obs; o != nil {
		s.Latency, s.Responded, s.CompletionTokens = o.Total, true, o.CompletionTokens
		if o.Streamed {
			s.TTFT, s.TPOT = o.TTFT, o.TPOT
		}
	}
	if w.Name() != model && w.Name() != windows.All {
		w = w.Tracker().Model(model)
	}
	w.Record(x.g.now(), s)
}

// windowLooper hands the windows over to a looper run's sub-calls: the
// run stops counting as in flight on the routed model and is recorded in
// no model's windows (each sub-call is, on its own model, by
// WindowSubCall). The run's end-to-end latency is in the per-request
// series (request latency histograms, traces), not in the windows, whose
// latency and queue figures describe the models.
func (x *Exchange) windowLooper() {
	if w := x.win; w != nil {
		x.win = nil
		w.Done()
	}
}

// WindowSubCall counts one looper sub-call to model as in flight in the
// windowed metrics, and returns the function to call once when it ends:
// status is the HTTP status of the answer (0: none came) and body the
// answer. The sub-call is recorded on model: its latency (from the call
// to the end of the answer), the answer's completion tokens, and an
// error unless it got a 2xx answer or ctx was cancelled (the client hung
// up or the algorithm no longer needed it). It is safe for concurrent
// use (concurrent sub-calls of fusion, remom, ratings).
func (x *Exchange) WindowSubCall(ctx context.Context, model string) (end func(status int, body []byte)) {
	tr := x.g.win.tracker.Load()
	if tr == nil || model == "" {
		return func(int, []byte) {}
	}
	m := tr.Model(model)
	m.Start()
	start := x.g.now()
	return func(status int, body []byte) {
		m.Done()
		now := x.g.now()
		ok := status >= 200 && status < 300
		s := windows.Sample{Error: !ok && !(status == 0 && clientGone(ctx))}
		if status != 0 {
			s.Latency, s.Responded = now.Sub(start), true
		}
		if ok {
			if u, found := usageIn(body); found {
				s.CompletionTokens = u.CompletionTokens
			}
		}
		m.Record(now, s)
	}
}
