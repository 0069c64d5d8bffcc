package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"

	configv1 "github.com/semrouter/semrouter/gen/semrouter/config/v1"
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/config-hub/internal/api"
	"github.com/semrouter/semrouter/services/config-hub/internal/store"
)

// headerSecretsDoc adds a decision whose header_mutation plugin sets
// credentials upstream, and a backend with a key in extra_headers.
func headerSecretsDoc(doc []byte) string {
	s := strings.Replace(string(doc), "          api_key_env: BIG_API_KEY\n",
		"          api_key_env: BIG_API_KEY\n          extra_headers:\n            x-api-key: sk-extra-secret\n            x-tenant: acme-extra\n", 1)
	return strings.Replace(s, "    - name: big\nglobal:", `    - name: big
  decisions:
    - name: all
      priority: 1
      rules:
        operator: AND
        conditions: []
      modelRefs:
        - model: small
      plugins:
        - type: header_mutation
          configuration:
            add:
              - name: Authorization
                value: Bearer sk-header-secret
              - name: x-tenant
                value: acme-header
            update:
              - name: Cookie
                value: session=sk-cookie-secret
global:`, 1)
}

func TestRedactsCredentialHeaderValues(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	doc := headerSecretsDoc(f.doc)
	if _, err := f.store.Publish(ctx, []byte(doc), "headers", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"sk-header-secret", "sk-extra-secret", "sk-cookie-secret", "sk-small-secret"}
	for _, format := range []string{"", "?format=json"} {
		got := f.do(t, req{method: "GET", path: "/config/router" + format, token: "viewer-token"})
		if got.code != 200 {
			t.Fatalf("GET %q: %d %s", format, got.code, got.body)
		}
		for _, s := range secrets {
			if bytes.Contains(got.body, []byte(s)) {
				t.Errorf("GET %q returns %q in clear:\n%s", format, s, got.body)
			}
		}
		for _, plain := range []string{"acme-header", "acme-extra", "Authorization"} {
			if !bytes.Contains(got.body, []byte(plain)) {
				t.Errorf("GET %q redacted %q, which is no secret:\n%s", format, plain, got.body)
			}
		}
	}
	res, err := connectClient(f, "viewer-token").GetConfig(ctx, connect.NewRequest(&configv1.GetConfigRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(res.Msg.GetDocument(), []byte(s)) {
			t.Errorf("Connect GetConfig returns %q in clear", s)
		}
	}

	// The redacted document written back keeps every stored secret.
	yml := f.do(t, req{method: "GET", path: "/config/router", token: "viewer-token"})
	edited := strings.Replace(string(yml.body), "timeout: 120s", "timeout: 60s", 1)
	put := f.do(t, req{method: "PUT", path: "/config/router", token: "admin-token", body: edited,
		header: map[string]string{"If-Match": yml.header.Get("ETag")}})
	if put.code != 200 {
		t.Fatalf("PUT redacted doc: %d %s", put.code, put.body)
	}
	cur, _ := f.store.Current(ctx)
	for _, s := range append(secrets, "timeout: 60s") {
		if !strings.Contains(string(cur.Document), s) {
			t.Errorf("stored document lost %q:\n%s", s, cur.Document)
		}
	}
}

func TestIsSecretHeader(t *testing.T) {
	cases := []struct {
		name string
		want bool
	}{
		{"Authorization", true},
		{"proxy-authorization", true},
		{"X-Api-Key", true},
		{"api-key", true},
		{"x-auth-token", true},
		{"Cookie", true},
		{"x-tenant", false},
		{"content-type", false},
		{"x-selected-model", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := api.IsSecretHeader(c.name); got != c.want {
				t.Fatalf("IsSecretHeader(%q) = %v, want %v", c.name, got, c.want)
			}
		})
	}
}

// An oversized Connect request is refused before it is buffered whole,
// also without a token (the interceptor only runs after the read).
func TestConnectBodyLimit(t *testing.T) {
	f := newFixture(t)
	big := bytes.Repeat([]byte("#"), api.MaxBodyBytes+1<<20)
	for _, token := range []string{"", "admin-token"} {
		_, err := connectClient(f, token).ValidateConfig(context.Background(),
			connect.NewRequest(&configv1.ValidateConfigRequest{Document: big}))
		if connect.CodeOf(err) != connect.CodeResourceExhausted {
			t.Fatalf("token %q: %d-byte ValidateConfig: %v, want resource_exhausted", token, len(big), err)
		}
	}
}

