package windows

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func settings() Settings {
	return Settings{Enabled: true, Windows: []time.Duration{time.Minute, 5 * time.Minute, time.Hour},
		UpdateInterval: 30 * time.Second, PerModel: true, QueueDepth: true, MaxModels: 50}
}

// model returns the report of name, failing the test when it is missing.
func model(t *testing.T, r *Report, name string) ModelReport {
	t.Helper()
	for _, m := range r.Models {
		if m.Model == name {
			return m
		}
	}
	t.Fatalf("no model %q in the report (%d models)", name, len(r.Models))
	return ModelReport{}
}

func TestBucketMidpointWithinRelativeError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		us := rng.Int64N(int64(maxMicros))
		if rng.IntN(2) == 0 {
			us = rng.Int64N(100000) // dense below 100ms
		}
		d := time.Duration(us) * time.Microsecond
		got := bucketMid(int(bucketOf(d)))
		want := d.Seconds()
		if want < linearLimit/1e6 {
			if got != want {
				t.Fatalf("%v: got %v, want exact %v", d, got, want)
			}
			continue
		}
		if rel := math.Abs(got-want) / want; rel > RelativeError+1e-12 {
			t.Fatalf("%v: midpoint %v is %.4f off (> %.4f)", d, got, rel, RelativeError)
		}
	}
	if b := bucketOf(10 * time.Hour); int(b) != numBuckets-1 {
		t.Errorf("10h lands in bucket %d, want the last (%d)", b, numBuckets-1)
	}
	if b := bucketOf(-time.Second); b != 0 {
		t.Errorf("negative duration in bucket %d", b)
	}
}

// TestRollOff: a request stays in each window until the window has
// passed over its slot, and is gone a window later.
func TestRollOff(t *testing.T) {
	s := settings()
	for i, w := range s.Windows {
		t.Run(Label(w), func(t *testing.T) {
			tr := New(s, t0, nil)
			tr.Model("m1").Record(t0, Sample{Latency: 200 * time.Millisecond, Responded: true})
			width := w / SlotsPerWindow
			for _, tc := range []struct {
				name string
				at   time.Duration
				want uint64
			}{
				{"at once", 0, 1},
				{"just before the last slot ends", w - width - time.Nanosecond, 1},
				{"a window later", w, 0},
				{"long after", 3 * w, 0},
			} {
				got := model(t, tr.compute(t0.Add(tc.at)), "m1").Windows[i]
				if got.Requests != tc.want {
					t.Errorf("%s (+%v): %d requests, want %d", tc.name, tc.at, got.Requests, tc.want)
				}
				if (got.Latency != nil) != (tc.want > 0) {
					t.Errorf("%s: latency %+v with %d requests", tc.name, got.Latency, tc.want)
				}
			}
		})
	}
}

// TestShorterWindowsRollFirst: after 2 minutes the request left the 1m
// window only.
func TestShorterWindowsRollFirst(t *testing.T) {
	tr := New(settings(), t0, nil)
	tr.Model("m1").Record(t0, Sample{Latency: time.Second, Responded: true})
	r := tr.compute(t0.Add(2 * time.Minute))
	got := []uint64{}
	for _, w := range model(t, r, "m1").Windows {
		got = append(got, w.Requests)
	}
	if want := []uint64{0, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("requests per window = %v, want %v", got, want)
	}
	if want := []string{"1m", "5m", "1h"}; !slices.Equal(r.Windows, want) {
		t.Errorf("windows %v, want %v", r.Windows, want)
	}
}

