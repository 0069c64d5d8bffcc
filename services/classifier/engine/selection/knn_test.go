package selection

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// square is a hand-checkable bank: four unit vectors on the axes; "weak"
// answers only the first, "strong" every one but the third.
func square(t testing.TB, k int, tau, gap float64) *KNNBank {
	t.Helper()
	b, err := NewKNNBank(KNNMeta{EmbeddingModel: "axes", K: k, Tau: tau, Gap: gap,
		Models: []KNNModel{{Name: "small", Source: "weak-ds"}, {Name: "big", Source: "strong-ds"}}},
		[][]float32{{1, 0}, {0, 1}, {-1, 0}, {0, -1}},
		[][]bool{{true, false, false, false}, {true, true, false, true}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKNNEstimate(t *testing.T) {
	e2 := math.Exp(-2) // weight of a neighbour 1 below the nearest, τ = 0.5
	tests := []struct {
		name string
		k    int
		q    []float32
		want []float64 // weak, strong
	}{
		// neighbours r0 (cos 1, w 1), r1 and r3 (cos 0, w e⁻²); r2 is 4th
		{"query on r0", 3, []float32{1, 0}, []float64{1 / (1 + 2*e2), 1}},
		// neighbours r1 (w 1), r0 and r2 (w e⁻²)
		{"query on r1", 3, []float32{0, 1}, []float64{e2 / (1 + 2*e2), (1 + e2) / (1 + 2*e2)}},
		{"unnormalised query", 3, []float32{0, 5}, []float64{e2 / (1 + 2*e2), (1 + e2) / (1 + 2*e2)}},
		{"k=1 keeps the nearest only", 1, []float32{0, 1}, []float64{0, 1}},
		// r0 and r1 tie exactly; the lower row wins
		{"tie goes to the lower row", 1, []float32{1, 1}, []float64{1, 1}},
		{"k above n uses all rows", 10, []float32{1, 0}, []float64{1 / (1 + 2*e2 + math.Exp(-4)), (1 + 2*e2) / (1 + 2*e2 + math.Exp(-4))}},
	}
	b := square(t, 3, 0.5, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.Estimate(tc.q, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			for m := range tc.want {
				if math.Abs(got[m]-tc.want[m]) > 1e-6 {
					t.Fatalf("estimates %v, want %v", got, tc.want)
				}
			}
		})
	}
	if _, err := b.Estimate([]float32{1, 0, 0}, 0); err == nil {
		t.Fatal("a query of the wrong size was estimated")
	}
	if _, err := b.Estimate([]float32{0, 0}, 0); err == nil {
		t.Fatal("a zero query was estimated")
	}
}

func TestKNNSelect(t *testing.T) {
	e2 := math.Exp(-2)
	pWeakR0 := 1 / (1 + 2*e2) // 0.787: gain 0.213 on r0
	pWeakR1 := e2 / (1 + 2*e2)
	pStrongR1 := (1 + e2) / (1 + 2*e2) // gain 0.787 on r1
	weak, strong := KNNCandidate{Model: "small"}, KNNCandidate{Model: "big"}
	priced := func(c KNNCandidate, cost float64) KNNCandidate { c.Cost, c.HasCost = cost, true; return c }
	tests := []struct {
		name      string
		cfg       KNNConfig
		cands     []KNNCandidate
		q         []float32
		want      int
		algorithm string
		score     float64
		fallback  string
	}{
		{name: "small gain stays weak", cfg: KNNConfig{Gap: 0.3, HasGap: true}, cands: []KNNCandidate{weak, strong},
			q: []float32{1, 0}, want: 0, algorithm: KNN, score: pWeakR0},
		{name: "gain above the gap goes strong", cfg: KNNConfig{Gap: 0.2, HasGap: true}, cands: []KNNCandidate{weak, strong},
			q: []float32{1, 0}, want: 1, algorithm: KNN, score: 1},
		{name: "bank default gap", cfg: KNNConfig{}, cands: []KNNCandidate{weak, strong},
			q: []float32{0, 1}, want: 1, algorithm: KNN, score: pStrongR1},
		{name: "config k overrides the bank's", cfg: KNNConfig{K: 1, Gap: 0.01, HasGap: true}, cands: []KNNCandidate{weak, strong},
			q: []float32{1, 0}, want: 0, algorithm: KNN, score: 1},
		{name: "pricing orders the candidates", cfg: KNNConfig{Gap: 0.3, HasGap: true},
			cands: []KNNCandidate{priced(strong, 12.5), priced(weak, 0.4)}, q: []float32{1, 0}, want: 1, algorithm: KNN, score: pWeakR0},
		{name: "partial pricing keeps modelRefs order", cfg: KNNConfig{Gap: 0.3, HasGap: true},
			cands: []KNNCandidate{priced(strong, 12.5), weak}, q: []float32{1, 0}, want: 0, algorithm: KNN, score: 1},
		{name: "dataset source name matches", cfg: KNNConfig{Gap: 0.3, HasGap: true},
			cands: []KNNCandidate{{Model: "weak-ds"}, {Model: "strong-ds"}}, q: []float32{0, 1}, want: 1, algorithm: KNN, score: pStrongR1},
		// the unknown model scores the mean of both columns: (pWeakR1+pStrongR1)/2 = 0.5
		{name: "unknown model scores the mean", cfg: KNNConfig{Gap: 0.1, HasGap: true},
			cands: []KNNCandidate{{Model: "other"}, strong}, q: []float32{0, 1}, want: 1, algorithm: KNN, score: pStrongR1},
		{name: "unknown model within a wide gap", cfg: KNNConfig{Gap: 0.5, HasGap: true},
			cands: []KNNCandidate{{Model: "other"}, strong}, q: []float32{0, 1}, want: 0, algorithm: KNN, score: (pWeakR1 + pStrongR1) / 2},
		{name: "no query", cfg: KNNConfig{}, cands: []KNNCandidate{weak, strong}, want: 0, algorithm: Static, fallback: reasonKNNNoQuery},
		{name: "wrong dimensions", cfg: KNNConfig{}, cands: []KNNCandidate{weak, strong}, q: []float32{1, 0, 0}, want: 0, algorithm: Static, fallback: reasonKNNDims},
		{name: "no known column", cfg: KNNConfig{}, cands: []KNNCandidate{{Model: "a"}, {Model: "b"}}, q: []float32{1, 0}, want: 0, algorithm: Static, fallback: reasonKNNNoCol},
		{name: "one candidate needs no data", cfg: KNNConfig{}, cands: []KNNCandidate{strong}, want: 0, algorithm: KNN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Bank = square(t, 3, 0.5, 0.5)
			s := NewKNNSelector(tc.cfg, tc.cands)
			c, err := s.Select(Input{Query: tc.q})
			if err != nil {
				t.Fatal(err)
			}
			if c.Index != tc.want || c.Algorithm != tc.algorithm || c.Fallback != tc.fallback || math.Abs(c.Score-tc.score) > 1e-6 {
				t.Fatalf("choice %+v, want index %d algorithm %q score %.4f fallback %q", c, tc.want, tc.algorithm, tc.score, tc.fallback)
			}
		})
	}
	t.Run("no bank", func(t *testing.T) {
		s := NewKNNSelector(KNNConfig{Unavailable: "knn: nothing for hash"}, []KNNCandidate{weak, strong})
		c, _ := s.Select(Input{Query: []float32{1, 0}})
		if c.Index != 0 || c.Algorithm != Static || c.Fallback != "knn: nothing for hash" {
			t.Fatalf("choice %+v", c)
		}
	})
	t.Run("no bank, no reason given", func(t *testing.T) {
		c, _ := NewKNNSelector(KNNConfig{}, []KNNCandidate{weak, strong}).Select(Input{Query: []float32{1, 0}})
		if c.Index != 0 || c.Algorithm != Static || c.Fallback != reasonKNNNoData {
			t.Fatalf("choice %+v", c)
		}
	})
	t.Run("no candidates", func(t *testing.T) {
		if _, err := NewKNNSelector(KNNConfig{}, nil).Select(Input{}); !errors.Is(err, ErrNoCandidates) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestKNNBankRoundTrip(t *testing.T) {
	b := square(t, 3, 0.5, 0.25)
	b.Meta.Data = "hand-made"
	var buf bytes.Buffer
	n, err := b.WriteTo(&buf)
	if err != nil || int(n) != buf.Len() || buf.Len() != b.Size() {
		t.Fatalf("wrote %d bytes (buffer %d, Size %d): %v", n, buf.Len(), b.Size(), err)
	}
	got, err := ReadKNNBank(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Meta, b.Meta) || !reflect.DeepEqual(got.pairs, b.pairs) || !reflect.DeepEqual(got.scale, b.scale) || !reflect.DeepEqual(got.bits, b.bits) {
		t.Fatalf("round trip changed the bank:\n%+v\n%+v", got, b)
	}
	var again bytes.Buffer
	if _, err := got.WriteTo(&again); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Fatalf("re-encoding differs (err %v)", err)
	}
}

// reseal recomputes the checksum of a file whose body was edited.
func reseal(body []byte) []byte {
	return binary.LittleEndian.AppendUint32(append([]byte(nil), body...), crc32.ChecksumIEEE(body))
}

func TestKNNBankCorrupt(t *testing.T) {
	var buf bytes.Buffer
	if _, err := square(t, 3, 0.5, 0.25).WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	body := good[:len(good)-4]
	hlen := int(binary.LittleEndian.Uint32(body[8:]))
	header := string(body[12 : 12+hlen])
	withHeader := func(h string) []byte {
		b := append([]byte(nil), body[:8]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(h)))
		b = append(b, h...)
		return reseal(append(b, body[12+hlen:]...))
	}
	flip := append([]byte(nil), good...)
	flip[len(flip)-10] ^= 0x40
	zeroScale := append([]byte(nil), body...)
	copy(zeroScale[12+hlen:], []byte{0, 0, 0, 0})
	tests := []struct {
		name, want string
		data       []byte
	}{
		{"empty", "wrong magic", nil},
		{"not a knn file", "wrong magic", []byte("{\"format\":\"semrouter-knn/1\"} and then some")},
		{"flipped bit", "checksum", flip},
		{"truncated", "checksum", good[:len(good)-7]},
		{"trailing bytes", "body has", reseal(append(append([]byte(nil), body...), 0))},
		{"missing rows", "body has", reseal(body[:len(body)-1])},
		{"header length too large", "header length", reseal(append(append(append([]byte(nil), body[:8]...), 0xff, 0xff, 0xff, 0x7f), body[12:]...))},
		{"header not JSON", "header", withHeader("not json")},
		{"unknown header field", "unknown field", withHeader(strings.Replace(header, `"format"`, `"colour":1,"format"`, 1))},
		{"wrong format", "format", withHeader(strings.Replace(header, KNNFormat, "semrouter-knn/9", 1))},
		{"zero tau", "tau", withHeader(strings.Replace(header, `"tau":0.5`, `"tau":0`, 1))},
		{"duplicate model", "twice", withHeader(strings.Replace(header, `"name":"big"`, `"name":"small"`, 1))},
		{"zero scale", "scale", reseal(zeroScale)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKNNBank(tc.data)
			if !errors.Is(err, ErrBadKNNFile) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrBadKNNFile mentioning %q", err, tc.want)
			}
		})
	}
}