// TestRollbackCannotChangeAuth: a role allowed to roll back but not to
// change management_api cannot restore a revision whose authentication
// differs (here one that still grants a revoked token), over HTTP or
// Connect; a rollback that keeps management_api goes through.
func TestRollbackCannotChangeAuth(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// The operator's token gets the roller role.
	withRoller := strings.Replace(string(f.doc), "          - env: T_OPERATOR\n            role: operator\n",
		"          - env: T_OPERATOR\n            role: roller\n", 1)
	withRoller = strings.Replace(withRoller, "        mode: token\n", `        mode: token
        roles:
          viewer: [config.read]
          operator: [config.read, config.write]
          admin: ["*"]
          roller: [config.read, config.rollback]
`, 1)
	// 2: the roller exists; 3: the viewer token is revoked; 4: an
	// unrelated edit. The API follows the active revision as the hub does.
	revoked := strings.Replace(withRoller, "          - env: T_VIEWER\n            role: viewer\n", "", 1)
	edited := strings.Replace(revoked, "timeout: 120s", "timeout: 90s", 1)
	for _, doc := range []string{withRoller, revoked, edited} {
		if _, err := f.store.Publish(ctx, []byte(doc), "test", store.Precondition{}); err != nil {
			t.Fatal(err)
		}
	}
	cfg, _, err := config.Parse([]byte(edited), "edited")
	if err != nil {
		t.Fatal(err)
	}
	f.api.SetConfig(cfg)

	cases := []struct {
		name     string
		revision int64
		token    string
		want     int
	}{
		{name: "roller cannot restore a revoked token", revision: 2, token: "operator-token", want: 403},
		{name: "roller restores a revision with the same auth", revision: 3, token: "operator-token", want: 200},
		{name: "admin restores a revoked token", revision: 2, token: "admin-token", want: 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := connectClient(f, c.token).Rollback(ctx, connect.NewRequest(&configv1.RollbackRequest{Revision: c.revision}))
			wantCode := connect.Code(0)
			if c.want == 403 {
				wantCode = connect.CodePermissionDenied
			}
			if connect.CodeOf(err) != wantCode && !(err == nil && wantCode == 0) {
				t.Fatalf("Connect Rollback: %v, want %v", err, wantCode)
			}
			if c.want == 403 {
				got := f.do(t, req{method: "POST", path: "/config/router/rollback", token: c.token, body: fmt.Sprintf(`{"revision":%d}`, c.revision)})
				if got.code != 403 || !bytes.Contains(got.body, []byte(api.PermAuthWrite)) {
					t.Fatalf("HTTP rollback: %d %s", got.code, got.body)
				}
			}
		})
	}
}

// TestBrowserGuard: a page in the operator's browser can neither post to
// the API from another origin nor reach an unauthenticated API through
// DNS rebinding (a name resolving to 127.0.0.1).
func TestBrowserGuard(t *testing.T) {
	f := newFixture(t)
	open := httptest.NewServer(api.New(api.Options{Store: f.store}).Handler()) // authentication off
	t.Cleanup(open.Close)
	openFix := &fixture{store: f.store, server: open}
	cases := []struct {
		name string
		fix  *fixture
		r    req
		want int
	}{
		{"cross-origin rollback", f, req{method: "POST", path: "/config/router/rollback", token: "admin-token", body: `{"revision":1}`,
			header: map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"}}, 403},
		{"cross-origin rollback without auth", openFix, req{method: "POST", path: "/config/router/rollback", body: `{"revision":1}`,
			header: map[string]string{"Origin": "http://evil.example", "Content-Type": "text/plain"}}, 403},
		{"rebound name without auth", openFix, req{method: "GET", path: "/config/router", header: map[string]string{"Host": "evil.example:8080"}}, 403},
		{"health by any name", openFix, req{method: "GET", path: "/health", header: map[string]string{"Host": "evil.example:8080"}}, 200},
		{"IP address without auth", openFix, req{method: "GET", path: "/config/router"}, 200},
		{"localhost without auth", openFix, req{method: "GET", path: "/config/router", header: map[string]string{"Host": "localhost"}}, 200},
		{"same origin", openFix, req{method: "GET", path: "/config/router", header: map[string]string{"Origin": open.URL}}, 200},
		{"a name with a token", f, req{method: "GET", path: "/config/router", token: "viewer-token", header: map[string]string{"Host": "hub.internal:8080"}}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.fix.doHost(t, c.r); got.code != c.want {
				t.Fatalf("status %d, want %d: %s", got.code, c.want, got.body)
			}
		})
	}
	if cur, _ := f.store.Current(context.Background()); cur.Revision != 1 {
		t.Fatalf("a refused rollback changed the active revision to %d", cur.Revision)
	}
}

// doHost is do with the Host header of r.header applied (net/http takes
// the Host from Request.Host, not from the header map).
func (f *fixture) doHost(t *testing.T, r req) resp {
	t.Helper()
	hr, err := http.NewRequest(r.method, f.server.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		if k == "Host" {
			hr.Host = v
			continue
		}
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, header: res.Header, body: body}
}
