package natstest

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/nats-io/nats-server/v2/server"
)

// Log is a nats-server logger for tests that assert on what the server
// refused (permission violations, route authentication errors): it keeps
// the notice, warning, error and fatal lines its filter accepts and drops
// debug and trace lines.
type Log struct {
	keep  func(line string) bool
	mu    sync.Mutex
	lines []string
}

var _ server.Logger = (*Log)(nil)

// NewLog returns a Log keeping the lines for which keep is true (every
// line when keep is nil).
func NewLog(keep func(line string) bool) *Log { return &Log{keep: keep} }

// KeepContaining is a Log filter accepting lines that contain any of subs.
func KeepContaining(subs ...string) func(string) bool {
	return func(line string) bool {
		return slices.ContainsFunc(subs, func(s string) bool { return strings.Contains(line, s) })
	}
}

func (l *Log) record(format string, v ...any) {
	line := fmt.Sprintf(format, v...)
	if l.keep != nil && !l.keep(line) {
		return
	}
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

// Noticef keeps a notice line.
func (l *Log) Noticef(format string, v ...any) { l.record(format, v...) }

// Warnf keeps a warning line.
func (l *Log) Warnf(format string, v ...any) { l.record(format, v...) }

// Errorf keeps an error line.
func (l *Log) Errorf(format string, v ...any) { l.record(format, v...) }

// Fatalf keeps a fatal line.
func (l *Log) Fatalf(format string, v ...any) { l.record(format, v...) }

// Debugf drops a debug line.
func (l *Log) Debugf(string, ...any) {}

// Tracef drops a trace line.
func (l *Log) Tracef(string, ...any) {}

// Lines returns the kept lines so far.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// Tail returns the last n kept lines, for failure messages.
func (l *Log) Tail(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines[max(0, len(l.lines)-n):])
}

// Count is the number of kept lines that contain every one of parts.
func (l *Log) Count(parts ...string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			n++
		}
	}
	return n
}
