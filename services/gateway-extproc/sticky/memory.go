package sticky

import (
	"context"
	"sync"
	"time"
)

// DefaultMemoryEntries bounds a MemoryStore made with maxEntries ≤ 0.
const DefaultMemoryEntries = 100_000

// MemoryStore keeps pins in the gateway's process: a bounded LRU whose
// entries also expire ttl after their last write. Each replica sees only
// its own pins.
type MemoryStore struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	items map[string]*entry
	// head is the sentinel of the recency list: head.next is the most
	// recently written entry, head.prev the least.
	head entry
}

type entry struct {
	key        string
	pin        Pin
	expires    int64 // Unix nanoseconds; 0: never
	prev, next *entry
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns a store of at most maxEntries pins (≤ 0:
// DefaultMemoryEntries) that forgets a pin ttl after its last write (0:
// only when evicted). now is the clock (nil: time.Now).
func NewMemoryStore(maxEntries int, ttl time.Duration, now func() time.Time) *MemoryStore {
	if maxEntries <= 0 {
		maxEntries = DefaultMemoryEntries
	}
	if now == nil {
		now = time.Now
	}
	s := &MemoryStore{max: maxEntries, ttl: max(ttl, 0), now: now, items: make(map[string]*entry)}
	s.head.next, s.head.prev = &s.head, &s.head
	return s
}

// Get returns the pin of key.
func (s *MemoryStore) Get(_ context.Context, key string) (Pin, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.items[key]
	if !ok {
		return Pin{}, false, nil
	}
	if e.expires != 0 && s.now().UnixNano() >= e.expires {
		s.remove(e)
		return Pin{}, false, nil
	}
	return e.pin, true, nil
}

// Put stores the pin of key, evicting the least recently written pin when
// the store is full.
func (s *MemoryStore) Put(_ context.Context, key string, p Pin) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var exp int64
	if s.ttl > 0 {
		exp = s.now().Add(s.ttl).UnixNano()
	}
	if e, ok := s.items[key]; ok {
		e.pin, e.expires = p, exp
		s.unlink(e)
		s.pushFront(e)
		return nil
	}
	var e *entry
	if len(s.items) >= s.max {
		// reuse the evicted entry
		e = s.head.prev
		s.remove(e)
		*e = entry{}
	} else {
		e = &entry{}
	}
	e.key, e.pin, e.expires = key, p, exp
	s.items[key] = e
	s.pushFront(e)
	return nil
}

// Len is the number of pins held (expired ones not yet dropped included).
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

func (s *MemoryStore) remove(e *entry) {
	s.unlink(e)
	delete(s.items, e.key)
}

func (s *MemoryStore) unlink(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (s *MemoryStore) pushFront(e *entry) {
	e.prev, e.next = &s.head, s.head.next
	s.head.next.prev = e
	s.head.next = e
}
