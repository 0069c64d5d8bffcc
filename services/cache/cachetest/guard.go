package cachetest

import (
	"testing"

	"github.com/semrouter/semrouter/services/cache"
)

// testSemanticGuard checks that a backend applies the lexical guard
// (cache.SameQuestion) to semantic candidates: a nearer candidate naming
// another number is skipped for a farther one that matches, and a lookup
// without text keeps the embedding-only behaviour.
func testSemanticGuard(t *testing.T, f Factory) {
	e := newEnv(t, f, cache.Options{})
	base := Unit(e.rng, Dim)
	e.put(e.entry(basePart, "Which phones launched in 2015?", "ctx", base, "phones-2015"))
	e.put(e.entry(basePart, "Which phones launched in 2016?", "ctx", Near(e.rng, base, 0.96), "phones-2016"))
	e.put(e.entry(basePart, "Why don't phones launch in winter?", "ctx", Near(e.rng, base, 0.97), "no-winter"))

	tests := []struct {
		name string
		text string
		body string // "" = miss
	}{
		{name: "no text: nearest entry", text: "", body: "phones-2015"},
		{name: "same number: nearest entry", text: "What phones were launched in 2015?", body: "phones-2015"},
		{name: "other number skips to the matching entry", text: "What phones were launched in 2016?", body: "phones-2016"},
		{name: "number nobody stored misses", text: "What phones were launched in 2017?", body: ""},
		{name: "negation must match", text: "Why don't phones launch in winter?", body: "no-winter"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := semQ(basePart, "ctx", base, 0.9)
			q.Text = tc.text
			h, ok := e.lookup(q)
			if tc.body == "" {
				if ok {
					t.Fatalf("hit %q, want a miss", h.Entry.Response.Body)
				}
				return
			}
			if !ok || string(h.Entry.Response.Body) != tc.body {
				t.Fatalf("hit=%v body %q, want %q", ok, bodyOf(h, ok), tc.body)
			}
		})
	}
}

func bodyOf(h cache.Hit, ok bool) string {
	if !ok || h.Entry == nil {
		return ""
	}
	return string(h.Entry.Response.Body)
}
