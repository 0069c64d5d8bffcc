package memory

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// Local is the in-process store (backend `memory`): memories live in this
// process only, are lost on restart and are not shared between replicas.
type Local struct {
	mu    sync.Mutex
	users map[string][]Entry // oldest first
}

var _ Store = (*Local)(nil)

// NewLocal returns an empty in-process store.
func NewLocal() *Local { return &Local{users: map[string][]Entry{}} }

// List returns a copy of user's memories.
func (l *Local) List(_ context.Context, user string) ([]Entry, error) {
	if user == "" {
		return nil, ErrNoUser
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.users[user]), nil
}

// Add appends e and evicts the oldest entries beyond maxEntries.
func (l *Local) Add(_ context.Context, user string, e Entry, maxEntries int) error {
	if user == "" {
		return ErrNoUser
	}
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	es := append(l.users[user], e)
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	if n := len(es) - maxEntries; n > 0 {
		es = slices.Delete(es, 0, n)
	}
	l.users[user] = es
	return nil
}

// Forget deletes user's memories.
func (l *Local) Forget(_ context.Context, user string) (int, error) {
	if user == "" {
		return 0, ErrNoUser
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.users[user])
	delete(l.users, user)
	return n, nil
}
