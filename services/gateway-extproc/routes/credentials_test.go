package routes

import (
	"slices"
	"testing"
)

func TestBackendCredentials(t *testing.T) {
	env := func(name string) string {
		if name == "KEY_SET" {
			return "sk-env"
		}
		return ""
	}
	cases := []struct {
		name     string
		b        Backend
		wantDrop bool
		want     []Header
	}{
		{name: "nothing configured", b: Backend{}},
		{name: "key as bearer token", b: Backend{APIKey: "sk-1"}, wantDrop: true,
			want: []Header{{"Authorization", "Bearer sk-1"}}},
		{name: "key from the environment wins", b: Backend{APIKey: "sk-1", APIKeyEnv: "KEY_SET"}, wantDrop: true,
			want: []Header{{"Authorization", "Bearer sk-env"}}},
		{name: "unset environment variable falls back to api_key", b: Backend{APIKey: "sk-1", APIKeyEnv: "KEY_UNSET"}, wantDrop: true,
			want: []Header{{"Authorization", "Bearer sk-1"}}},
		{name: "unset environment variable and no api_key", b: Backend{APIKeyEnv: "KEY_UNSET"}},
		{name: "custom header without prefix", b: Backend{APIKey: "sk-1", AuthHeader: "api-key"}, wantDrop: true,
			want: []Header{{"api-key", "sk-1"}}},
		{name: "custom prefix on authorization", b: Backend{APIKey: "sk-1", AuthPrefix: "Token"}, wantDrop: true,
			want: []Header{{"Authorization", "Token sk-1"}}},
		{name: "extra headers sorted, key last", b: Backend{APIKey: "sk-1",
			ExtraHeaders: map[string]string{"x-tenant": "t", "OpenAI-Organization": "org"}}, wantDrop: true,
			want: []Header{{"OpenAI-Organization", "org"}, {"x-tenant", "t"}, {"Authorization", "Bearer sk-1"}}},
		{name: "extra headers without key keep a client's authorization", b: Backend{ExtraHeaders: map[string]string{"x-tenant": "t"}},
			want: []Header{{"x-tenant", "t"}}},
		{name: "extra authorization without key is set", b: Backend{ExtraHeaders: map[string]string{"authorization": "Basic abc"}},
			want: []Header{{"authorization", "Basic abc"}}},
		{name: "key drops extra headers of its own name and authorization", b: Backend{APIKey: "sk-1", AuthHeader: "X-Api-Key",
			ExtraHeaders: map[string]string{"x-api-key": "other", "Authorization": "Basic abc", "x-keep": "1"}}, wantDrop: true,
			want: []Header{{"x-keep", "1"}, {"X-Api-Key", "sk-1"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.b.Credentials(env)
			if c.DropAuthorization != tc.wantDrop || !slices.Equal(c.Headers, tc.want) {
				t.Fatalf("Credentials() = %+v, want drop=%v headers=%v", c, tc.wantDrop, tc.want)
			}
			if c.IsZero() != (!tc.wantDrop && len(tc.want) == 0) {
				t.Fatalf("IsZero() = %v", c.IsZero())
			}
			if !c.Equal(tc.b.Credentials(env)) {
				t.Fatal("the same backend resolves to different credentials")
			}
		})
	}
}

func TestCredentialsEqual(t *testing.T) {
	a := (&Backend{APIKey: "sk-1"}).Credentials(nil)
	for _, tc := range []struct {
		name string
		b    Backend
		want bool
	}{
		{name: "same key", b: Backend{APIKey: "sk-1"}, want: true},
		{name: "other key", b: Backend{APIKey: "sk-2"}},
		{name: "no key", b: Backend{}},
		{name: "same key plus an extra header", b: Backend{APIKey: "sk-1", ExtraHeaders: map[string]string{"x": "1"}}},
		{name: "same key in another header", b: Backend{APIKey: "sk-1", AuthHeader: "api-key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := a.Equal(tc.b.Credentials(nil)); got != tc.want {
				t.Fatalf("Equal = %v, want %v", got, tc.want)
			}
		})
	}
}
