package domain

import (
	"testing"
)

func TestFamilyMatchesNamesCategoriesAndFallback(t *testing.T) {
	// A two-dimensional head: x → "math", y → "law"; a balanced query is
	// uncertain and falls back.
	h := &Head{Dims: 2, Labels: []string{"math", "law"}, W: [][]float32{{8, 0}, {0, 8}}, B: []float32{0, 0}}
	f := &Family{Head: h, Threshold: 0.8, Rules: []Rule{
		{Name: "stem", Categories: []string{"math", "physics"}},
		{Name: "law"},
		{Name: "general", Categories: []string{"other"}},
	}}
	f.Compile()
	cases := []struct {
		name  string
		query []float32
		want  []string
	}{
		{"category list", []float32{1, 0}, []string{"stem"}},
		{"rule named after the label", []float32{0, 1}, []string{"law"}},
		{"low confidence uses the fallback", []float32{0.5, 0.5}, []string{"general"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := f.Evaluate(tc.query, nil)
			if out.Err != nil {
				t.Fatal(out.Err)
			}
			var got []string
			for _, m := range out.Matches {
				got = append(got, m.Name)
			}
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Fatalf("matches = %v, want %v", got, tc.want)
			}
		})
	}
	noHead := &Family{Rules: []Rule{{Name: "law"}}}
	noHead.Compile()
	if out, _ := noHead.Evaluate([]float32{1, 0}, nil); out.Err == nil {
		t.Fatal("a family without a head must report an error")
	}
}
