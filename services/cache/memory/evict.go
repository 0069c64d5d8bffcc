package memory

import (
	"container/heap"
	"container/list"
	"time"

	"github.com/semrouter/semrouter/services/cache"
)

// evictor orders items for eviction.
type evictor interface {
	add(it *item)
	touch(it *item)
	remove(it *item)
	victim() *item
}

// listEvictor is FIFO (touch does nothing) or LRU (touch moves to front);
// the victim is at the back.
type listEvictor struct {
	l   list.List
	lru bool
}

func (e *listEvictor) add(it *item) { it.elem = e.l.PushFront(it) }

func (e *listEvictor) touch(it *item) {
	if e.lru && it.elem != nil {
		e.l.MoveToFront(it.elem)
	}
}

func (e *listEvictor) remove(it *item) {
	if it.elem != nil {
		e.l.Remove(it.elem)
		it.elem = nil
	}
}

func (e *listEvictor) victim() *item {
	if b := e.l.Back(); b != nil {
		return b.Value.(*item)
	}
	return nil
}

// lfuEvictor evicts the least frequently used item, the least recently
// used among equals.
type lfuEvictor struct {
	h    lfuHeap
	tick uint64
}

type lfuHeap []*item

func (h lfuHeap) Len() int { return len(h) }
func (h lfuHeap) Less(i, j int) bool {
	if h[i].freq != h[j].freq {
		return h[i].freq < h[j].freq
	}
	return h[i].tick < h[j].tick
}
func (h lfuHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *lfuHeap) Push(x any) {
	it := x.(*item)
	it.heapIdx = len(*h)
	*h = append(*h, it)
}
func (h *lfuHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.heapIdx = -1
	return it
}

func (e *lfuEvictor) add(it *item) {
	e.tick++
	it.freq, it.tick = 0, e.tick
	heap.Push(&e.h, it)
}

func (e *lfuEvictor) touch(it *item) {
	if it.heapIdx < 0 {
		return
	}
	e.tick++
	it.freq++
	it.tick = e.tick
	heap.Fix(&e.h, it.heapIdx)
}

func (e *lfuEvictor) remove(it *item) {
	if it.heapIdx >= 0 {
		heap.Remove(&e.h, it.heapIdx)
	}
}

func (e *lfuEvictor) victim() *item {
	if len(e.h) == 0 {
		return nil
	}
	return e.h[0]
}

func newEvictor(p cache.EvictionPolicy) evictor {
	switch p {
	case cache.EvictFIFO:
		return &listEvictor{}
	case cache.EvictLFU:
		return &lfuEvictor{}
	default:
		return &listEvictor{lru: true}
	}
}

// expiryHeap orders items with an expiry by expiry time.
type expiryHeap []*item

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expires.Before(h[j].expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].expIdx = i
	h[j].expIdx = j
}
func (h *expiryHeap) Push(x any) {
	it := x.(*item)
	it.expIdx = len(*h)
	*h = append(*h, it)
}
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	it.expIdx = -1
	return it
}

// expiredAt reports whether the earliest expiry is due.
func (h expiryHeap) peekDue(now time.Time) *item {
	if len(h) == 0 || now.Before(h[0].expires) {
		return nil
	}
	return h[0]
}
