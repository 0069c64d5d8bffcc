// Package hnsw is an in-memory Hierarchical Navigable Small World index over
// float32 vectors with cosine similarity.
//
// Vectors are L2-normalised on insert, so similarity is a dot product.
// Searches hold the structure lock for reading and run concurrently with each
// other and with the linking phase of inserts; per-node neighbour lists are
// guarded by striped mutexes. Slot allocation, deletion and compaction take
// the structure lock for writing.
//
// Deletion is a tombstone: the node stays in the graph as a waypoint, is never
// returned, and its slot is reused (with its neighbour lists rebuilt) by a
// later insert. Compact rebuilds the graph from the live nodes when
// tombstones pile up without being reused.
package hnsw

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Errors returned by the index.
var (
	ErrDimension  = errors.New("hnsw: vector dimension mismatch")
	ErrZeroVector = errors.New("hnsw: vector has zero or non-finite norm")
	ErrNotFound   = errors.New("hnsw: key not found")
)

const (
	chunkShift  = 10
	chunkSize   = 1 << chunkShift
	chunkMask   = chunkSize - 1
	lockStripes = 4096
	maxLevelCap = 16
)

// Config holds the index parameters. Zero values take the defaults.
type Config struct {
	// Dim is the vector dimension (required).
	Dim int
	// M is the number of neighbours per node on upper layers (default 16);
	// layer 0 keeps 2*M.
	M int
	// EfConstruction is the candidate list size while inserting (default 200).
	EfConstruction int
	// Ef is the default candidate list size while searching (default 64).
	Ef int
	// ExactThreshold: a search restricted to at most this many candidate keys
	// scans them exactly instead of walking the graph (default 2048).
	ExactThreshold int
	// Seed seeds the level generator, so builds are reproducible.
	Seed uint64
}

func (c Config) withDefaults() (Config, error) {
	if c.Dim <= 0 {
		return c, fmt.Errorf("hnsw: dim must be positive, got %d", c.Dim)
	}
	if c.M == 0 {
		c.M = 16
	}
	if c.M < 2 {
		return c, fmt.Errorf("hnsw: M must be at least 2, got %d", c.M)
	}
	if c.EfConstruction == 0 {
		c.EfConstruction = 200
	}
	if c.EfConstruction < c.M {
		c.EfConstruction = c.M
	}
	if c.Ef <= 0 {
		c.Ef = 64
	}
	if c.ExactThreshold == 0 {
		c.ExactThreshold = 2048
	}
	return c, nil
}

// Result is one search hit.
type Result struct {
	Key   uint64
	Score float32 // cosine similarity in [-1, 1]
}

type nodeMeta struct {
	key     uint64
	level   int32
	deleted atomic.Bool
	// upper[l-1] holds the neighbours on layer l (1..level) with their
	// distances, sorted ascending; its capacity is fixed at M+1 and its
	// length changes under the node's stripe lock.
	upper [][]cand
}

type chunk struct {
	vecs   []float32 // chunkSize*dim
	links0 []cand    // chunkSize*m0 neighbours with distances, sorted ascending
	count0 []uint32  // chunkSize layer-0 neighbour counts
	nodes  [chunkSize]nodeMeta
}

// Index is an HNSW graph. The zero value is not usable; call New.
type Index struct {
	cfg       Config
	dim       int
	m, m0     int
	levelMult float64

	// mu is held for reading by searches and by the linking phase of
	// inserts, and for writing by slot reuse, directory growth, compaction
	// and reset.
	mu sync.RWMutex
	// chunks is the slab directory: its length is its capacity (entries
	// past the allocated ones are nil); the header changes only under mu
	// held for writing, entries are filled under allocMu.
	chunks []*chunk

	// allocMu guards slot allocation and the bookkeeping below.
	allocMu sync.Mutex
	next    atomic.Uint32 // slots handed out so far
	keys    map[uint64]uint32
	free    []uint32
	live    atomic.Int64
	dead    atomic.Int64
	upperB  int64 // bytes held by upper-layer lists
	rng     *rand.Rand

	epMu     sync.Mutex
	ep       uint32
	maxLevel int32
	hasEP    bool

	locks    [lockStripes]sync.Mutex
	searcher sync.Pool
}

// New returns an empty index.
func New(cfg Config) (*Index, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	idx := &Index{
		cfg:       cfg,
		dim:       cfg.Dim,
		m:         cfg.M,
		m0:        2 * cfg.M,
		levelMult: 1 / math.Log(float64(cfg.M)),
		keys:      make(map[uint64]uint32),
		rng:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
	}
	idx.searcher.New = func() any { return newSearcher(idx.dim) }
	return idx, nil
}

// Config returns the effective configuration.
func (x *Index) Config() Config { return x.cfg }

