package server

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	cachev1 "github.com/semrouter/semrouter/gen/semrouter/cache/v1"
	commonv1 "github.com/semrouter/semrouter/gen/semrouter/common/v1"
	"github.com/semrouter/semrouter/services/cache"
)

func TestToPartition(t *testing.T) {
	tests := []struct {
		name string
		in   *cachev1.Partition
		want cache.Partition
		err  bool
	}{
		{name: "global", in: &cachev1.Partition{Decision: "d", Model: "m", Scope: cachev1.CacheScope_CACHE_SCOPE_GLOBAL},
			want: cache.Partition{Revision: "0:|", Decision: "d", Model: "m"}},
		{name: "unset scope is global", in: &cachev1.Partition{Decision: "d"}, want: cache.Partition{Revision: "0:|", Decision: "d"}},
		{name: "recipe folded into revision", in: &cachev1.Partition{Recipe: "fast", Revision: "e1"},
			want: cache.Partition{Revision: "4:fast|e1"}},
		{name: "tenant", in: &cachev1.Partition{Scope: cachev1.CacheScope_CACHE_SCOPE_TENANT, ScopeId: "acme"},
			want: cache.Partition{Revision: "0:|", Tenant: "acme"}},
		{name: "team", in: &cachev1.Partition{Scope: cachev1.CacheScope_CACHE_SCOPE_TEAM, ScopeId: "blue"},
			want: cache.Partition{Revision: "0:|", Team: "blue"}},
		{name: "user", in: &cachev1.Partition{Scope: cachev1.CacheScope_CACHE_SCOPE_USER, ScopeId: "u1", Stream: true},
			want: cache.Partition{Revision: "0:|", User: "u1", Stream: true}},
		{name: "user without id", in: &cachev1.Partition{Scope: cachev1.CacheScope_CACHE_SCOPE_USER}, err: true},
		{name: "global with id", in: &cachev1.Partition{ScopeId: "u1"}, err: true},
		{name: "unknown scope", in: &cachev1.Partition{Scope: 99}, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := toPartition(tc.in)
			if tc.err {
				if !errors.Is(err, errInvalid) {
					t.Fatalf("err %v, want an invalid-request error", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	// Moving characters between recipe and revision changes the key.
	a, _ := toPartition(&cachev1.Partition{Recipe: "ab", Revision: "c"})
	b, _ := toPartition(&cachev1.Partition{Recipe: "a", Revision: "bc"})
	if a == b {
		t.Fatal("recipe/revision boundary is ambiguous")
	}
}

func TestToFilter(t *testing.T) {
	tests := []struct {
		name  string
		in    *cachev1.InvalidateRequest
		check func(t *testing.T, f cache.InvalidateFilter)
	}{
		{name: "dry run by default", in: &cachev1.InvalidateRequest{Partition: &cachev1.Partition{Decision: "d"}},
			check: func(t *testing.T, f cache.InvalidateFilter) {
				if !f.DryRun || f.Decision != "d" || f.Partition != nil {
					t.Fatalf("%+v", f)
				}
			}},
		{name: "explicit removal", in: &cachev1.InvalidateRequest{Partition: &cachev1.Partition{Decision: "d"}, DryRun: proto.Bool(false)},
			check: func(t *testing.T, f cache.InvalidateFilter) {
				if f.DryRun {
					t.Fatal("dry run")
				}
			}},
		{name: "full partition", in: &cachev1.InvalidateRequest{Partition: &cachev1.Partition{Decision: "d", Model: "m"}},
			check: func(t *testing.T, f cache.InvalidateFilter) {
				if f.Partition == nil || f.Partition.Model != "m" || f.Decision != "" {
					t.Fatalf("%+v", f)
				}
			}},
		{name: "empty partition and older_than", in: &cachev1.InvalidateRequest{Partition: &cachev1.Partition{}, OlderThan: durationpb.New(time.Hour)},
			check: func(t *testing.T, f cache.InvalidateFilter) {
				if f.Partition != nil || f.OlderThan != time.Hour {
					t.Fatalf("%+v", f)
				}
			}},
		{name: "nothing", in: &cachev1.InvalidateRequest{},
			check: func(t *testing.T, f cache.InvalidateFilter) {
				if !f.IsEmpty() {
					t.Fatalf("%+v", f)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := toFilter(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, f)
		})
	}
	if _, err := toFilter(&cachev1.InvalidateRequest{OlderThan: durationpb.New(-time.Second)}); !errors.Is(err, errInvalid) {
		t.Fatalf("negative older_than: %v", err)
	}
}

func TestEntryRoundTrip(t *testing.T) {
	published := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	req := storeReq(basePartition, "q", "ctx", []float32{1, 0}, `{"x":1}`)
	req.Response.Sse = true
	req.Response.StatusCode = 0 // unset means 200
	e, err := toEntry(req, published)
	if err != nil {
		t.Fatal(err)
	}
	if !e.CreatedAt.Equal(published) || !e.ExpiresAt.Equal(published.Add(time.Hour)) || e.Response.StatusCode != 200 ||
		len(e.Embedding) != 2 || e.Query != "q" {
		t.Fatalf("entry %+v", e)
	}
	got := toCached(e)
	if !got.GetSse() || got.GetModel() != "m-small" || !proto.Equal(got.GetUsage(), &commonv1.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}) ||
		string(got.GetBody()) != `{"x":1}` || !got.GetStoredAt().AsTime().Equal(published) {
		t.Fatalf("cached %+v", got)
	}
	req.Response.StatusCode = 404
	if _, err := toEntry(req, published); !errors.Is(err, errNotStorable) {
		t.Fatalf("404: %v, want not storable", err)
	}
}
