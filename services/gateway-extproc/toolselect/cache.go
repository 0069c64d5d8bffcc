package toolselect

import (
	"hash/maphash"
	"sync"
)

// DefaultCacheSize is the number of request-tool embeddings a Cache keeps
// when NewCache is given 0.
const DefaultCacheSize = 4096

// Cache keeps the embeddings of request-supplied tools, keyed by a hash of
// name and description, for one config revision. It is bounded: when full,
// the oldest entry goes (first in, first out). Safe for concurrent use.
type Cache struct {
	seed maphash.Seed
	mu   sync.Mutex
	vecs map[uint64][]float32
	ring []uint64 // insertion order, used as a circular buffer
	next int
}

// NewCache returns a cache holding at most size embeddings.
func NewCache(size int) *Cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	return &Cache{seed: maphash.MakeSeed(), vecs: make(map[uint64][]float32, size), ring: make([]uint64, 0, size)}
}

// Len is the number of cached embeddings.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.vecs)
}

// lookup fills vecs[i] for every tool found and returns the indexes of the
// missing ones.
func (c *Cache) lookup(tools []Tool, vecs [][]float32, keys []uint64) (missing []int) {
	for i := range tools {
		keys[i] = tools[i].key(c.seed)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, k := range keys {
		if v, ok := c.vecs[k]; ok {
			vecs[i] = v
		} else {
			missing = append(missing, i)
		}
	}
	return missing
}

func (c *Cache) put(k uint64, v []float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.vecs[k]; ok {
		return
	}
	if len(c.ring) < cap(c.ring) {
		c.ring = append(c.ring, k)
	} else {
		delete(c.vecs, c.ring[c.next])
		c.ring[c.next] = k
		c.next = (c.next + 1) % len(c.ring)
	}
	c.vecs[k] = v
}
