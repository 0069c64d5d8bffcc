package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// FileWatcher republishes a config file when its content changes. It polls:
// each Poll reads the file; a change is published once the content has
// stayed the same for the debounce interval, so an editor's partial writes
// are not published. Invalid content is logged and never published; the
// active revision keeps serving.
type FileWatcher struct {
	store    *Store
	path     string
	debounce time.Duration
	now      func() time.Time
	logger   *slog.Logger

	last      []byte // content last handled (published, unchanged or rejected)
	pending   []byte // content seen but not yet stable
	pendingAt time.Time
}

// NewFileWatcher watches path. now is the clock (time.Now when nil).
func NewFileWatcher(s *Store, path string, debounce time.Duration, now func() time.Time, logger *slog.Logger) *FileWatcher {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &FileWatcher{store: s, path: path, debounce: debounce, now: now, logger: logger}
}

// PollResult says what one Poll did.
type PollResult int

const (
	// PollIdle: the content is the one already handled.
	PollIdle PollResult = iota
	// PollPending: a change is waiting for the debounce interval.
	PollPending
	// PollPublished: the change was published as a new revision.
	PollPublished
	// PollUnchanged: the change equals the active revision; nothing written.
	PollUnchanged
	// PollRejected: the changed content does not validate.
	PollRejected
)

// String names the result.
func (r PollResult) String() string {
	return [...]string{"idle", "pending", "published", "unchanged", "rejected"}[r]
}

// PublishNow reads and publishes the file immediately (used at startup).
func (w *FileWatcher) PublishNow(ctx context.Context) (Result, error) {
	data, err := os.ReadFile(w.path)
	if err != nil {
		return Result{}, fmt.Errorf("read config %q: %w", w.path, err)
	}
	w.last, w.pending = data, nil
	return w.store.publish(ctx, data, w.path, SourceFile, Precondition{})
}

// Poll checks the file once, at the watcher's clock.
func (w *FileWatcher) Poll(ctx context.Context) (PollResult, error) {
	return w.PollAt(ctx, w.now())
}

// PollAt checks the file once; now is the time of the check.
func (w *FileWatcher) PollAt(ctx context.Context, now time.Time) (PollResult, error) {
	data, err := os.ReadFile(w.path)
	if err != nil {
		return PollIdle, fmt.Errorf("read config %q: %w", w.path, err)
	}
	if w.last != nil && bytes.Equal(data, w.last) {
		w.pending = nil
		return PollIdle, nil
	}
	if w.pending == nil || !bytes.Equal(data, w.pending) {
		w.pending, w.pendingAt = data, now
		if w.debounce > 0 {
			return PollPending, nil
		}
	}
	if now.Sub(w.pendingAt) < w.debounce {
		return PollPending, nil
	}
	w.last, w.pending = data, nil
	res, err := w.store.publish(ctx, data, w.path, SourceFile, Precondition{})
	var verr *ValidationError
	switch {
	case errors.As(err, &verr) && len(bytes.TrimSpace(data)) == 0:
		// Truncated (": > config.yaml", an editor mid-save): never a new revision.
		w.logger.Error("config file is empty; not published, the active revision keeps serving",
			slog.String("path", w.path))
		return PollRejected, err
	case errors.As(err, &verr):
		w.logger.Error("config file rejected; the active revision keeps serving",
			slog.String("path", w.path), slog.String("problems", problemsText(verr)))
		return PollRejected, err
	case err != nil:
		// Transient: retry the same content on the next poll.
		w.last = nil
		return PollIdle, err
	case !res.Changed:
		return PollUnchanged, nil
	}
	return PollPublished, nil
}

// problemsText is the error problems of a rejection, one per line; never
// empty (the error text stands in when there is no problem).
func problemsText(verr *ValidationError) string {
	if t := strings.TrimSpace(verr.Problems.Errors().String()); t != "" {
		return t
	}
	return verr.Error()
}

// Run polls on every tick until ctx ends, taking the tick's time as the
// time of the check (feed it a time.Ticker's channel). Errors are logged.
func (w *FileWatcher) Run(ctx context.Context, ticks <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case at := <-ticks:
			if r, err := w.PollAt(ctx, at); err != nil && r != PollRejected {
				w.logger.Warn("poll config file", slog.String("path", w.path), slog.String("error", err.Error()))
			}
		}
	}
}
