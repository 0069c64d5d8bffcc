package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/pkg/natstest"
	"github.com/semrouter/semrouter/services/config-hub/internal/api"
	"github.com/semrouter/semrouter/services/config-hub/internal/store"
)

var testEnv = map[string]string{
	"T_VIEWER":   "viewer-token",
	"T_OPERATOR": "operator-token",
	"T_ADMIN":    "admin-token",
}

type fixture struct {
	store  *store.Store
	server *httptest.Server
	api    *api.Server
	doc    []byte
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	nc := natstest.Connect(t, natstest.RunServer(t))
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), js, "config", "active", nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("testdata", "auth.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Publish(context.Background(), doc, "auth.yaml", store.IfRevision(0)); err != nil {
		t.Fatal(err)
	}
	a := api.New(api.Options{Store: st, Getenv: func(k string) string { return testEnv[k] }})
	cfg, _, err := config.Parse(doc, "auth.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a.SetConfig(cfg)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &fixture{store: st, server: srv, api: a, doc: doc}
}

type req struct {
	method, path, token, body string
	header                    map[string]string
}

type resp struct {
	code   int
	header http.Header
	body   []byte
}

func (f *fixture) do(t *testing.T, r req) resp {
	t.Helper()
	hr, err := http.NewRequest(r.method, f.server.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
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

func TestAuthRoles(t *testing.T) {
	f := newFixture(t)
	doc := string(f.doc)
	cases := []struct {
		name string
		req  req
		want int
	}{
		{"health needs no token", req{method: "GET", path: "/health"}, 200},
		{"ready needs no token", req{method: "GET", path: "/ready"}, 200},
		{"no token", req{method: "GET", path: "/config/router"}, 401},
		{"unknown token", req{method: "GET", path: "/config/router", token: "guess"}, 401},
		{"unset variable grants nothing", req{method: "GET", path: "/config/router", token: ""}, 401},
		{"viewer reads", req{method: "GET", path: "/config/router", token: "viewer-token"}, 200},
		{"viewer reads versions", req{method: "GET", path: "/config/router/versions", token: "viewer-token"}, 200},
		{"viewer reads hash", req{method: "GET", path: "/config/hash", token: "viewer-token"}, 200},
		{"viewer cannot validate", req{method: "POST", path: "/config/router/validate", token: "viewer-token", body: doc}, 403},
		{"viewer cannot write", req{method: "PUT", path: "/config/router", token: "viewer-token", body: doc, header: map[string]string{"If-Match": `"1"`}}, 403},
		{"operator validates", req{method: "POST", path: "/config/router/validate", token: "operator-token", body: doc}, 200},
		{"operator writes", req{method: "PUT", path: "/config/router", token: "operator-token", body: doc, header: map[string]string{"If-Match": `"1"`}}, 200},
		{"operator cannot roll back", req{method: "POST", path: "/config/router/rollback", token: "operator-token", body: `{"revision":1}`}, 403},
		{"admin rolls back", req{method: "POST", path: "/config/router/rollback", token: "admin-token", body: `{"revision":1}`}, 200},
		{"operator cannot switch auth off", req{method: "PUT", path: "/config/router", token: "operator-token", body: strings.Replace(doc, "mode: token", "mode: disabled", 1), header: map[string]string{"If-Match": "*"}}, 403},
		{"admin can change auth", req{method: "PUT", path: "/config/router", token: "admin-token", body: strings.Replace(doc, "role: viewer", "role: operator", 1), header: map[string]string{"If-Match": "*"}}, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := f.do(t, c.req)
			if got.code != c.want {
				t.Fatalf("status %d, want %d: %s", got.code, c.want, got.body)
			}
			for _, tok := range testEnv {
				if bytes.Contains(got.body, []byte(tok)) {
					t.Fatal("a token was echoed back")
				}
			}
		})
	}
}

func TestETagAndIfMatch(t *testing.T) {
	f := newFixture(t)
	get := f.do(t, req{method: "GET", path: "/config/router", token: "admin-token"})
	if get.code != 200 || get.header.Get("ETag") != `"1"` || !strings.HasPrefix(get.header.Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET: %d %v", get.code, get.header)
	}
	edited := strings.Replace(string(get.body), "default_model: small", "default_model: big", 1)
	cases := []struct {
		name    string
		ifMatch string
		want    int
		etag    string
	}{
		{"missing If-Match", "", 428, ""},
		{"garbage If-Match", "abc", 400, ""},
		{"stale revision", `"7"`, 412, `"1"`},
		{"current revision", `"1"`, 200, `"2"`},
		{"now stale", `"1"`, 412, `"2"`},
		{"weak tag accepted", `W/"2"`, 200, `"2"`}, // same content: no new revision
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.ifMatch != "" {
				h["If-Match"] = c.ifMatch
			}
			got := f.do(t, req{method: "PUT", path: "/config/router", token: "operator-token", body: edited, header: h})
			if got.code != c.want || got.header.Get("ETag") != c.etag {
				t.Fatalf("status %d ETag %q, want %d %q: %s", got.code, got.header.Get("ETag"), c.want, c.etag, got.body)
			}
		})
	}
	cur, err := f.store.Current(context.Background())
	if err != nil || cur.Revision != 2 || !strings.Contains(string(cur.Document), "default_model: big") {
		t.Fatalf("active: %d %v", cur.Revision, err)
	}
}

