// Package vecgroup indexes vectors that belong to groups (a partition and
// context fingerprint); searches only return vectors of one group. Each
// group has its own HNSW graph, so a search costs the same however the
// other groups grow (a filtered walk over one shared graph slows down
// sharply when one group holds most of the vectors). Vectors are named by
// caller ids; the group travels in the upper 32 bits of the index key.
package vecgroup

import (
	"errors"
	"fmt"
	"sync"

	"github.com/semrouter/semrouter/services/cache/internal/hnsw"
)

// Match is one search result.
type Match struct {
	ID    uint64
	Score float32
}

type group struct {
	gid     uint32
	name    string
	members map[uint64]struct{} // index keys
	idx     *hnsw.Index
}

type ref struct {
	key uint64
	grp *group
}

// Index groups vectors. Methods are safe for concurrent use; callers
// serialise Add and Remove of the same id.
type Index struct {
	cfg      hnsw.Config
	vecBytes int64

	mu      sync.Mutex
	groups  map[string]*group
	gids    map[uint32]*group
	byID    map[uint64]ref
	byKey   map[uint64]uint64
	nextGID uint32
	seq     uint32
}

// New returns an empty grouped index.
func New(cfg hnsw.Config) (*Index, error) {
	probe, err := hnsw.New(cfg)
	if err != nil {
		return nil, err
	}
	x := &Index{cfg: cfg, vecBytes: probe.BytesPerVector()}
	x.resetLocked()
	return x, nil
}

func (x *Index) resetLocked() {
	x.groups = make(map[string]*group)
	x.gids = make(map[uint32]*group)
	x.byID = make(map[uint64]ref)
	x.byKey = make(map[uint64]uint64)
}

// BytesPerVector is the index's marginal cost of one vector.
func (x *Index) BytesPerVector() int64 { return x.vecBytes + 64 }

// Len is the number of vectors.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.byID)
}

// Add indexes vec for id in the named group, replacing an earlier vector of id.
func (x *Index) Add(groupName string, id uint64, vec []float32) error {
	x.Remove(id)
	x.mu.Lock()
	g, ok := x.groups[groupName]
	if !ok {
		idx, err := hnsw.New(x.cfg)
		if err != nil {
			x.mu.Unlock()
			return fmt.Errorf("index vector: %w", err)
		}
		for {
			x.nextGID++
			if _, taken := x.gids[x.nextGID]; !taken && x.nextGID != 0 {
				break
			}
		}
		g = &group{gid: x.nextGID, name: groupName, members: make(map[uint64]struct{}), idx: idx}
		x.groups[groupName] = g
		x.gids[g.gid] = g
	}
	var key uint64
	for {
		x.seq++
		key = uint64(g.gid)<<32 | uint64(x.seq)
		if _, taken := x.byKey[key]; !taken {
			break
		}
	}
	g.members[key] = struct{}{}
	x.byID[id] = ref{key: key, grp: g}
	x.byKey[key] = id
	x.mu.Unlock()
	if err := g.idx.Insert(key, vec); err != nil {
		x.Remove(id)
		return fmt.Errorf("index vector: %w", err)
	}
	return nil
}

// Remove drops the vector of id (a no-op when there is none).
func (x *Index) Remove(id uint64) {
	x.mu.Lock()
	r, ok := x.byID[id]
	if !ok {
		x.mu.Unlock()
		return
	}
	delete(x.byID, id)
	delete(x.byKey, r.key)
	delete(r.grp.members, r.key)
	if len(r.grp.members) == 0 {
		delete(x.groups, r.grp.name)
		delete(x.gids, r.grp.gid)
	}
	x.mu.Unlock()
	if err := r.grp.idx.Delete(r.key); err != nil && !errors.Is(err, hnsw.ErrNotFound) {
		return
	}
	if r.grp.idx.Len() > 0 && r.grp.idx.NeedsCompaction() {
		r.grp.idx.Compact()
	}
}

// Search returns up to k ids of the named group most similar to q.
func (x *Index) Search(groupName string, q []float32, k int) ([]Match, error) {
	x.mu.Lock()
	g, ok := x.groups[groupName]
	if !ok {
		x.mu.Unlock()
		return nil, nil
	}
	idx := g.idx
	x.mu.Unlock()
	res, err := idx.Search(q, hnsw.SearchOptions{K: k})
	if err != nil {
		return nil, err
	}
	out := make([]Match, 0, len(res))
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, r := range res {
		id, ok := x.byKey[r.Key]
		if !ok || x.byID[id].grp.name != groupName {
			continue // removed, or its group id was reused, meanwhile
		}
		out = append(out, Match{ID: id, Score: r.Score})
	}
	return out, nil
}

// Reset drops every vector.
func (x *Index) Reset() {
	x.mu.Lock()
	x.resetLocked()
	x.mu.Unlock()
}
