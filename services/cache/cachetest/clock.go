// Package cachetest is the contract every cache.Backend must meet, as a
// test suite a backend's tests run with RunBackendSuite, plus the helpers
// it uses (a manual clock, entry and embedding builders).
package cachetest

import (
	"sync"
	"time"
)

// Clock is a manual clock for tests; the zero value is not usable, call
// NewClock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock stopped at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
