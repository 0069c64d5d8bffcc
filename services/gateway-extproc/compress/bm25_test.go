package compress

import (
	"slices"
	"testing"
)

func TestTerms(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"lower-cased words without stop words", "What is the Disk usage of /var?", []string{"disk", "usage", "var"}},
		{"identifiers split", "ERROR db_pool.timeout=30s", []string{"error", "db", "pool", "timeout", "30s"}},
		{"digits kept, one letter dropped", "a 7 b x2", []string{"7", "x2"}},
		{"cjk runes", "日本語 test", []string{"日", "本", "語", "test"}},
		{"empty", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Terms(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("Terms(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestBM25(t *testing.T) {
	segs := []string{
		"the build finished in 3 minutes",
		"error: connection refused to database primary",
		"database replica is healthy",
		"error error error while reading the cache",
		"unrelated line about weather",
	}
	m := NewBM25(segs)
	tests := []struct {
		name  string
		query string
		check func(t *testing.T, s []float64)
	}{
		{"both terms beat one term", "database connection error", func(t *testing.T, s []float64) {
			if !(s[1] > s[2] && s[1] > s[3]) {
				t.Errorf("segment with database+connection+error should win: %v", s)
			}
		}},
		{"no matching term scores zero", "kubernetes", func(t *testing.T, s []float64) {
			for i, v := range s {
				if v != 0 {
					t.Errorf("score[%d] = %v, want 0", i, v)
				}
			}
		}},
		{"term frequency saturates but still counts", "error", func(t *testing.T, s []float64) {
			if !(s[3] > s[1]) || s[3] > 3*s[1] {
				t.Errorf("tf 3 should beat tf 1 but saturate: %v", s)
			}
			if s[0] != 0 || s[4] != 0 {
				t.Errorf("segments without the term: %v", s)
			}
		}},
		{"rarer term weighs more", "database build", func(t *testing.T, s []float64) {
			// build occurs once, database twice: the build line wins
			// although both lines have one matching term.
			if !(s[0] > s[2]) {
				t.Errorf("idf: %v", s)
			}
		}},
		{"repeated query terms count once", "weather weather weather", func(t *testing.T, s []float64) {
			one := m.Scores("weather")
			if s[4] != one[4] {
				t.Errorf("repeated query %v != single %v", s[4], one[4])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, m.Scores(tc.query)) })
	}
	if got := NewBM25(nil).Scores("x"); len(got) != 0 {
		t.Errorf("empty corpus: %v", got)
	}
}
