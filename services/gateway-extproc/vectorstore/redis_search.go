package vectorstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"sort"

	goredis "github.com/redis/go-redis/v9"
)

// Vectors in Redis are int8-quantised: a file's blob is "q8", the
// dimension and the chunk count (uint32 little-endian each), then per
// chunk a float32 scale and dimension int8 values (x ≈ scale·q, scale =
// max|x|/127). A unit vector of 512 dimensions takes 516 bytes instead of
// 2048; scores move by about 0.005 at most (cosine of unit vectors).
// Texts are a separate blob (count, then length-prefixed UTF-8 texts),
// read only for the files of the hits.
const vecMagic = "q8"

func encodeVectors(cs []Chunk) []byte {
	dim := 0
	if len(cs) > 0 {
		dim = len(cs[0].Vec)
	}
	b := make([]byte, 0, 10+len(cs)*(4+dim))
	b = append(b, vecMagic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(dim))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(cs)))
	for _, c := range cs {
		var m float32
		for _, x := range c.Vec {
			m = max(m, float32(math.Abs(float64(x))))
		}
		scale := m / 127
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(scale))
		for i := range dim {
			var q int8
			if scale > 0 && i < len(c.Vec) {
				q = int8(math.Round(float64(c.Vec[i] / scale)))
			}
			b = append(b, byte(q))
		}
	}
	return b
}

func encodeTexts(cs []Chunk) []byte {
	n := 4
	for _, c := range cs {
		n += 4 + len(c.Text)
	}
	b := make([]byte, 0, n)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(cs)))
	for _, c := range cs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(c.Text)))
		b = append(b, c.Text...)
	}
	return b
}

// textAt returns chunk i of a texts blob.
func textAt(blob string, i int) (string, bool) {
	if len(blob) < 4 {
		return "", false
	}
	n := int(binary.LittleEndian.Uint32([]byte(blob[:4])))
	off := 4
	for j := 0; j < n && off+4 <= len(blob); j++ {
		l := int(binary.LittleEndian.Uint32([]byte(blob[off : off+4])))
		off += 4
		if off+l > len(blob) {
			return "", false
		}
		if j == i {
			return blob[off : off+l], true
		}
		off += l
	}
	return "", false
}

// fileScore is a hit of a scan: chunk idx of file.
type fileScore struct {
	file  string
	idx   int
	score float32
}

// scanQ8 scores every chunk of one file's vector blob against q and
// merges them into best (at most k, best first, at or above threshold
// when it is > 0). A blob of another dimension is skipped.
func scanQ8(best []fileScore, file, blob string, q []float32, k int, threshold float32) []fileScore {
	if len(blob) < 10 || blob[:2] != vecMagic {
		return best
	}
	dim := int(binary.LittleEndian.Uint32([]byte(blob[2:6])))
	n := int(binary.LittleEndian.Uint32([]byte(blob[6:10])))
	if dim != len(q) || len(blob) < 10+n*(4+dim) {
		return best
	}
	off := 10
	for i := range n {
		scale := math.Float32frombits(binary.LittleEndian.Uint32([]byte(blob[off : off+4])))
		v := blob[off+4 : off+4+dim]
		off += 4 + dim
		var s0, s1, s2, s3 float32
		j := 0
		for ; j+4 <= dim; j += 4 {
			s0 += q[j] * float32(int8(v[j]))
			s1 += q[j+1] * float32(int8(v[j+1]))
			s2 += q[j+2] * float32(int8(v[j+2]))
			s3 += q[j+3] * float32(int8(v[j+3]))
		}
		for ; j < dim; j++ {
			s0 += q[j] * float32(int8(v[j]))
		}
		sc := (s0 + s1 + s2 + s3) * scale
		if (threshold > 0 && sc < threshold) || (len(best) == k && sc <= best[k-1].score) {
			continue
		}
		at := sort.Search(len(best), func(x int) bool { return best[x].score < sc })
		best = append(best, fileScore{})
		copy(best[at+1:], best[at:])
		best[at] = fileScore{file, i, sc}
		if len(best) > k {
			best = best[:k]
		}
	}
	return best
}

// Search searches one of owner's vector stores.
func (s *RedisStore) Search(ctx context.Context, owner, storeID string, req SearchRequest) ([]Hit, error) {
	if _, err := s.store(ctx, owner, storeID, false); err != nil {
		return nil, err
	}
	return s.search(ctx, storeID, req)
}

// SearchAny searches a vector store whatever its owner (the rag plugin's
// vectorstore backend).
func (s *RedisStore) SearchAny(ctx context.Context, storeID string, req SearchRequest) ([]Hit, error) {
	if _, err := s.store(ctx, "", storeID, true); err != nil {
		return nil, err
	}
	return s.search(ctx, storeID, req)
}

func (s *RedisStore) search(ctx context.Context, storeID string, req SearchRequest) ([]Hit, error) {
	q, k, err := embedQuery(ctx, s.emb, req)
	if err != nil {
		return nil, err
	}
	var recsCmd, vecCmd *goredis.MapStringStringCmd
	if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		recsCmd = p.HGetAll(ctx, s.sfKey(storeID))
		vecCmd = p.HGetAll(ctx, s.vecKey(storeID))
		return nil
	}); err != nil {
		return nil, s.unavailable("read vector store "+storeID, err)
	}
	recs, err := decodeRecords(recsCmd.Val())
	if err != nil {
		return nil, err
	}
	best := make([]fileScore, 0, k+1)
	for id, blob := range vecCmd.Val() {
		if r, ok := recs[id]; ok && searchable(&r.StoreFile, &req) {
			best = scanQ8(best, id, blob, q, k, float32(req.Threshold))
		}
	}
	if len(best) == 0 {
		return []Hit{}, nil
	}
	ids := make([]string, 0, len(best))
	seen := map[string]bool{}
	for _, b := range best {
		if !seen[b.file] {
			seen[b.file] = true
			ids = append(ids, b.file)
		}
	}
	var textCmd, fileCmd *goredis.SliceCmd
	if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		textCmd = p.HMGet(ctx, s.textKey(storeID), ids...)
		fileCmd = p.HMGet(ctx, s.p+"files", ids...)
		return nil
	}); err != nil {
		return nil, s.unavailable("read chunk texts of "+storeID, err)
	}
	texts, names := map[string]string{}, map[string]string{}
	for i, id := range ids {
		if t, ok := textCmd.Val()[i].(string); ok {
			texts[id] = t
		}
		if m, ok := fileCmd.Val()[i].(string); ok {
			var f File
			if json.Unmarshal([]byte(m), &f) == nil {
				names[id] = f.Filename
			}
		}
	}
	hits := make([]Hit, 0, len(best))
	for _, b := range best {
		text, ok := textAt(texts[b.file], b.idx)
		if !ok {
			continue // detached between the two reads
		}
		hits = append(hits, Hit{FileID: b.file, Filename: names[b.file], Score: float64(b.score), Text: text,
			Attributes: recs[b.file].Attributes})
	}
	return hits, nil
}
