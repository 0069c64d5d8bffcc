package vecgroup

import (
	"math/rand/v2"
	"testing"

	"github.com/semrouter/semrouter/services/cache/internal/hnsw"
)

func unit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	hnsw.Normalize(v, v)
	return v
}

func TestGroupsAreIsolated(t *testing.T) {
	x, err := New(hnsw.Config{Dim: 16, ExactThreshold: 8})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vecs := map[uint64][]float32{}
	for id := range uint64(60) {
		vecs[id] = unit(rng, 16)
		grp := "even"
		if id%2 == 1 {
			grp = "odd"
		}
		if id%10 == 0 {
			grp = "tens" // small group: exact scan
		}
		if err := x.Add(grp, id, vecs[id]); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		group string
		query uint64
		ok    func(uint64) bool
	}{
		{name: "odd", group: "odd", query: 7, ok: func(id uint64) bool { return id%2 == 1 }},
		{name: "even", group: "even", query: 4, ok: func(id uint64) bool { return id%2 == 0 && id%10 != 0 }},
		{name: "tens", group: "tens", query: 30, ok: func(id uint64) bool { return id%10 == 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := x.Search(tc.group, vecs[tc.query], 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) == 0 || res[0].ID != tc.query || res[0].Score < 0.999 {
				t.Fatalf("top result %+v, want %d", res, tc.query)
			}
			for _, r := range res {
				if !tc.ok(r.ID) {
					t.Fatalf("id %d leaked into group %s", r.ID, tc.group)
				}
			}
		})
	}
	if res, _ := x.Search("none", vecs[1], 3); len(res) != 0 {
		t.Fatalf("unknown group returned %v", res)
	}
	x.Remove(7)
	if res, _ := x.Search("odd", vecs[7], 1); len(res) == 1 && res[0].ID == 7 {
		t.Fatal("removed id returned")
	}
	for _, id := range []uint64{0, 10, 20, 30, 40, 50} {
		x.Remove(id)
	}
	if res, _ := x.Search("tens", vecs[30], 3); len(res) != 0 {
		t.Fatalf("emptied group returned %v", res)
	}
	if err := x.Add("odd", 3, vecs[4]); err != nil { // re-add replaces
		t.Fatal(err)
	}
	if res, _ := x.Search("odd", vecs[4], 1); len(res) != 1 || res[0].ID != 3 {
		t.Fatalf("replaced vector not found: %v", res)
	}
	if x.Len() != 53 {
		t.Fatalf("Len=%d want 53", x.Len())
	}
	x.Reset()
	if x.Len() != 0 {
		t.Fatal("Reset kept vectors")
	}
}
