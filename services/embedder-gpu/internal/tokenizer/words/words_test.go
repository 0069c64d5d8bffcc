package words_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/embedder-gpu/internal/testenv"
	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/words"
)

func TestAppendEncode(t *testing.T) {
	vocab, err := words.LoadTSV(strings.NewReader("the\t0.1\ninstall\t0.9\ne-mail\t0.95\nmail\t0.8\ndon\t0.7\nt\t0.2\ncafé\t0.99\n42\t0.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want []int32
	}{
		{name: "empty", in: "", want: nil},
		{name: "lowercase and punctuation dropped", in: "The INSTALL!!!", want: []int32{1, 2}},
		{name: "hyphenated word in vocabulary", in: "send e-mail", want: []int32{3}},
		{name: "hyphenated word split when missing", in: "x-mail", want: []int32{4}},
		{name: "apostrophe split", in: "don’t", want: []int32{5, 6}},
		{name: "nfkc and accents", in: "ＣＡＦＥ\u0301", want: []int32{7}},
		{name: "digits", in: "42 apples", want: []int32{8}},
		{name: "unknown words skipped", in: "zzz qqq", want: nil},
		{name: "invalid utf8", in: "the\xffinstall", want: []int32{1, 2}},
		{name: "trailing joiner", in: "install-", want: []int32{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, weights := vocab.AppendEncode(nil, nil, tc.in)
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("ids = %v, want %v", ids, tc.want)
			}
			for i, id := range ids {
				if weights[i] != vocab.Weight(id) {
					t.Fatalf("weight %d = %v, want %v", i, weights[i], vocab.Weight(id))
				}
			}
		})
	}
}

func TestLoadTSVErrors(t *testing.T) {
	for name, in := range map[string]string{
		"empty":      "",
		"no tab":     "word\n",
		"bad weight": "word\tx\n",
		"duplicate":  "a\t1\na\t2\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := words.LoadTSV(strings.NewReader(in)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestGloveVocabularyWeightsFollowFrequency(t *testing.T) {
	dir := testenv.ModelDir(t, "glove-sif-100d")
	vocab, err := words.LoadFile(filepath.Join(dir, "vocab.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	the, install := vocab.ID("the"), vocab.ID("installation")
	if the == 0 || install == 0 {
		t.Fatalf("common words missing: the=%d installation=%d", the, install)
	}
	if vocab.Weight(the) >= vocab.Weight(install) {
		t.Fatalf("SIF weight of 'the' (%v) should be below 'installation' (%v)", vocab.Weight(the), vocab.Weight(install))
	}
}

func FuzzAppendEncode(f *testing.F) {
	vocab, err := words.LoadTSV(strings.NewReader("a\t0.5\nb-c\t0.5\n"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "a b-c", "'-'", "\xff", "a--b", "ǅ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, weights := vocab.AppendEncode(nil, nil, s)
		if len(ids) != len(weights) {
			t.Fatalf("%d ids, %d weights", len(ids), len(weights))
		}
		for _, id := range ids {
			if id <= 0 || int(id) > vocab.Size() {
				t.Fatalf("id %d out of range", id)
			}
		}
	})
}

func BenchmarkAppendEncode(b *testing.B) {
	vocab, err := words.LoadFile(filepath.Join(testenv.ModelDir(b, "glove-sif-100d"), "vocab.tsv"))
	if err != nil {
		b.Fatal(err)
	}
	text := "Compare PostgreSQL and MySQL for a write-heavy workload with many small transactions."
	b.ReportAllocs()
	var ids []int32
	var weights []float32
	for b.Loop() {
		ids, weights = vocab.AppendEncode(ids[:0], weights[:0], text)
	}
}
