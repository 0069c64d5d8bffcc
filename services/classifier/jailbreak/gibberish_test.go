package jailbreak

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestEscapeKeyRoundTrip(t *testing.T) {
	caret, backslash := uint8('^'-'!')+symASCII0, uint8('\\'-'!')+symASCII0
	cases := []struct {
		name string
		syms []uint8
		key  string
	}{
		{"start padding", []uint8{symStart, symStart, uint8('a'-'!') + symASCII0}, "^^a"},
		{"space", []uint8{uint8('a'-'!') + symASCII0, symSpace, uint8('b'-'!') + symASCII0}, "a b"},
		{"real caret", []uint8{symStart, caret, caret}, `^\^\^`},
		{"real backslash", []uint8{backslash, symSpace, backslash}, `\\ \\`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := escapeKey(tc.syms); got != tc.key {
				t.Fatalf("escapeKey = %q, want %q", got, tc.key)
			}
			back, err := unescapeKey(tc.key)
			if err != nil || !slices.Equal(back, tc.syms) {
				t.Fatalf("unescapeKey(%q) = %v, %v; want %v", tc.key, back, err, tc.syms)
			}
		})
	}
	for _, bad := range []struct{ name, key, want string }{
		{"non-ASCII", "aé", "not printable ASCII"},
		{"bad escape", `\a`, "bad escape"},
		{"trailing backslash", `ab\`, "trailing backslash"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if _, err := unescapeKey(bad.key); err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Fatalf("unescapeKey(%q) error %v, want %q", bad.key, err, bad.want)
			}
		})
	}
}

func TestAppendSymbols(t *testing.T) {
	f := newLatinFold()
	ascii := func(s string) []uint8 {
		var out []uint8
		for i := 0; i < len(s); i++ {
			if s[i] == ' ' {
				out = append(out, symSpace)
			} else {
				out = append(out, s[i]-'!'+symASCII0)
			}
		}
		return out
	}
	cases := []struct {
		name, text string
		want       []uint8
	}{
		{"whitespace runs collapse", "a \t\n b", ascii("a b")},
		{"punctuation runs are cut to two", "x ===== y ||||", ascii("x == y ||")},
		{"letter runs are kept", "aaaa", ascii("aaaa")},
		{"Latin diacritics fold", "Ünïcödé Şeker", ascii("Unicode Seker")},
		{"Latin letters without a base letter are foreign", "ı", []uint8{symLetter}},
		{"other scripts become one class", "Жи", []uint8{symLetter, symLetter}},
		{"symbols and emoji", "€🙂", []uint8{symOther, symOther}},
		{"control and format characters drop", "a\x00\u200bb", ascii("ab")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.appendSymbols(nil, tc.text); !slices.Equal(got, tc.want) {
				t.Fatalf("appendSymbols(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

// TestCharLMIsNormalised checks that every context's distribution over the
// scored alphabet sums to one, for seen and unseen contexts.
func TestCharLMIsNormalised(t *testing.T) {
	f := newLatinFold()
	texts := []string{"the cat sat on the mat", "the dog sat on the log", "func main() { return }"}
	for order := 1; order <= maxLMOrder; order++ {
		lm := newCharLM(f, f.ngramCounts(texts, order), order)
		for _, ctx := range []string{"th", "at", "zq", "{ ", "~~"} {
			h := f.appendSymbols(nil, ctx)
			var key uint64
			for _, s := range h[len(h)-(order-1):] {
				key = key<<7 | uint64(s)
			}
			sum := 0.0
			for c := range uint64(asciiSymbols) {
				sum += math.Exp(float64(lm.logp[key<<7|c]))
			}
			if math.Abs(sum-1) > 1e-5 {
				t.Errorf("order %d, context %q: probabilities sum to %v", order, ctx, sum)
			}
		}
	}
}

func TestWindowScore(t *testing.T) {
	f := newLatinFold()
	texts := []string{strings.Repeat("the quick brown fox jumps over the lazy dog. ", 50)}
	lm := newCharLM(f, f.ngramCounts(texts, 3), 3)
	score := func(text string) (float64, float64) {
		hi, lo, _, _ := lm.windowScore(text, 16, 8, nil, nil)
		return hi, lo
	}
	if hi, lo := score("the fox"); hi != 0 || lo != 0 {
		t.Errorf("a text shorter than min_symbols scored %v, %v", hi, lo)
	}
	if hi, _ := score("Привет, как у тебя дела сегодня вечером?"); hi != 0 {
		t.Errorf("text in another script scored %v; it should not be judged", hi)
	}
	plain, _ := score("the lazy dog jumps over the quick brown fox")
	hi, lo := score("the lazy dog jumps over the quick brown fox ]{\\comment={[@ tableView")
	if !(hi > plain+1) || !(lo < plain) {
		t.Errorf("suffix windows: hi %v lo %v, plain text %v", hi, lo, plain)
	}
}

func TestParseGibberishErrors(t *testing.T) {
	cases := []struct{ name, json, want string }{
		{"not JSON", `{`, "decode gibberish detector"},
		{"every shape problem", `{"version":2,"order":9,"window":0,"slope":0}`, "version: want 1"},
		{"bad key", `{"version":1,"order":2,"window":8,"slope":1,"counts":{"abc":1}}`, "want 2 symbols, got 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseGibberish([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	_, err := ParseGibberish([]byte(`{"version":2,"order":9,"window":0,"slope":0}`))
	for _, want := range []string{"order: want 1…3", "window: want ≥ 1", "slope: want > 0", "counts: empty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not report %q", err, want)
		}
	}
}

func TestSuffixGeneratorIsDeterministic(t *testing.T) {
	texts := []string{"Write a short story about a lighthouse keeper and his cat."}
	a, b := NewSuffixGenerator(texts, 7), NewSuffixGenerator(texts, 7)
	for range 5 {
		sa, sb := a.Suffix(), b.Suffix()
		if sa != sb {
			t.Fatalf("same seed, different suffixes: %q vs %q", sa, sb)
		}
		if len(sa) < 20 || !strings.ContainsAny(sa, suffixPunct) {
			t.Errorf("suffix %q is not of the GCG form", sa)
		}
	}
	if NewSuffixGenerator(texts, 8).Suffix() == NewSuffixGenerator(texts, 7).Suffix() {
		t.Error("different seeds gave the same suffix")
	}
}

// TestShippedGibberishReproduces refits the shipped detector's recorded
// configuration on warden_train and the background corpus and expects
// weights/gibberish.json byte for byte.
func TestShippedGibberishReproduces(t *testing.T) {
	want, err := ParseGibberish(ShippedGibberish())
	if err != nil {
		t.Fatal(err)
	}
	info := want.Training
	if info == nil {
		t.Fatal("shipped detector has no training record")
	}
	ex, err := ReadExamples(datasetPath(t, "warden_train.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	bg, err := LoadBackground(filepath.Dir(filepath.Dir(datasetPath(t, "warden_train.jsonl"))))
	if err != nil {
		missing(t, "background corpus: %v", err)
	}
	if bg.Digest != info.BackgroundDigest {
		t.Fatalf("background corpus digest %s, shipped detector was trained on %s", bg.Digest, info.BackgroundDigest)
	}
	cfg := GibberishConfig{Order: want.Order, Window: want.Window, MinSymbols: want.MinSymbols, Relative: want.Relative}
	cv, err := CrossValidateGibberish(t.Context(), ex, bg.Texts, cfg, info.Folds, info.FPRBudget)
	if err != nil {
		t.Fatal(err)
	}
	got := FitGibberish(ex, bg.Texts, cv, GibberishTraining{Data: info.Data, Background: bg.Sources,
		BackgroundDigest: bg.Digest, Folds: info.Folds, FPRBudget: info.FPRBudget})
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if string(append(raw, '\n')) != string(ShippedGibberish()) {
		t.Fatalf("refitted detector differs from weights/gibberish.json (threshold %v vs %v, slope %v vs %v, %d vs %d n-grams)",
			got.Threshold, want.Threshold, got.Slope, want.Slope, len(got.Counts), len(want.Counts))
	}
}
