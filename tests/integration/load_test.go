package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
)

// load is a bounded background load: clients goroutines, each sending chat
// completions in turn until stop is called, the phase deadline passes, or
// it has sent maxPerClient requests. It runs on loopback only.
type load struct {
	t      *testing.T
	cancel context.CancelFunc
	wg     sync.WaitGroup

	done   atomic.Int64
	mu     sync.Mutex
	failed []error
	// degraded counts answers per x-vsr-degraded stage.
	degraded map[string]int
	// models counts answers per x-vsr-selected-model.
	models map[string]int
}

// loadOptions describe one load phase.
type loadOptions struct {
	clients      int
	maxPerClient int
	// phase bounds the whole phase.
	phase   time.Duration
	prompts []string
	// check validates one successful answer (nil: any non-empty answer).
	check func(prompt string, a answer) error
}

func startLoad(t *testing.T, c openai.Client, o loadOptions) *load {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), o.phase)
	l := &load{t: t, cancel: cancel, degraded: map[string]int{}, models: map[string]int{}}
	for i := range o.clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := range o.maxPerClient {
				if ctx.Err() != nil {
					return
				}
				prompt := o.prompts[(i+n)%len(o.prompts)]
				a, err := chat(ctx, c, prompt)
				if ctx.Err() != nil {
					// The phase ended under this request: not a failure.
					return
				}
				if err == nil && a.content == "" {
					err = fmt.Errorf("empty answer")
				}
				if err == nil && o.check != nil {
					err = o.check(prompt, a)
				}
				l.record(prompt, a, err)
			}
		}()
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) record(prompt string, a answer, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.failed = append(l.failed, fmt.Errorf("%q: %w", prompt, err))
	} else {
		for _, st := range strings.Split(a.header.Get("x-vsr-degraded"), ",") {
			if st != "" {
				l.degraded[st]++
			}
		}
		l.models[a.header.Get("x-vsr-selected-model")]++
	}
	l.done.Add(1)
}

// waitMore waits until n more requests completed than at the call and at
// least min has passed (so a phase lasts a while even on a fast machine),
// or fails the test when that takes longer than two minutes.
func (l *load) waitMore(n int64, min time.Duration, what string) {
	l.t.Helper()
	target, since := l.done.Load()+n, time.Now()
	waitFor(l.t, 2*time.Minute, what, func() error {
		if got := l.done.Load(); got < target {
			return fmt.Errorf("%d of %d requests completed", got, target)
		}
		if el := time.Since(since); el < min {
			return fmt.Errorf("phase ran %v of at least %v", el, min)
		}
		return nil
	})
}

// degradedCount returns how many answers were degraded at stage so far.
func (l *load) degradedCount(stage string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.degraded[stage]
}

func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}

// result stops the load and returns what it saw.
func (l *load) result() (completed int64, failed []error, degraded, models map[string]int) {
	l.stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.done.Load(), append([]error(nil), l.failed...), l.degraded, l.models
}

// requireNoFailures stops the load and fails the test when any client
// request failed.
func (l *load) requireNoFailures(phase string) (degraded, models map[string]int) {
	l.t.Helper()
	completed, failed, degraded, models := l.result()
	l.t.Logf("%s: %d requests, %d failed, degraded %v, models %v", phase, completed, len(failed), degraded, models)
	if len(failed) > 0 {
		l.t.Errorf("%s: %d of %d client requests failed:\n%v", phase, len(failed), completed, errorsJoin(failed, 5))
	}
	return degraded, models
}
