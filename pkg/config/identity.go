package config

import "strings"

// Request headers the router believes only from a trusted hop: the caller
// identity (global.services.authz.identity) and the debug switch. API mode
// removes them from untrusted peers (--trusted-proxies); the Envoy
// listeners config-hub generates remove client copies before any HTTP
// filter runs.
const (
	// DefaultUserIDHeader is global.services.authz.identity.user_id_header
	// when unset.
	DefaultUserIDHeader = "x-authz-user-id"
	// DefaultUserGroupsHeader is
	// global.services.authz.identity.user_groups_header when unset.
	DefaultUserGroupsHeader = "x-authz-user-groups"
	// DebugHeader ("true") asks for the debug response headers (matched
	// signal names, cache similarity).
	DebugHeader = "x-vsr-debug"
)

// IdentityHeaders returns the lower-cased user id and user groups header
// names of global.services.authz.identity, defaults filled in. c may be
// nil.
func (c *Config) IdentityHeaders() (userID, userGroups string) {
	userID, userGroups = DefaultUserIDHeader, DefaultUserGroupsHeader
	if c == nil {
		return userID, userGroups
	}
	if a := c.Global.Services.Authz; a != nil && a.Identity != nil {
		if h := strings.TrimSpace(a.Identity.UserIDHeader); h != "" {
			userID = strings.ToLower(h)
		}
		if h := strings.TrimSpace(a.Identity.UserGroupsHeader); h != "" {
			userGroups = strings.ToLower(h)
		}
	}
	return userID, userGroups
}

// TrustedHeaders lists, lower-cased and without duplicates, the request
// headers only a trusted hop may set: the user id header, the user groups
// header and DebugHeader, in that order. c may be nil (the defaults).
func (c *Config) TrustedHeaders() []string {
	id, groups := c.IdentityHeaders()
	out := make([]string, 0, 3)
	for _, h := range [...]string{id, groups, DebugHeader} {
		dup := false
		for _, o := range out {
			dup = dup || o == h
		}
		if !dup {
			out = append(out, h)
		}
	}
	return out
}