func TestNewKNNBankErrors(t *testing.T) {
	meta := KNNMeta{K: 2, Tau: 0.1, Models: []KNNModel{{Name: "a"}}}
	tests := []struct {
		name     string
		meta     KNNMeta
		vecs     [][]float32
		outcomes [][]bool
	}{
		{"no vectors", meta, nil, [][]bool{{}}},
		{"ragged vectors", meta, [][]float32{{1, 0}, {1}}, [][]bool{{true, false}}},
		{"zero vector", meta, [][]float32{{0, 0}}, [][]bool{{true}}},
		{"outcome count", meta, [][]float32{{1, 0}}, [][]bool{{true, false}}},
		{"column count", meta, [][]float32{{1, 0}}, nil},
		{"no k", KNNMeta{Tau: 0.1, Models: meta.Models}, [][]float32{{1, 0}}, [][]bool{{true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewKNNBank(tc.meta, tc.vecs, tc.outcomes); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestKNNEstimateMatchesFloat checks the paired int8 dot products (odd row
// count, odd dimensions, signed values) against a float64 computation of
// the same kernel estimate over the decoded rows.
func TestKNNEstimateMatchesFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const n, dims, k, tau = 9, 37, 5, 0.1
	vecs := make([][]float32, n)
	col := make([]bool, n)
	for j := range vecs {
		vecs[j] = make([]float32, dims)
		for i := range vecs[j] {
			vecs[j][i] = float32(r.NormFloat64())
		}
		col[j] = r.IntN(2) == 0
	}
	b, err := NewKNNBank(KNNMeta{K: k, Tau: tau, Models: []KNNModel{{Name: "m"}}}, vecs, [][]bool{col})
	if err != nil {
		t.Fatal(err)
	}
	for qj := range n {
		q := b.Row(qj)
		type nb struct {
			cos float64
			j   int
		}
		var all []nb
		for j := range n {
			row := b.Row(j)
			var dot, nq, nr float64
			for i := range q {
				dot += float64(q[i]) * float64(row[i])
				nq += float64(q[i]) * float64(q[i])
				nr += float64(row[i]) * float64(row[i])
			}
			all = append(all, nb{dot / math.Sqrt(nq*nr), j})
		}
		sort.SliceStable(all, func(a, c int) bool { return all[a].cos > all[c].cos })
		var num, den float64
		for _, x := range all[:k] {
			w := math.Exp((x.cos - all[0].cos) / tau)
			den += w
			if col[x.j] {
				num += w
			}
		}
		got, err := b.Estimate(q, 0)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got[0]-num/den) > 1e-4 {
			t.Fatalf("query %d: estimate %.6f, float %.6f", qj, got[0], num/den)
		}
	}
}