// TestQuantilesWithinBucketError compares the reported quantiles with the
// exact nearest-rank quantiles of the recorded values.
func TestQuantilesWithinBucketError(t *testing.T) {
	for _, tc := range []struct {
		name string
		gen  func(*rand.Rand) time.Duration
	}{
		{"uniform 10ms-2s", func(r *rand.Rand) time.Duration {
			return 10*time.Millisecond + time.Duration(r.Int64N(int64(2*time.Second)))
		}},
		{"long tail", func(r *rand.Rand) time.Duration {
			return time.Duration(math.Exp(r.NormFloat64()*1.5) * float64(300*time.Millisecond))
		}},
		{"sub-millisecond", func(r *rand.Rand) time.Duration {
			return time.Duration(r.Int64N(int64(time.Millisecond))) + time.Microsecond
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			tr := New(settings(), t0, nil)
			m := tr.Model("m1")
			var vals []time.Duration
			for i := range 5000 {
				d := tc.gen(rng)
				vals = append(vals, d)
				// spread over 50s: every sample stays in the 1m window
				m.Record(t0.Add(time.Duration(i)*10*time.Millisecond), Sample{Latency: d, Responded: true, TTFT: d / 4, TPOT: d / 100})
			}
			slices.Sort(vals)
			exact := func(q float64) float64 {
				return (vals[int(math.Ceil(q*float64(len(vals))))-1] / time.Microsecond * time.Microsecond).Seconds()
			}
			ws := model(t, tr.compute(t0.Add(50*time.Second)), "m1").Windows[0]
			if ws.Latency == nil || ws.Latency.Count != 5000 || ws.TTFT == nil || ws.TPOT == nil {
				t.Fatalf("window stats %+v", ws)
			}
			for _, q := range []struct {
				q   float64
				got float64
			}{{0.5, ws.Latency.P50}, {0.95, ws.Latency.P95}, {0.99, ws.Latency.P99}} {
				want := exact(q.q)
				if rel := math.Abs(q.got-want) / want; rel > RelativeError+1e-9 && math.Abs(q.got-want) > 1e-6 {
					t.Errorf("p%v = %v, exact %v (%.3f off)", q.q*100, q.got, want, rel)
				}
			}
			var sum time.Duration
			for _, v := range vals {
				sum += v
			}
			if mean := (sum / time.Duration(len(vals))).Seconds(); math.Abs(ws.Latency.Mean-mean) > 1e-6 {
				t.Errorf("mean %v, want %v (exact: sums are kept)", ws.Latency.Mean, mean)
			}
		})
	}
}

func TestCountsRatesAndErrors(t *testing.T) {
	tr := New(settings(), t0, nil)
	m := tr.Model("m1")
	for i := range 120 {
		m.Record(t0.Add(time.Duration(i)*500*time.Millisecond), Sample{Latency: time.Second, Responded: true, CompletionTokens: 10, Error: i%4 == 0})
	}
	m.Record(t0.Add(59*time.Second), Sample{Error: true}) // no upstream response
	// Just before the 12th 5s slot ends: the 1m window still covers t0.
	ws := model(t, tr.compute(t0.Add(59750*time.Millisecond)), "m1").Windows[0]
	if ws.Requests != 121 || ws.Errors != 31 {
		t.Fatalf("requests %d errors %d, want 121 and 31", ws.Requests, ws.Errors)
	}
	if want := 31.0 / 121; math.Abs(ws.ErrorRatio-want) > 1e-12 {
		t.Errorf("error ratio %v, want %v", ws.ErrorRatio, want)
	}
	if ws.Latency.Count != 120 {
		t.Errorf("latency count %d, want 120 (the failed request had no response)", ws.Latency.Count)
	}
	// The tracker started at t0: 59.75s covered.
	if ws.CoveredSeconds != 59.75 || math.Abs(ws.RequestsPerSecond-121/59.75) > 1e-9 || math.Abs(ws.CompletionTokensPerSecond-1200/59.75) > 1e-9 {
		t.Errorf("covered %v s, %v req/s, %v tok/s", ws.CoveredSeconds, ws.RequestsPerSecond, ws.CompletionTokensPerSecond)
	}
	if ws.TTFT != nil || ws.TPOT != nil {
		t.Errorf("TTFT/TPOT reported without streamed samples: %+v %+v", ws.TTFT, ws.TPOT)
	}
}