// Len returns the number of live (not deleted) vectors.
func (x *Index) Len() int { return int(x.live.Load()) }

// Contains reports whether key is live in the index.
func (x *Index) Contains(key uint64) bool {
	x.allocMu.Lock()
	defer x.allocMu.Unlock()
	_, ok := x.keys[key]
	return ok
}

func (x *Index) meta(id uint32) *nodeMeta {
	return &x.chunks[id>>chunkShift].nodes[id&chunkMask]
}

func (x *Index) vec(id uint32) []float32 {
	c := x.chunks[id>>chunkShift]
	off := int(id&chunkMask) * x.dim
	return c.vecs[off : off+x.dim : off+x.dim]
}

func (x *Index) lock(id uint32) *sync.Mutex { return &x.locks[id%lockStripes] }

func (x *Index) maxNeighbours(l int) int {
	if l == 0 {
		return x.m0
	}
	return x.m
}

func (x *Index) randomLevel() int32 {
	u := 1 - x.rng.Float64() // (0, 1]
	l := int32(-math.Log(u) * x.levelMult)
	return min(l, maxLevelCap)
}

// needsExclusive reports whether preparing the next insert has to hold mu
// for writing (to reuse a tombstoned slot or grow the directory); allocMu is
// held.
func (x *Index) needsExclusive() bool {
	if int(x.next.Load()>>chunkShift) >= len(x.chunks) {
		return true
	}
	return len(x.free) > 1 || (len(x.free) == 1 && !x.isEntryPoint(x.free[0]))
}

func (x *Index) isEntryPoint(id uint32) bool {
	x.epMu.Lock()
	defer x.epMu.Unlock()
	return x.hasEP && id == x.ep
}

// allocSlot hands out a slot; allocMu is held, and mu is held for writing
// when exclusive is true. Without exclusive access only a fresh slot inside
// the directory's capacity is handed out. The entry point's slot is never
// reused: it keeps its upper layers until the next compaction.
func (x *Index) allocSlot(exclusive bool) uint32 {
	for exclusive && len(x.free) > 0 {
		last := len(x.free) - 1
		id := x.free[last]
		if x.isEntryPoint(id) {
			if last == 0 {
				break
			}
			x.free[0], x.free[last] = x.free[last], x.free[0]
			continue
		}
		x.free = x.free[:last]
		x.dead.Add(-1)
		return id
	}
	id := x.next.Load()
	ci := int(id >> chunkShift)
	if ci >= len(x.chunks) {
		grown := make([]*chunk, max(2*len(x.chunks), 16))
		copy(grown, x.chunks)
		x.chunks = grown
	}
	if x.chunks[ci] == nil {
		x.chunks[ci] = &chunk{
			vecs:   make([]float32, chunkSize*x.dim),
			links0: make([]cand, chunkSize*x.m0),
			count0: make([]uint32, chunkSize),
		}
	}
	x.next.Store(id + 1)
	return id
}

func upperBytes(level int32, m int) int64 {
	if level <= 0 {
		return 0
	}
	return int64(level) * int64(24+(m+1)*8)
}

// prepare places a vector in a slot; allocMu is held (and mu for writing
// when exclusive). It returns the slot, its level and whether the node
// still has to be linked.
func (x *Index) prepare(key uint64, v []float32, exclusive bool) (uint32, int32, bool) {
	if old, ok := x.keys[key]; ok {
		x.tombstone(old)
	}
	id := x.allocSlot(exclusive)
	level := x.randomLevel()
	nm := x.meta(id)
	x.upperB -= upperBytes(nm.level, x.m)
	nm.key = key
	nm.level = level
	nm.upper = nil
	if level > 0 {
		nm.upper = make([][]cand, level)
		for i := range nm.upper {
			nm.upper[i] = make([]cand, 0, x.m+1)
		}
		x.upperB += upperBytes(level, x.m)
	}
	copy(x.vec(id), v)
	x.chunks[id>>chunkShift].count0[id&chunkMask] = 0
	nm.deleted.Store(false)
	x.keys[key] = id
	x.live.Add(1)
	x.epMu.Lock()
	defer x.epMu.Unlock()
	if !x.hasEP {
		x.ep, x.maxLevel, x.hasEP = id, level, true
		return id, level, false
	}
	return id, level, true
}

