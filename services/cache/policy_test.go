package cache

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var allDirectives = []string{"no-cache", "no-store", "bypass", "max-age", "ttl"}

func TestParseControls(t *testing.T) {
	full := ControlPolicy{Enabled: true, Header: DefaultControlHeader, Allowed: allDirectives, MaxTTL: time.Hour}
	tests := []struct {
		name   string
		header string
		cp     ControlPolicy
		want   Controls
	}{
		{name: "empty", header: "", cp: full, want: Controls{}},
		{name: "no-store", header: "no-store", cp: full, want: Controls{NoStore: true}},
		{name: "several with spaces and case", header: " No-Cache ,  NO-STORE", cp: full, want: Controls{NoCache: true, NoStore: true}},
		{name: "bypass", header: "bypass", cp: full, want: Controls{Bypass: true}},
		{name: "max-age", header: "max-age=60", cp: full, want: Controls{MaxAge: time.Minute, HasMaxAge: true}},
		{name: "quoted max-age", header: `max-age="5"`, cp: full, want: Controls{MaxAge: 5 * time.Second, HasMaxAge: true}},
		{name: "ttl", header: "ttl=120", cp: full, want: Controls{TTL: 2 * time.Minute, HasTTL: true}},
		{name: "ttl capped", header: "ttl=7201", cp: full, want: Controls{TTL: time.Hour, HasTTL: true}},
		{name: "ttl uncapped without max", header: "ttl=7201", cp: ControlPolicy{Enabled: true, Allowed: allDirectives},
			want: Controls{TTL: 7201 * time.Second, HasTTL: true}},
		{name: "not allowed", header: "bypass, no-store", cp: ControlPolicy{Enabled: true, Allowed: []string{"no-store"}},
			want: Controls{NoStore: true, Ignored: []string{"bypass"}}},
		{name: "disabled", header: "bypass", cp: ControlPolicy{Allowed: allDirectives}, want: Controls{Ignored: []string{"bypass"}}},
		{name: "malformed values", header: "max-age=abc, ttl=-1, ttl, no-store=1, max-age=", cp: full,
			want: Controls{Ignored: []string{"max-age=abc", "ttl=-1", "ttl", "no-store=1", "max-age="}}},
		{name: "unknown", header: "private, no-store", cp: ControlPolicy{Enabled: true, Allowed: append([]string{"private"}, allDirectives...)},
			want: Controls{NoStore: true, Ignored: []string{"private"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseControls(tc.header, tc.cp)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestControlsDecisions(t *testing.T) {
	tests := []struct {
		name          string
		c             Controls
		lookup, store bool
	}{
		{name: "none", c: Controls{}, lookup: true, store: true},
		{name: "no-cache", c: Controls{NoCache: true}, lookup: false, store: true},
		{name: "no-store", c: Controls{NoStore: true}, lookup: true, store: false},
		{name: "bypass", c: Controls{Bypass: true}, lookup: false, store: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.c.ShouldLookup() != tc.lookup || tc.c.ShouldStore() != tc.store {
				t.Fatalf("lookup=%v store=%v", tc.c.ShouldLookup(), tc.c.ShouldStore())
			}
		})
	}
	p := Policy{TTL: time.Hour}
	if p.EffectiveTTL(Controls{}) != time.Hour || p.EffectiveTTL(Controls{TTL: time.Minute, HasTTL: true}) != time.Minute {
		t.Fatal("EffectiveTTL ignores the request TTL")
	}
}

func TestPolicyValidate(t *testing.T) {
	good := Policy{Enabled: true, Mode: ModeExactThenSemantic, Scope: ScopeUser, SimilarityThreshold: 0.82, TTL: time.Hour,
		Controls: ControlPolicy{Enabled: true, Allowed: allDirectives, MaxTTL: time.Hour}}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid policy rejected: %v", err)
	}
	bad := Policy{Mode: "fuzzy", Scope: "planet", SimilarityThreshold: 1.5, TTL: -1,
		Controls: ControlPolicy{Allowed: []string{"no-cache", "forever"}, MaxTTL: -time.Second}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid policy accepted")
	}
	for _, want := range []string{`mode "fuzzy"`, `scope "planet"`, "similarity_threshold 1.5", "ttl -1ns", "max_ttl -1s", `"forever"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestNewPartitionScopes(t *testing.T) {
	id := Identity{Tenant: "t", Team: "g", User: "u"}
	p := Policy{Revision: "rev"}
	tests := []struct {
		scope Scope
		want  Partition
	}{
		{scope: ScopeGlobal, want: Partition{Revision: "rev", Decision: "d", Model: "m", Stream: true}},
		{scope: "", want: Partition{Revision: "rev", Decision: "d", Model: "m", Stream: true}},
		{scope: ScopeTenant, want: Partition{Revision: "rev", Decision: "d", Model: "m", Tenant: "t", Stream: true}},
		{scope: ScopeTeam, want: Partition{Revision: "rev", Decision: "d", Model: "m", Tenant: "t", Team: "g", Stream: true}},
		{scope: ScopeUser, want: Partition{Revision: "rev", Decision: "d", Model: "m", Tenant: "t", Team: "g", User: "u", Stream: true}},
	}
	for _, tc := range tests {
		t.Run(string(tc.scope), func(t *testing.T) {
			p.Scope = tc.scope
			if got := NewPartition(p, "d", "m", id, true); got != tc.want {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func TestPartitionKeyIsUnambiguous(t *testing.T) {
	a := Partition{Decision: "a|b", Model: "c"}
	b := Partition{Decision: "a", Model: "b|c"}
	c := Partition{Decision: "a", Model: "c", Stream: true}
	keys := map[string]bool{a.Key(): true, b.Key(): true, c.Key(): true, Partition{Decision: "a", Model: "c"}.Key(): true}
	if len(keys) != 4 {
		t.Fatalf("partition keys collide: %v", keys)
	}
}

func TestEntryValidate(t *testing.T) {
	ok := func() *Entry {
		return &Entry{Exact: Fingerprint{1}, Context: Fingerprint{2}, Embedding: []float32{1},
			Response: Response{StatusCode: 200, Complete: true}, CreatedAt: time.Unix(1, 0)}
	}
	tests := []struct {
		name string
		edit func(e *Entry)
		want error
	}{
		{name: "valid", edit: func(*Entry) {}, want: nil},
		{name: "204 is 2xx", edit: func(e *Entry) { e.Response.StatusCode = 204 }, want: nil},
		{name: "404", edit: func(e *Entry) { e.Response.StatusCode = 404 }, want: ErrNotStorable},
		{name: "incomplete", edit: func(e *Entry) { e.Response.Complete = false }, want: ErrNotStorable},
		{name: "no exact", edit: func(e *Entry) { e.Exact = Fingerprint{} }, want: ErrInvalidEntry},
		{name: "embedding without context", edit: func(e *Entry) { e.Context = Fingerprint{} }, want: ErrInvalidEntry},
		{name: "no time", edit: func(e *Entry) { e.CreatedAt = time.Time{} }, want: ErrInvalidEntry},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := ok()
			tc.edit(e)
			if err := e.Validate(); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err=%v want %v", err, tc.want)
			}
		})
	}
	if s := ok().SizeBytes(); s < 256 {
		t.Fatalf("SizeBytes=%d", s)
	}
}

func TestOptionsDefaults(t *testing.T) {
	o, err := Options{}.WithDefaults()
	if err != nil || o.Eviction != EvictLRU || o.Clock == nil || o.Logger == nil {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	if _, err := (Options{Eviction: "random"}).WithDefaults(); err == nil {
		t.Fatal("unknown eviction accepted")
	}
	if _, err := (Options{MaxEntries: -1}).WithDefaults(); err == nil {
		t.Fatal("negative max entries accepted")
	}
}