// TestInflightExactUnderConcurrency: many goroutines start requests; while
// they are all in flight the report counts each; when they end, zero.
func TestInflightExactUnderConcurrency(t *testing.T) {
	tr := New(settings(), t0, nil)
	const workers, perWorker = 16, 50
	started := sync.WaitGroup{}
	started.Add(workers * perWorker)
	release := make(chan struct{})
	var done sync.WaitGroup
	for w := range workers {
		done.Add(1)
		go func() {
			defer done.Done()
			name := fmt.Sprintf("m%d", w%4)
			var ms []*Model
			for range perWorker {
				m := tr.Model(name)
				m.Start()
				ms = append(ms, m)
				started.Done()
			}
			<-release
			for _, m := range ms {
				m.Record(t0, Sample{Latency: time.Second, Responded: true})
				m.Done()
			}
		}()
	}
	started.Wait()
	r := tr.Report(t0)
	var total int64
	for _, m := range r.Models {
		if m.InFlight == nil {
			t.Fatalf("%s: no in-flight count with queue_depth_estimation", m.Model)
		}
		if *m.InFlight != workers/4*perWorker {
			t.Errorf("%s: %d in flight, want %d", m.Model, *m.InFlight, workers/4*perWorker)
		}
		total += *m.InFlight
	}
	if total != workers*perWorker {
		t.Errorf("%d in flight in all, want %d", total, workers*perWorker)
	}
	close(release)
	done.Wait()
	// The cached aggregates serve (same instant), the in-flight counts are live.
	for _, m := range tr.Report(t0).Models {
		if *m.InFlight != 0 {
			t.Errorf("%s: %d still in flight", m.Model, *m.InFlight)
		}
	}
}

func TestMaxModelsOverflow(t *testing.T) {
	s := settings()
	s.MaxModels = 2
	tr := New(s, t0, nil)
	for i, name := range []string{"a", "b", "c", "d", "a", "c"} {
		tr.Model(name).Record(t0.Add(time.Duration(i)*time.Second), Sample{Latency: time.Second, Responded: true})
	}
	tr.Model("e").Start()
	r := tr.Report(t0.Add(10 * time.Second))
	var names []string
	for _, m := range r.Models {
		names = append(names, m.Model)
	}
	if want := []string{"a", "b", Other}; !slices.Equal(names, want) {
		t.Fatalf("models %v, want %v", names, want)
	}
	for name, want := range map[string]uint64{"a": 2, "b": 1, Other: 3} {
		if got := model(t, r, name).Windows[0].Requests; got != want {
			t.Errorf("%s: %d requests, want %d", name, got, want)
		}
	}
	if n := *model(t, r, Other).InFlight; n != 1 {
		t.Errorf("other: %d in flight, want 1", n)
	}
}

func TestModelMetricsOffAggregatesAll(t *testing.T) {
	s := settings()
	s.PerModel, s.QueueDepth = false, false
	tr := New(s, t0, nil)
	tr.Model("a").Record(t0, Sample{Latency: time.Second, Responded: true})
	tr.Model("b").Record(t0, Sample{Latency: time.Second, Responded: true})
	r := tr.Report(t0.Add(time.Second))
	if len(r.Models) != 1 || r.Models[0].Model != All || r.Models[0].Windows[0].Requests != 2 {
		t.Fatalf("report %+v", r.Models)
	}
	if r.Models[0].InFlight != nil || r.Models[0].EstimatedQueueSeconds != nil {
		t.Errorf("in-flight reported without queue_depth_estimation")
	}
}

// TestUpdateInterval: the aggregates are recomputed once per interval.
func TestUpdateInterval(t *testing.T) {
	tr := New(settings(), t0, nil)
	m := tr.Model("m1")
	m.Record(t0, Sample{Latency: time.Second, Responded: true})
	first := tr.Report(t0.Add(time.Second))
	m.Record(t0.Add(2*time.Second), Sample{Latency: time.Second, Responded: true})
	if got := model(t, tr.Report(t0.Add(29*time.Second)), "m1").Windows[0].Requests; got != 1 {
		t.Errorf("within the interval: %d requests, want the cached 1", got)
	}
	r := tr.Report(t0.Add(31 * time.Second))
	if got := model(t, r, "m1").Windows[0].Requests; got != 2 {
		t.Errorf("after the interval: %d requests, want 2", got)
	}
	if !r.UpdatedAt.After(first.UpdatedAt) {
		t.Errorf("updated_at %v not after %v", r.UpdatedAt, first.UpdatedAt)
	}
}