// Insert adds (or replaces) the vector for key. It is safe to call from many
// goroutines at once: fresh slots are handed out under a short mutex and
// linking runs concurrently with searches and other inserts; reusing a
// deleted slot briefly excludes searches.
func (x *Index) Insert(key uint64, v []float32) error {
	if len(v) != x.dim {
		return fmt.Errorf("%w: got %d, want %d", ErrDimension, len(v), x.dim)
	}
	s := x.getSearcher()
	defer x.searcher.Put(s)
	if !Normalize(s.query, v) {
		return ErrZeroVector
	}
	x.mu.RLock()
	x.allocMu.Lock()
	if x.needsExclusive() {
		x.allocMu.Unlock()
		x.mu.RUnlock()
		x.mu.Lock()
		x.allocMu.Lock()
		id, level, link := x.prepare(key, s.query, true)
		x.allocMu.Unlock()
		x.mu.Unlock()
		if !link {
			return nil
		}
		x.mu.RLock()
		defer x.mu.RUnlock()
		x.link(s, id, level)
		return nil
	}
	id, level, link := x.prepare(key, s.query, false)
	x.allocMu.Unlock()
	defer x.mu.RUnlock()
	if link {
		x.link(s, id, level)
	}
	return nil
}

// link connects a prepared node into the graph; mu is held in either mode.
func (x *Index) link(s *searcher, id uint32, level int32) {
	q := x.vec(id)
	x.epMu.Lock()
	ep, top := x.ep, x.maxLevel
	x.epMu.Unlock()

	cur := ep
	curD := -dot(q, x.vec(cur))
	for l := top; l > level; l-- {
		cur, curD = x.greedy(s, q, cur, curD, int(l), id)
	}
	s.eps = append(s.eps[:0], cand{d: curD, id: cur})
	for l := min(level, top); l >= 0; l-- {
		res := x.searchLayer(s, q, s.eps, x.cfg.EfConstruction, int(l), nil, id, true)
		s.eps = append(s.eps[:0], res...)
		sel := x.selectHeuristic(s, res, x.maxNeighbours(int(l)), id)
		s.sel = append(s.sel[:0], sel...)
		mu := x.lock(id)
		mu.Lock()
		x.setListLocked(id, int(l), s.sel)
		mu.Unlock()
		for _, n := range s.sel {
			x.addReverse(s, n.id, id, n.d, int(l))
		}
	}
	if level > top {
		x.epMu.Lock()
		if level > x.maxLevel {
			x.ep, x.maxLevel = id, level
		}
		x.epMu.Unlock()
	}
}

// Delete removes key. The node becomes a tombstone whose slot a later insert
// reuses.
func (x *Index) Delete(key uint64) error {
	x.allocMu.Lock()
	defer x.allocMu.Unlock()
	id, ok := x.keys[key]
	if !ok {
		return ErrNotFound
	}
	x.tombstone(id)
	return nil
}

// tombstone marks id deleted; allocMu is held.
func (x *Index) tombstone(id uint32) {
	nm := x.meta(id)
	delete(x.keys, nm.key)
	nm.deleted.Store(true)
	x.live.Add(-1)
	x.dead.Add(1)
	x.free = append(x.free, id)
}

// Stats describes the index's size.
type Stats struct {
	Live        int
	Tombstones  int
	Slots       int
	MaxLevel    int
	MemoryBytes int64
}

// Stats returns counters and the memory the index holds.
func (x *Index) Stats() Stats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	x.allocMu.Lock()
	defer x.allocMu.Unlock()
	x.epMu.Lock()
	lvl := int(x.maxLevel)
	x.epMu.Unlock()
	return Stats{
		Live:        int(x.live.Load()),
		Tombstones:  int(x.dead.Load()),
		Slots:       int(x.next.Load()),
		MaxLevel:    lvl,
		MemoryBytes: x.memoryLocked(),
	}
}

// MemoryBytes returns the bytes the index holds: vector and link slabs,
// node metadata, upper-layer lists and the key map.
func (x *Index) MemoryBytes() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	x.allocMu.Lock()
	defer x.allocMu.Unlock()
	return x.memoryLocked()
}

// memoryLocked needs mu (either mode) and allocMu.
func (x *Index) memoryLocked() int64 {
	perChunk := int64(chunkSize)*int64(x.dim)*4 +
		int64(chunkSize)*int64(x.m0)*8 + int64(chunkSize)*4 +
		int64(chunkSize)*int64(unsafe.Sizeof(nodeMeta{}))
	// A Go map entry costs its key, value and roughly 8 bytes of overhead.
	mapBytes := int64(len(x.keys)) * (8 + 4 + 8)
	used := int64(0)
	for _, c := range x.chunks {
		if c != nil {
			used++
		}
	}
	return used*perChunk + int64(cap(x.chunks))*8 + x.upperB + mapBytes + int64(cap(x.free))*4
}

// BytesPerVector estimates the marginal memory cost of one live vector.
func (x *Index) BytesPerVector() int64 {
	return int64(x.dim)*4 + int64(x.m0)*8 + 4 + int64(unsafe.Sizeof(nodeMeta{})) +
		int64(float64(24+(x.m+1)*8)/float64(x.m-1)) + 20
}
