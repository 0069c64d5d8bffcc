package bertnorm_test

import (
	"testing"

	"github.com/semrouter/semrouter/services/embedder-gpu/internal/tokenizer/bertnorm"
)

func TestNormalize(t *testing.T) {
	all := bertnorm.Options{CleanText: true, ChineseChars: true, StripAccents: true, Lowercase: true}
	tests := []struct {
		name string
		in   string
		o    bertnorm.Options
		want string
	}{
		{"nothing selected", "Héllo\tWORLD\x00", bertnorm.Options{}, "Héllo\tWORLD\x00"},
		{"clean text", "a\x00b\u200bc\td\ne\uFFFD", bertnorm.Options{CleanText: true}, "abc d e"},
		{"chinese characters spaced", "我爱Go", bertnorm.Options{ChineseChars: true}, " 我  爱 Go"},
		{"accents stripped", "Crème Brûlée", bertnorm.Options{StripAccents: true}, "Creme Brulee"},
		{"lowercase", "ÀB ΣΟΦΟΣ", bertnorm.Options{Lowercase: true}, "àb σοφοσ"},
		{"dotted capital I, lowercase only", "İstanbul", bertnorm.Options{Lowercase: true}, "i\u0307stanbul"},
		{"dotted capital I, accents stripped first", "İstanbul", all, "istanbul"},
		{"everything", " Héllo\t世界 ", all, " hello  世  界  "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bertnorm.Normalize(tt.in, tt.o); got != tt.want {
				t.Fatalf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestClasses(t *testing.T) {
	for _, tc := range []struct {
		r                          rune
		space, control, punct, cjk bool
	}{
		{'\t', true, false, false, false},
		{'\u00a0', true, false, false, false},
		{'\u200b', false, true, false, false},
		{'$', false, false, true, false},
		{'¿', false, false, true, false},
		{'a', false, false, false, false},
		{'中', false, false, false, true},
	} {
		if bertnorm.IsWhitespace(tc.r) != tc.space || bertnorm.IsControl(tc.r) != tc.control ||
			bertnorm.IsPunctuation(tc.r) != tc.punct || bertnorm.IsChinese(tc.r) != tc.cjk {
			t.Errorf("classes of %q: space %v control %v punct %v cjk %v", tc.r,
				bertnorm.IsWhitespace(tc.r), bertnorm.IsControl(tc.r), bertnorm.IsPunctuation(tc.r), bertnorm.IsChinese(tc.r))
		}
	}
}