func TestRedactionAndSecretRoundTrip(t *testing.T) {
	f := newFixture(t)
	yml := f.do(t, req{method: "GET", path: "/config/router", token: "viewer-token"})
	js := f.do(t, req{method: "GET", path: "/config/router?format=json", token: "viewer-token"})
	accept := f.do(t, req{method: "GET", path: "/config/router", token: "viewer-token", header: map[string]string{"Accept": "application/json"}})
	for name, r := range map[string]resp{"yaml": yml, "json": js, "accept": accept} {
		if r.code != 200 || bytes.Contains(r.body, []byte("sk-small-secret")) || !bytes.Contains(r.body, []byte(api.Redacted)) {
			t.Fatalf("%s: secret not redacted (%d):\n%s", name, r.code, r.body)
		}
		if !bytes.Contains(r.body, []byte("BIG_API_KEY")) {
			t.Fatalf("%s: the name of a secret's variable is not a secret:\n%s", name, r.body)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(js.body, &doc); err != nil || accept.header.Get("Content-Type") != "application/json" {
		t.Fatalf("json body: %v", err)
	}

	// Writing the redacted document back keeps the stored secret.
	edited := strings.Replace(string(yml.body), "timeout: 120s", "timeout: 60s", 1)
	put := f.do(t, req{method: "PUT", path: "/config/router", token: "operator-token", body: edited, header: map[string]string{"If-Match": `"1"`}})
	if put.code != 200 {
		t.Fatalf("PUT redacted doc: %d %s", put.code, put.body)
	}
	cur, _ := f.store.Current(context.Background())
	if !strings.Contains(string(cur.Document), "api_key: sk-small-secret") || !strings.Contains(string(cur.Document), "timeout: 60s") {
		t.Fatalf("stored document lost its secret or the edit:\n%s", cur.Document)
	}
	// A placeholder with nothing stored behind it is refused.
	added := strings.Replace(edited, "api_key_env: BIG_API_KEY", "api_key: "+api.Redacted, 1)
	bad := f.do(t, req{method: "PUT", path: "/config/router", token: "operator-token", body: added, header: map[string]string{"If-Match": `"2"`}})
	if bad.code != 400 || !bytes.Contains(bad.body, []byte("providers.models[1].backend_refs[0].api_key")) {
		t.Fatalf("placeholder without a stored value: %d %s", bad.code, bad.body)
	}

	// The JSON form (one line, two secrets) round-trips too.
	twoSecrets := strings.Replace(string(f.doc), "api_key_env: BIG_API_KEY", "api_key: sk-big-secret", 1)
	if _, err := f.store.Publish(context.Background(), []byte(twoSecrets), "two", store.Precondition{}); err != nil {
		t.Fatal(err)
	}
	js2 := f.do(t, req{method: "GET", path: "/config/router?format=json", token: "viewer-token"})
	if bytes.Count(js2.body, []byte(api.Redacted)) != 2 || bytes.Count(js2.body, []byte("\n")) != 1 {
		t.Fatalf("want one JSON line with two redacted secrets:\n%s", js2.body)
	}
	editedJSON := strings.Replace(string(js2.body), `"timeout":"120s"`, `"timeout":"90s"`, 1)
	putJSON := f.do(t, req{method: "PUT", path: "/config/router", token: "operator-token", body: editedJSON, header: map[string]string{"If-Match": js2.header.Get("ETag")}})
	if putJSON.code != 200 {
		t.Fatalf("PUT JSON: %d %s", putJSON.code, putJSON.body)
	}
	cur, _ = f.store.Current(context.Background())
	for _, want := range []string{"api_key: sk-small-secret", "api_key: sk-big-secret", "timeout: 90s"} {
		if !strings.Contains(string(cur.Document), want) {
			t.Fatalf("JSON round trip lost %q:\n%s", want, cur.Document)
		}
	}
}

func TestValidationErrorsCarryPathAndLine(t *testing.T) {
	f := newFixture(t)
	invalid := strings.Replace(string(f.doc), "default_model: small", "default_model: nope", 1)
	invalid = strings.Replace(invalid, "port: 8801", "port: 99999", 1)
	for _, path := range []string{"/config/router", "/config/router/validate"} {
		method := "PUT"
		if strings.HasSuffix(path, "validate") {
			method = "POST"
		}
		got := f.do(t, req{method: method, path: path, token: "operator-token", body: invalid, header: map[string]string{"If-Match": `"1"`}})
		var body struct {
			Valid    *bool `json:"valid"`
			Problems []struct {
				Severity string `json:"severity"`
				Path     string `json:"path"`
				Line     int    `json:"line"`
				Message  string `json:"message"`
			} `json:"problems"`
		}
		if err := json.Unmarshal(got.body, &body); err != nil {
			t.Fatalf("%s: %v: %s", path, err, got.body)
		}
		wantCode := 400
		if method == "POST" {
			wantCode = 200
			if body.Valid == nil || *body.Valid {
				t.Fatalf("validate: valid must be false: %s", got.body)
			}
		}
		if got.code != wantCode {
			t.Fatalf("%s: status %d: %s", path, got.code, got.body)
		}
		found := map[string]int{}
		for _, p := range body.Problems {
			if p.Severity == "error" {
				found[p.Path] = p.Line
			}
		}
		if found["listeners[0].port"] != 5 || found["providers.defaults.default_model"] != 9 {
			t.Fatalf("%s: want both errors with their lines, got %+v", path, body.Problems)
		}
	}
	if v, _ := f.store.Versions(context.Background()); len(v) != 1 {
		t.Fatalf("an invalid document was published: %d versions", len(v))
	}
}

func TestPatchVersionsRollbackHash(t *testing.T) {
	f := newFixture(t)
	patch := `{"providers":{"defaults":{"default_model":"big"}},"listeners":[{"name":"api","address":"127.0.0.1","port":9000}]}`
	noType := f.do(t, req{method: "PATCH", path: "/config/router", token: "operator-token", body: patch, header: map[string]string{"If-Match": `"1"`}})
	if noType.code != 415 {
		t.Fatalf("PATCH without a merge-patch type: %d", noType.code)
	}
	mp := map[string]string{"If-Match": `"1"`, "Content-Type": "application/merge-patch+json"}
	got := f.do(t, req{method: "PATCH", path: "/config/router", token: "operator-token", body: patch, header: mp})
	if got.code != 200 || got.header.Get("ETag") != `"2"` {
		t.Fatalf("PATCH: %d %s", got.code, got.body)
	}
	cur, _ := f.store.Current(context.Background())
	for _, want := range []string{"default_model: big", "port: 9000", "api_key: sk-small-secret"} {
		if !strings.Contains(string(cur.Document), want) {
			t.Fatalf("patched document lacks %q:\n%s", want, cur.Document)
		}
	}
	if strings.Contains(string(cur.Document), "timeout: 120s") {
		t.Fatal("a merge patch replaces arrays whole")
	}
	stale := f.do(t, req{method: "PATCH", path: "/config/router", token: "operator-token", body: patch, header: mp})
	if stale.code != 412 {
		t.Fatalf("stale PATCH: %d", stale.code)
	}
	del := f.do(t, req{method: "PATCH", path: "/config/router", token: "operator-token", body: `{"providers":{"defaults":{"default_model":"nope"}}}`,
		header: map[string]string{"If-Match": `"2"`, "Content-Type": "application/merge-patch+json"}})
	if del.code != 400 || !bytes.Contains(del.body, []byte("providers.defaults.default_model")) {
		t.Fatalf("invalid PATCH: %d %s", del.code, del.body)
	}

	var vs struct {
		Versions []store.Version `json:"versions"`
	}
	v := f.do(t, req{method: "GET", path: "/config/router/versions", token: "viewer-token"})
	if err := json.Unmarshal(v.body, &vs); err != nil || len(vs.Versions) != 2 || vs.Versions[0].Revision != 2 || !vs.Versions[0].Active {
		t.Fatalf("versions: %s", v.body)
	}

	rb := f.do(t, req{method: "POST", path: "/config/router/rollback", token: "admin-token", body: `{"revision": 1}`, header: map[string]string{"If-Match": `"2"`}})
	var out struct {
		Revision     uint64 `json:"revision"`
		RestoredFrom uint64 `json:"restored_from"`
		Changed      bool   `json:"changed"`
		Hash         string `json:"hash"`
	}
	if err := json.Unmarshal(rb.body, &out); err != nil || rb.code != 200 || out.Revision != 3 || out.RestoredFrom != 1 || !out.Changed || out.Hash != vs.Versions[1].Hash {
		t.Fatalf("rollback: %d %s", rb.code, rb.body)
	}
	for name, c := range map[string]struct {
		body, ifMatch string
		want          int
	}{
		"missing revision": {`{"revision": 99}`, "", 404},
		"stale":            {`{"revision": 1}`, `"2"`, 412},
		"bad body":         {`{"rev": 1}`, "", 400},
	} {
		h := map[string]string{}
		if c.ifMatch != "" {
			h["If-Match"] = c.ifMatch
		}
		if got := f.do(t, req{method: "POST", path: "/config/router/rollback", token: "admin-token", body: c.body, header: h}); got.code != c.want {
			t.Fatalf("rollback %s: %d %s", name, got.code, got.body)
		}
	}

	h := f.do(t, req{method: "GET", path: "/config/hash", token: "viewer-token"})
	var hb struct {
		Hash     string `json:"hash"`
		Revision uint64 `json:"revision"`
	}
	if err := json.Unmarshal(h.body, &hb); err != nil || hb.Revision != 3 || hb.Hash != out.Hash {
		t.Fatalf("hash: %s", h.body)
	}
	old := f.do(t, req{method: "GET", path: "/config/router?revision=2", token: "viewer-token"})
	if old.header.Get("ETag") != `"2"` || !bytes.Contains(old.body, []byte("port: 9000")) {
		t.Fatalf("GET ?revision=2: %d %s", old.code, old.body)
	}
}

func TestIsSecretKey(t *testing.T) {
	cases := []struct {
		key  string
		want bool
	}{
		{"api_key", true},
		{"api_key_env", false},
		{"password", true},
		{"access_key", true},
		{"hf_token", true},
		{"token", true},
		{"max_tokens", false},
		{"tokens_per_unit", false},
		{"auth_header", false},
		{"auth_prefix", false},
		{"client_secret", true},
		{"secret_path", false},
		{"key_prefix", false},
		{"name", false},
		{"Authorization", true},
	}
	for _, c := range cases {
		t.Run(c.key, func(t *testing.T) {
			if got := api.IsSecretKey(c.key); got != c.want {
				t.Fatalf("IsSecretKey(%q) = %v", c.key, got)
			}
		})
	}
}
