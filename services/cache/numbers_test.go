package cache

import (
	"slices"
	"testing"
)

func TestAppendNumbers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		want     []string
		complete bool
	}{
		{"digits and separators", "It costs 1,000 dollars, or 3.5 per unit.", []string{"1000", "3.5"}, true},
		{"spelled out", "twenty-five people and 3 thousand cars", []string{"25", "3000"}, true},
		{"ordinal and lone one", "the 5th one of them", []string{"5"}, true},
		{"none", "no numbers here", nil, true},
		{"too many", "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18", []string{"1", "2", "3", "4", "5", "6", "7", "8",
			"9", "10", "11", "12", "13", "14", "15", "16"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, complete := AppendNumbers(nil, tc.in)
			if !slices.Equal(got, tc.want) || complete != tc.complete {
				t.Errorf("AppendNumbers(%q) = %q, %v; want %q, %v", tc.in, got, complete, tc.want, tc.complete)
			}
		})
	}
}
