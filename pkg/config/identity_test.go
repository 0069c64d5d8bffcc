package config

import (
	"slices"
	"testing"
)

func TestTrustedHeaders(t *testing.T) {
	withIdentity := func(id *AuthzIdentity) *Config {
		c := &Config{}
		c.Global.Services.Authz = &Authz{Identity: id}
		return c
	}
	cases := []struct {
		name string
		cfg  *Config
		want []string
	}{
		{name: "nil config", cfg: nil, want: []string{"x-authz-user-id", "x-authz-user-groups", "x-vsr-debug"}},
		{name: "no authz block", cfg: &Config{}, want: []string{"x-authz-user-id", "x-authz-user-groups", "x-vsr-debug"}},
		{name: "authz without identity", cfg: withIdentity(nil), want: []string{"x-authz-user-id", "x-authz-user-groups", "x-vsr-debug"}},
		{name: "custom names are lower-cased", cfg: withIdentity(&AuthzIdentity{UserIDHeader: " X-User ", UserGroupsHeader: "X-Groups"}),
			want: []string{"x-user", "x-groups", "x-vsr-debug"}},
		{name: "only the user header set", cfg: withIdentity(&AuthzIdentity{UserIDHeader: "X-Sub"}),
			want: []string{"x-sub", "x-authz-user-groups", "x-vsr-debug"}},
		{name: "duplicates kept once", cfg: withIdentity(&AuthzIdentity{UserIDHeader: "x-id", UserGroupsHeader: "X-ID"}),
			want: []string{"x-id", "x-vsr-debug"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.TrustedHeaders(); !slices.Equal(got, tc.want) {
				t.Fatalf("TrustedHeaders() = %q, want %q", got, tc.want)
			}
		})
	}
}
