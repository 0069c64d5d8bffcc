package rag

import (
	"container/list"
	"sync"
	"time"
)

// DefaultCacheTTL is the lifetime of cached results when cache_ttl_seconds
// is 0.
const DefaultCacheTTL = 5 * time.Minute

// DefaultCacheSize is the number of queries a Cache keeps when NewCache is
// given 0.
const DefaultCacheSize = 1024

// Cache keeps backend results keyed by backend and query text, each for
// its TTL. It is bounded: when full, the least recently used entry goes.
// Safe for concurrent use.
type Cache struct {
	now  func() time.Time
	size int

	mu    sync.Mutex
	order *list.List // front: most recently used; values are *cacheEntry
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key     string
	docs    []Document
	expires time.Time
}

// NewCache returns a cache of at most size entries; now is its clock (nil:
// time.Now).
func NewCache(size int, now func() time.Time) *Cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	if now == nil {
		now = time.Now
	}
	return &Cache{now: now, size: size, order: list.New(), byKey: make(map[string]*list.Element, size)}
}

// Get returns the unexpired documents stored under key.
func (c *Cache) Get(key string) ([]Document, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.byKey, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.docs, true
}

// Put stores docs under key for ttl.
func (c *Cache) Put(key string, docs []Document, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp := c.now().Add(ttl)
	if el, ok := c.byKey[key]; ok {
		e := el.Value.(*cacheEntry)
		e.docs, e.expires = docs, exp
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.size {
		old := c.order.Back()
		c.order.Remove(old)
		delete(c.byKey, old.Value.(*cacheEntry).key)
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, docs: docs, expires: exp})
}

// Len is the number of entries (expired ones included until looked up).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
