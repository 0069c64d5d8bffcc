package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"

	"github.com/semrouter/semrouter/pkg/config"
)

// Permissions checked by the API (names follow the upstream role lists).
const (
	PermHealthRead     = "health.read"
	PermReadyRead      = "ready.read"
	PermConfigRead     = "config.read"
	PermConfigWrite    = "config.write"
	PermConfigRollback = "config.rollback"
	// PermAuthWrite is needed to change global.services.management_api
	// (so that an operator cannot switch authentication off).
	PermAuthWrite = "config.auth.write"
	permAll       = "*"
)

// DefaultRoles are used when global.services.management_api.auth.roles is
// not set: viewer reads, operator also validates and writes, admin may do
// everything (including rollback).
func DefaultRoles() map[string][]string {
	return map[string][]string{
		"viewer":   {PermHealthRead, PermReadyRead, PermConfigRead},
		"operator": {PermHealthRead, PermReadyRead, PermConfigRead, PermConfigWrite},
		"admin":    {permAll},
	}
}

// Auth is the compiled authentication policy of one revision.
type Auth struct {
	enabled bool
	// tokens maps sha256(token) to the role's permissions.
	tokens []tokenGrant
}

type tokenGrant struct {
	sum   [32]byte
	role  string
	perms map[string]bool
}

// CompileAuth reads management_api.auth. Tokens come from the environment
// variables named in tokens[].env (looked up with getenv); unset variables
// are skipped with a warning that names the variable, never a value. Auth
// is enabled unless mode is "disabled" (or the block is absent).
func CompileAuth(m *config.ManagementAPI, getenv func(string) string, logger *slog.Logger) *Auth {
	if m == nil || m.Auth == nil {
		return &Auth{}
	}
	a := m.Auth
	mode := strings.ToLower(strings.TrimSpace(a.Mode))
	if mode == "disabled" || (mode == "" && len(a.Tokens) == 0) {
		return &Auth{}
	}
	roles := a.Roles
	if len(roles) == 0 {
		roles = DefaultRoles()
	}
	out := &Auth{enabled: true}
	for _, t := range a.Tokens {
		val := getenv(t.Env)
		if val == "" {
			logger.Warn("management API token variable is unset; its token is ignored",
				slog.String("env", t.Env), slog.String("role", t.Role))
			continue
		}
		perms := map[string]bool{}
		for _, p := range roles[t.Role] {
			perms[p] = true
		}
		out.tokens = append(out.tokens, tokenGrant{sum: sha256.Sum256([]byte(val)), role: t.Role, perms: perms})
	}
	return out
}

// withAdmin returns a copy of a that is enabled and also accepts token with
// every permission (a itself when token is empty).
func (a *Auth) withAdmin(token string) *Auth {
	if token == "" {
		return a
	}
	out := &Auth{enabled: true, tokens: append([]tokenGrant(nil), a.tokens...)}
	out.tokens = append(out.tokens, tokenGrant{sum: sha256.Sum256([]byte(token)), role: "admin", perms: map[string]bool{permAll: true}})
	return out
}

// Enabled reports whether requests must carry a token.
func (a *Auth) Enabled() bool { return a != nil && a.enabled }

// authorize returns the HTTP status for a request whose Authorization
// header is h and which needs perm: 0 when allowed, 401 without a known
// token, 403 when its role lacks perm.
func (a *Auth) authorize(h, perm string) int {
	if !a.Enabled() {
		return 0
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return http.StatusUnauthorized
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	var grant *tokenGrant
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].sum[:]) == 1 {
			grant = &a.tokens[i]
		}
	}
	if grant == nil {
		return http.StatusUnauthorized
	}
	if grant.perms[permAll] || grant.perms[perm] {
		return 0
	}
	return http.StatusForbidden
}

// managementChanged reports whether doc changes
// global.services.management_api compared to stored. Documents that do not
// parse count as unchanged: publishing rejects them anyway.
func managementChanged(doc, stored []byte) bool {
	next, _, err := config.Parse(doc, "request")
	if err != nil {
		return false
	}
	var prev *config.ManagementAPI
	if len(stored) > 0 {
		cur, _, err := config.Parse(stored, "active")
		if err != nil {
			return true
		}
		prev = cur.Global.Services.ManagementAPI
	}
	return !reflect.DeepEqual(prev, next.Global.Services.ManagementAPI)
}

// checkManagementChange refuses a write that changes management_api when
// the caller (Authorization header h) lacks PermAuthWrite.
func (a *Auth) checkManagementChange(h string, doc, stored []byte) error {
	if !a.Enabled() || a.authorize(h, PermAuthWrite) == 0 {
		return nil
	}
	if managementChanged(doc, stored) {
		return fmt.Errorf("changing global.services.management_api needs %s (the admin role)", PermAuthWrite)
	}
	return nil
}
