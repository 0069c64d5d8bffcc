package gateway

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/semrouter/semrouter/pkg/metrics"
)

// Served-report delivery (see ServedReporter). Two things can keep a
// report from the cache:
//
//   - the cache refuses it (ErrReportUnsupported: a replica that predates
//     served reports). Reports then pause for ProbeAfter, and speculative
//     lookups ask for none, so the cache counts them itself; after the
//     pause the next speculative lookup asks again and its report probes
//     the cache. Each refusal in a row doubles the pause, up to
//     MaxProbeAfter; a delivered report ends the backoff. A rolling
//     upgrade of the cache therefore ends with reports flowing again
//     without a gateway restart.
//   - the report is lost (no responder, timeout: ErrStageUnavailable,
//     ErrStageTimeout). It then waits in a bounded in-memory buffer that
//     one background goroutine drains: a retry after RetryDelay, doubling
//     while the cache stays away, until RetryWindow after the first
//     failure. A report that finds the buffer full, or is still
//     undelivered at the end of its window, is dropped and counted. No
//     request ever waits for this.
//
// A report is sent exactly when its lookup asked for one
// (CacheQuery.ReportServed), whatever happened in between, so a lookup is
// counted once: by the cache itself, or by the report. A retried report
// whose first attempt reached the cache but whose reply was late is
// counted twice; a timeout cannot tell the two apart.

// Served-report defaults (ServedReportPolicy zero values).
const (
	DefaultReportProbeAfter    = 15 * time.Second
	DefaultMaxReportProbeAfter = 5 * time.Minute
	DefaultReportRetryBuffer   = 256
	DefaultReportRetryDelay    = 500 * time.Millisecond
	DefaultReportRetryWindow   = 10 * time.Second
	// maxReportRetryDelay caps the doubling retry delay.
	maxReportRetryDelay = 4 * time.Second
)

// reportTimeout bounds one served report attempt: it is sent after the
// request was answered.
const reportTimeout = time.Second

// ServedReportPolicy tunes served-report delivery; zero fields take the
// defaults above.
type ServedReportPolicy struct {
	// ProbeAfter is how long reports pause after the cache refused one;
	// it doubles with each refusal in a row, up to MaxProbeAfter.
	ProbeAfter, MaxProbeAfter time.Duration
	// RetryBuffer bounds the lost reports waiting for a retry.
	RetryBuffer int
	// RetryDelay is the wait before the first retry (doubling while the
	// cache stays away, up to 4s); RetryWindow is how long after its first
	// failure a report may still be delivered.
	RetryDelay, RetryWindow time.Duration
	// After replaces time.After for the retry delays (tests).
	After func(time.Duration) <-chan time.Time
}

// WithServedReports tunes served-report delivery (pauses after a refusal,
// the retry buffer of lost reports).
func WithServedReports(p ServedReportPolicy) Option {
	return func(g *Gateway) { g.served.policy = p }
}

func (p *ServedReportPolicy) defaults() {
	if p.ProbeAfter <= 0 {
		p.ProbeAfter = DefaultReportProbeAfter
	}
	if p.MaxProbeAfter <= 0 {
		p.MaxProbeAfter = DefaultMaxReportProbeAfter
	}
	p.MaxProbeAfter = max(p.MaxProbeAfter, p.ProbeAfter)
	if p.RetryBuffer <= 0 {
		p.RetryBuffer = DefaultReportRetryBuffer
	}
	if p.RetryDelay <= 0 {
		p.RetryDelay = DefaultReportRetryDelay
	}
	if p.RetryWindow <= 0 {
		p.RetryWindow = DefaultReportRetryWindow
	}
	if p.After == nil {
		p.After = time.After
	}
}

// servedReports is the gateway's served-report state.
type servedReports struct {
	policy ServedReportPolicy
	// pausedUntil (unix ns) is when reports resume after a refusal; 0:
	// not paused. Read lock-free on the request path.
	pausedUntil atomic.Int64

	mu sync.Mutex
	// nextPause is the pause the next refusal sets (0: ProbeAfter).
	nextPause time.Duration
	// pending are the lost reports waiting for a retry, oldest first; the
	// one being retried stays in until its attempt ends.
	pending  []pendingReport
	draining bool
}

type pendingReport struct {
	rep     ServedReporter
	r       ServedReport
	expires time.Time
}

// wanted reports whether a lookup made at now asks for a served report.
func (s *servedReports) wanted(now func() time.Time) bool {
	u := s.pausedUntil.Load()
	return u == 0 || now().UnixNano() >= u
}

// refused pauses reports after a refusal at now and returns the pause; 0
// when they were paused already (a report sent before the pause began).
func (s *servedReports) refused(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.pausedUntil.Load(); u != 0 && now.UnixNano() < u {
		return 0
	}
	d := s.nextPause
	if d <= 0 {
		d = s.policy.ProbeAfter
	}
	s.pausedUntil.Store(now.Add(d).UnixNano())
	s.nextPause = min(2*d, s.policy.MaxProbeAfter)
	return d
}

// delivered ends a pause and its backoff; it reports whether reports had
// been paused.
func (s *servedReports) delivered() bool {
	if s.pausedUntil.Load() == 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	was := s.pausedUntil.Swap(0) != 0
	s.nextPause = 0
	return was
}

