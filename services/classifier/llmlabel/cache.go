package llmlabel

import (
	"container/list"
	"sync"
	"time"
)

// Cache keeps answers per (classifier, text) for a bounded time in a
// bounded LRU. It is safe for concurrent use.
type Cache struct {
	mu    sync.Mutex
	cap   int
	ttl   time.Duration
	now   func() time.Time
	ll    *list.List
	items map[cacheKey]*list.Element
}

type cacheKey struct{ classifier, text string }

type cacheEntry struct {
	key     cacheKey
	answer  Answer
	expires time.Time
}

// NewCache returns a cache of at most capacity answers, each kept for ttl.
// now is the clock (nil: time.Now).
func NewCache(capacity int, ttl time.Duration, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	if capacity < 1 {
		capacity = 1
	}
	return &Cache{cap: capacity, ttl: ttl, now: now, ll: list.New(), items: map[cacheKey]*list.Element{}}
}

// Get returns the cached answer of classifier for text, if fresh.
func (c *Cache) Get(classifier, text string) (Answer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey{classifier, text}
	e, ok := c.items[k]
	if !ok {
		return Answer{}, false
	}
	ent := e.Value.(*cacheEntry)
	if !c.now().Before(ent.expires) {
		c.ll.Remove(e)
		delete(c.items, k)
		return Answer{}, false
	}
	c.ll.MoveToFront(e)
	return ent.answer, true
}

// Put stores an answer, evicting the least recently used one when full.
func (c *Cache) Put(classifier, text string, a Answer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey{classifier, text}
	exp := c.now().Add(c.ttl)
	if e, ok := c.items[k]; ok {
		ent := e.Value.(*cacheEntry)
		ent.answer, ent.expires = a, exp
		c.ll.MoveToFront(e)
		return
	}
	c.items[k] = c.ll.PushFront(&cacheEntry{key: k, answer: a, expires: exp})
	for c.ll.Len() > c.cap {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

// Len is the number of cached answers (fresh or not yet evicted).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