func TestQueueWait(t *testing.T) {
	for _, tc := range []struct {
		name             string
		n                int64
		rate, meanSec    float64
		want             float64
		withinSustained  bool
		noResponsesInWin bool
	}{
		{name: "idle", n: 0, rate: 2, meanSec: 1, want: 0},
		{name: "within the sustained concurrency", n: 2, rate: 2, meanSec: 1, want: 0},
		// C = 2·1 = 2; 6 in flight: backlog 4 drains at 2/s.
		{name: "backlog", n: 6, rate: 2, meanSec: 1, want: 2},
		// C = 0.5·4 = 2; backlog 3 at 0.5/s.
		{name: "slow model", n: 5, rate: 0.5, meanSec: 4, want: 6},
		{name: "no responses in the window", n: 3, rate: 0, meanSec: 0, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := QueueWait(tc.n, tc.rate, tc.meanSec); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("QueueWait(%d, %v, %v) = %v, want %v", tc.n, tc.rate, tc.meanSec, got, tc.want)
			}
		})
	}
}

// TestQueueEstimateInReport: 60 responses of 2s over a minute (C = 2);
// 5 in flight → (5-2)/1 = 3s.
func TestQueueEstimateInReport(t *testing.T) {
	tr := New(settings(), t0, nil)
	m := tr.Model("m1")
	for i := range 60 {
		m.Record(t0.Add(time.Duration(i)*time.Second), Sample{Latency: 2 * time.Second, Responded: true})
	}
	for range 5 {
		m.Start()
	}
	mr := model(t, tr.Report(t0.Add(60*time.Second)), "m1")
	if *mr.InFlight != 5 {
		t.Fatalf("in flight %d", *mr.InFlight)
	}
	// latency 2s is bucketed (±6.25%): C and the wait move with it.
	if got := *mr.EstimatedQueueSeconds; math.Abs(got-3) > 0.01 {
		t.Errorf("estimated queue %v s, want 3", got)
	}
}

func TestReconfigureCarriesInflight(t *testing.T) {
	old := New(settings(), t0, nil)
	m := old.Model("m1")
	m.Start()
	m.Start()
	s := settings()
	s.Windows = []time.Duration{30 * time.Second}
	tr := New(s, t0.Add(time.Minute), old)
	n := tr.Model("m1")
	if n.InFlight() != 2 {
		t.Fatalf("in flight after reconfiguration %d, want 2", n.InFlight())
	}
	m.Done() // a request that started before ends on the old entry
	n.Start()
	if got := *model(t, tr.Report(t0.Add(time.Minute)), "m1").InFlight; got != 2 {
		t.Errorf("in flight %d, want 2", got)
	}
}

func TestLateRecordDoesNotClobberNewerSlot(t *testing.T) {
	tr := New(settings(), t0, nil)
	m := tr.Model("m1")
	m.Record(t0.Add(2*time.Minute), Sample{Latency: time.Second, Responded: true})
	m.Record(t0.Add(time.Minute), Sample{Latency: time.Second, Responded: true}) // same 1m slot index, a window late
	if got := model(t, tr.compute(t0.Add(2*time.Minute)), "m1").Windows[0].Requests; got != 1 {
		t.Errorf("1m window holds %d requests, want 1", got)
	}
}

func TestLabel(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{time.Minute, "1m"}, {5 * time.Minute, "5m"}, {time.Hour, "1h"}, {90 * time.Second, "1m30s"},
		{90 * time.Minute, "1h30m"}, {30 * time.Second, "30s"}, {24 * time.Hour, "24h"}} {
		if got := Label(tc.d); got != tc.want {
			t.Errorf("Label(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestSettingsEqual(t *testing.T) {
	a, b := settings(), settings()
	if !a.Equal(b) {
		t.Error("equal settings differ")
	}
	b.Windows = []time.Duration{time.Minute}
	if a.Equal(b) {
		t.Error("different windows compare equal")
	}
}