// reportServed tells a ServedReporter cache, in the background, what this
// request served from the speculative lookup s: the candidate cacheHit
// served, or a miss. Nothing is sent when s's answer was not used or its
// lookup did not ask for a report.
func (x *Exchange) reportServed(ctx context.Context, s *speculation) {
	if s == nil || !s.used || !s.report {
		return
	}
	rep, ok := x.g.stages.Cache.(ServedReporter)
	if !ok {
		return
	}
	r := &ServedReport{Partition: s.part, Hit: x.routed.cacheHit}
	if r.Hit {
		r.EntryID, r.Exact = x.routed.cacheEntry, x.routed.cacheExact
	}
	ctx = context.WithoutCancel(ctx)
	x.g.background.Add(1)
	go x.g.sendReport(ctx, rep, r)
}

func (g *Gateway) sendReport(ctx context.Context, rep ServedReporter, r *ServedReport) {
	defer g.background.Done()
	switch err := g.attemptReport(ctx, rep, r); {
	case err == nil:
		g.metrics.ServedReport(metrics.ServedReportSent)
	case lost(err):
		g.retryReport(rep, r)
	}
}

// attemptReport sends r once and handles every outcome but a lost report
// (returned for the caller to retry or drop).
func (g *Gateway) attemptReport(ctx context.Context, rep ServedReporter, r *ServedReport) error {
	ctx, cancel := context.WithTimeout(ctx, reportTimeout)
	defer cancel()
	err := rep.ReportServed(ctx, r)
	switch {
	case err == nil:
		if g.served.delivered() {
			g.log.Info("the cache takes served reports again")
		}
	case errors.Is(err, ErrReportUnsupported):
		g.metrics.ServedReport(metrics.ServedReportRefused)
		if d := g.served.refused(g.now()); d > 0 {
			g.log.Debug("the cache takes no served reports; not sending them for a while", "probe_after", d, "error", err)
		}
	case lost(err):
	default:
		g.metrics.ServedReport(metrics.ServedReportFailed)
		g.log.Warn("cache served report", "decision", r.Partition.Decision, "model", r.Partition.Model, "error", err)
	}
	return err
}

// lost: the report may not have reached the cache (no responder, late).
func lost(err error) bool {
	return errors.Is(err, ErrStageUnavailable) || errors.Is(err, ErrStageTimeout) || errors.Is(err, context.DeadlineExceeded)
}

// retryReport queues a lost report for the background retries, or drops
// it when the buffer is full. It never blocks.
func (g *Gateway) retryReport(rep ServedReporter, r *ServedReport) {
	s := &g.served
	s.mu.Lock()
	if len(s.pending) >= s.policy.RetryBuffer {
		s.mu.Unlock()
		g.metrics.ServedReport(metrics.ServedReportDroppedFull)
		g.log.Debug("cache served report dropped: the retry buffer is full", "decision", r.Partition.Decision, "model", r.Partition.Model)
		return
	}
	s.pending = append(s.pending, pendingReport{rep: rep, r: *r, expires: g.now().Add(s.policy.RetryWindow)})
	start := !s.draining
	s.draining = true
	s.mu.Unlock()
	if start {
		g.background.Add(1)
		go g.drainReports()
	}
}

// drainReports retries the pending reports in order until none is left:
// each round waits for the retry delay, drops the expired ones, and sends
// the others until one is lost again (the cache is still away: the delay
// doubles) or all were handled (the delay starts over). Retries belong to
// no request (no trace parent).
func (g *Gateway) drainReports() {
	defer g.background.Done()
	ctx := context.Background()
	s := &g.served
	delay := s.policy.RetryDelay
	for {
		<-s.policy.After(delay)
		delay = min(2*delay, max(maxReportRetryDelay, s.policy.RetryDelay))
		for {
			p, ok := g.nextPending()
			if !ok {
				break
			}
			err := g.attemptReport(ctx, p.rep, &p.r)
			if lost(err) {
				break
			}
			if err == nil {
				g.metrics.ServedReport(metrics.ServedReportRetried)
				delay = s.policy.RetryDelay
			}
			s.mu.Lock()
			s.dropFront(1)
			s.mu.Unlock()
		}
		s.mu.Lock()
		if len(s.pending) == 0 {
			s.draining = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
}

// nextPending drops the expired reports at the head of the buffer and
// returns the oldest live one (it stays in the buffer).
func (g *Gateway) nextPending() (pendingReport, bool) {
	s := &g.served
	now := g.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(s.pending) && !now.Before(s.pending[n].expires) {
		n++
	}
	if n > 0 {
		for _, p := range s.pending[:n] {
			g.metrics.ServedReport(metrics.ServedReportDroppedExpired)
			g.log.Debug("cache served report dropped: undelivered within the retry window",
				"decision", p.r.Partition.Decision, "model", p.r.Partition.Model)
		}
		s.dropFront(n)
	}
	if len(s.pending) == 0 {
		return pendingReport{}, false
	}
	return s.pending[0], true
}

// dropFront removes the n oldest pending reports (under mu).
func (s *servedReports) dropFront(n int) {
	m := copy(s.pending, s.pending[n:])
	clear(s.pending[m:])
	s.pending = s.pending[:m]
}
