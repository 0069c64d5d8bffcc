package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/semrouter/semrouter/pkg/natstest"
)

// natsUsers are the service users of deploy/compose/nats.conf and
// deploy/k8s/base/nats.conf, with the variable holding each password.
var natsUsers = []struct{ user, passwordEnv string }{
	{"config-hub", "SEMROUTER_NATS_CONFIG_HUB_PASSWORD"},
	{"gateway", "SEMROUTER_NATS_GATEWAY_PASSWORD"},
	{"classifier", "SEMROUTER_NATS_CLASSIFIER_PASSWORD"},
	{"embedder", "SEMROUTER_NATS_EMBEDDER_PASSWORD"},
	{"cache", "SEMROUTER_NATS_CACHE_PASSWORD"},
}

// inboxPrefix is the reply-inbox prefix of a service user: each service
// derives _INBOX_<name> from its own name (telemetry.DefaultInboxPrefix),
// and nats.conf lets the user subscribe to that prefix only.
func inboxPrefix(user string) string { return "_INBOX_" + user }

// observerUser is the test's own user, added to the file's users: it only
// reads the config status reports.
const observerUser = "integration-observer"

// randomSecret is a fresh hex password.
func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// natsAuthPasswords sets a random password in the environment for every
// service user (nats.conf reads them from there) and returns them by user.
func natsAuthPasswords(t *testing.T) map[string]string {
	t.Helper()
	pw := map[string]string{}
	for _, u := range natsUsers {
		pw[u.user] = randomSecret(t)
		t.Setenv(u.passwordEnv, pw[u.user])
	}
	return pw
}

// loadDeployNATSConfig parses a deployment's nats.conf with nats-server's
// own parser (passwords from the environment).
func loadDeployNATSConfig(t *testing.T, rel string) *server.Options {
	t.Helper()
	opts, err := server.ProcessConfigFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return opts
}

// startDeployNATS runs an in-process nats-server from a deployment's
// nats.conf: its users, permissions and limits as written, with the
// listener on a random loopback port, no monitoring port, JetStream in
// t.TempDir() and the test's observer user added.
func startDeployNATS(t *testing.T, rel, observerPassword string) (*server.Server, *natstest.Log) {
	t.Helper()
	opts := loadDeployNATSConfig(t, rel)
	if len(opts.Users) == 0 || opts.NoAuthUser != "" {
		t.Fatalf("%s: want users and no no_auth_user (got %d users, no_auth_user %q)", rel, len(opts.Users), opts.NoAuthUser)
	}
	opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
	opts.HTTPHost, opts.HTTPPort = "", 0
	opts.StoreDir = t.TempDir()
	opts.JetStreamMaxMemory, opts.JetStreamMaxStore = 256<<20, 1<<30
	opts.NoSigs = true
	opts.Users = append(opts.Users, &server.User{Username: observerUser, Password: observerPassword,
		Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Deny: []string{">"}},
			Subscribe: &server.SubjectPermission{Allow: []string{"semrouter.config.status.>"}},
		}})
	log := natstest.NewLog(natstest.KeepContaining("Violation", "Authorization Error"))
	return natstest.Start(t, opts, log), log
}

// TestNATSAuthDeployConfigsAgree parses deploy/compose/nats.conf and
// deploy/k8s/base/nats.conf with nats-server's parser: both must define the
// same users with the same passwords (from the same variables) and the same
// permissions, so that the end-to-end test below covers both.
func TestNATSAuthDeployConfigsAgree(t *testing.T) {
	// Without the password variables the server refuses the file.
	for _, u := range natsUsers {
		t.Setenv(u.passwordEnv, "") // restored at the end of the test
		os.Unsetenv(u.passwordEnv)
	}
	for _, rel := range []string{"deploy/compose/nats.conf", "deploy/k8s/base/nats.conf"} {
		if _, err := server.ProcessConfigFile(filepath.Join(repoRoot, rel)); err == nil || !strings.Contains(err.Error(), "SEMROUTER_NATS_") {
			t.Errorf("%s without the password variables: %v, want a refusal naming one", rel, err)
		}
	}
	natsAuthPasswords(t)
	compose := loadDeployNATSConfig(t, "deploy/compose/nats.conf")
	k8s := loadDeployNATSConfig(t, "deploy/k8s/base/nats.conf")
	byName := func(users []*server.User) map[string]*server.User {
		m := map[string]*server.User{}
		for _, u := range users {
			m[u.Username] = u
		}
		return m
	}
	c, k := byName(compose.Users), byName(k8s.Users)
	for _, u := range natsUsers {
		if c[u.user] == nil || k[u.user] == nil {
			t.Errorf("user %s: in compose %v, in k8s %v", u.user, c[u.user] != nil, k[u.user] != nil)
			continue
		}
		if c[u.user].Password != os.Getenv(u.passwordEnv) {
			t.Errorf("compose user %s: password is not $%s", u.user, u.passwordEnv)
		}
		if c[u.user].Password != k[u.user].Password {
			t.Errorf("user %s: compose and k8s take the password from different variables", u.user)
		}
		if cp, kp := permissionsText(c[u.user]), permissionsText(k[u.user]); cp != kp {
			t.Errorf("user %s: permissions differ:\ncompose %s\nk8s     %s", u.user, cp, kp)
		}
	}
	if len(c) != len(natsUsers) || len(k) != len(natsUsers) {
		t.Errorf("users: compose %d, k8s %d, want %d", len(c), len(k), len(natsUsers))
	}
	for name, o := range map[string]*server.Options{"compose": compose, "k8s": k8s} {
		if o.NoAuthUser != "" || o.Username != "" || o.Authorization != "" || len(o.Nkeys) > 0 {
			t.Errorf("%s: other ways in besides the service users (no_auth_user %q, user %q, token set %v, nkeys %d)",
				name, o.NoAuthUser, o.Username, o.Authorization != "", len(o.Nkeys))
		}
	}
}

// TestNATSAuthEndToEnd runs the whole router, each service as its own NATS
// user, against a nats-server configured by deploy/compose/nats.conf, then
// checks what the users must not do, among them reading another
// service's reply inbox or every inbox (_INBOX.>): each service uses its
// own prefix, _INBOX_<user>, which a JetStream or request path ignoring it
// would turn into a permission violation. The credentials reach the services
// the supported ways: --nats-user with --nats-password-file, and
// $SEMROUTER_NATS_USER / $SEMROUTER_NATS_PASSWORD (config-hub).
func TestNATSAuthEndToEnd(t *testing.T) {
	needBinary(t, "cache")
	pw := natsAuthPasswords(t)
	observerPW := randomSecret(t)
	srv, violations := startDeployNATS(t, "deploy/compose/nats.conf", observerPW)
	url := srv.ClientURL()
	dir := t.TempDir()
	setup := &natsSetup{
		url:      url,
		observer: []nats.Option{nats.UserInfo(observerUser, observerPW)},
		creds: func(service string) ([]string, []string) {
			if service == "config-hub" {
				return nil, []string{"SEMROUTER_NATS_USER=config-hub", "SEMROUTER_NATS_PASSWORD=" + pw[service]}
			}
			file := filepath.Join(dir, service+".password")
			if err := os.WriteFile(file, []byte(pw[service]+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"--nats-user", service, "--nats-password-file", file}, nil
		},
	}
	s := startSystem(t, systemOptions{embedders: 1, cache: true, nats: setup})
	ctx := testContext(t, 3*time.Minute)
	c := s.client()

	t.Run("routes through embedder, classifier and cache", func(t *testing.T) {
		for _, tc := range []struct{ prompt, model string }{
			{"Please debug this function for me", "code-expert"},       // keyword signal (classifier)
			{"How do I install this package?", "setup-helper"},         // embedding signal (classifier asks the embedder)
			{"Tell me a story about the sea and a boat", "small-chat"}, // default decision, cached
		} {
			if err := expectRoute(ctx, c, tc.prompt, tc.model); err != nil {
				t.Error(err)
			}
		}
		testCacheHits(ctx, t, c)
		// A flush on one replica purges the write stream and reaches the
		// other replica over the control subject.
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.cacheHTTP[0]+"/semrouter.cache.v1.CacheService/Flush",
			strings.NewReader(`{"confirmation": "flush the semrouter cache"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("cache Flush: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("cache Flush: %d %s", resp.StatusCode, body)
		}
		for i, addr := range s.cacheHTTP {
			waitFor(t, 30*time.Second, s.caches[i].name+" empty after the flush", func() error {
				n, err := cacheEntries(ctx, addr)
				if err == nil && n != 0 {
					err = fmt.Errorf("%d entries", n)
				}
				return err
			}, s.caches[i])
		}
		a, err := chat(ctx, c, "Tell me a nice story about a dog named Rex")
		if err != nil {
			t.Fatal(err)
		}
		if a.header.Get("x-vsr-cache-hit") == "true" {
			t.Fatal("a cached answer survived the flush")
		}
	})

	t.Run("config-hub publishes a revision every service applies", func(t *testing.T) {
		v2 := s.params
		v2.V2 = true
		first := s.activeRevision()
		status, body := s.putConfig(t, renderConfig(t, v2), first)
		if status != http.StatusOK {
			t.Fatalf("PUT config: %d %s", status, body)
		}
		waitFor(t, 30*time.Second, "routing on the new revision", func() error {
			return expectRoute(ctx, c, "Tell me about the zebra", "code-expert-v2")
		})
		// History and rollback read older revisions of the KV key.
		resp, err := http.Get("http://" + s.hubAddr + "/config/router/versions")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET versions: %d %s", resp.StatusCode, body)
		}
		resp, err = http.Post("http://"+s.hubAddr+"/config/router/rollback", "application/json",
			strings.NewReader(fmt.Sprintf(`{"revision": %d}`, first)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("rollback to %d: %d %s", first, resp.StatusCode, body)
		}
		rev := s.activeRevision()
		waitFor(t, 30*time.Second, "routing on the rolled-back revision", func() error {
			return expectRoute(ctx, c, "Please debug this function for me", "code-expert")
		})
		waitFor(t, 30*time.Second, "every service reports the rolled-back revision", func() error {
			seen := map[string]bool{}
			for _, st := range s.statusesFor(rev) {
				if !st.Accepted {
					return fmt.Errorf("%s/%s rejected revision %d: %s", st.Service, st.Instance, rev, st.Error)
				}
				seen[st.Service] = true
			}
			for _, svc := range []string{"config-hub", "classifier", "gateway", "cache"} {
				if !seen[svc] {
					return fmt.Errorf("no accepted status from %s yet (have %v)", svc, seen)
				}
			}
			return nil
		})
	})

	// Everything above ran with the least-privilege users: the server must
	// not have refused any of their operations.
	if v := violations.Lines(); len(v) > 0 {
		t.Fatalf("the services hit %d permission violations (the permissions in nats.conf are too narrow):\n%s", len(v), strings.Join(v, "\n"))
	}

	t.Run("unauthenticated and wrong password are refused", func(t *testing.T) {
		if nc, err := nats.Connect(url, nats.NoReconnect()); err == nil {
			nc.Close()
			t.Fatal("an unauthenticated client was let in")
		} else if !errors.Is(err, nats.ErrAuthorization) {
			t.Fatalf("unauthenticated connect: %v, want an authorization violation", err)
		}
		if nc, err := nats.Connect(url, nats.NoReconnect(), nats.UserInfo("gateway", pw["classifier"])); err == nil {
			nc.Close()
			t.Fatal("gateway logged in with another user's password")
		}
	})

	revBefore := s.activeRevision()
	denials := []struct {
		name, user, subject string
		do                  func(nc *nats.Conn) error
	}{
		{"gateway cannot write the config KV", "gateway", "$KV.config.active",
			func(nc *nats.Conn) error { return nc.Publish("$KV.config.active", []byte("version: v0.3\n")) }},
		{"gateway cannot purge the config stream", "gateway", "$JS.API.STREAM.PURGE.KV_config",
			func(nc *nats.Conn) error {
				return nc.PublishRequest("$JS.API.STREAM.PURGE.KV_config", nc.NewRespInbox(), nil)
			}},
		{"gateway cannot delete the config stream", "gateway", "$JS.API.STREAM.DELETE.KV_config",
			func(nc *nats.Conn) error {
				return nc.PublishRequest("$JS.API.STREAM.DELETE.KV_config", nc.NewRespInbox(), nil)
			}},
		{"gateway cannot flush the cache", "gateway", "semrouter.rpc.semrouter.cache.v1.CacheService.Flush",
			func(nc *nats.Conn) error {
				return nc.PublishRequest("semrouter.rpc.semrouter.cache.v1.CacheService.Flush", nc.NewRespInbox(), nil)
			}},
		{"gateway cannot serve the classifier's subjects", "gateway", "semrouter.rpc.semrouter.classifier.v1.ClassifierService.>",
			func(nc *nats.Conn) error {
				_, err := nc.Subscribe("semrouter.rpc.semrouter.classifier.v1.ClassifierService.>", func(*nats.Msg) {})
				return err
			}},
		{"embedder cannot read the cache write stream", "embedder", "semrouter.cache.writes.>",
			func(nc *nats.Conn) error {
				_, err := nc.Subscribe("semrouter.cache.writes.>", func(*nats.Msg) {})
				return err
			}},
		{"embedder cannot consume the cache write stream", "embedder", "$JS.API.CONSUMER.CREATE.CACHE_WRITES",
			func(nc *nats.Conn) error {
				return nc.PublishRequest("$JS.API.CONSUMER.CREATE.CACHE_WRITES", "_INBOX.x", []byte(`{"stream_name":"CACHE_WRITES","config":{}}`))
			}},
		{"embedder cannot publish config status", "embedder", "semrouter.config.status.gateway.x",
			func(nc *nats.Conn) error { return nc.Publish("semrouter.config.status.gateway.x", []byte(`{}`)) }},
		{"embedder cannot write the config KV", "embedder", "$KV.config.active",
			func(nc *nats.Conn) error { return nc.Publish("$KV.config.active", []byte("version: v0.3\n")) }},
		{"classifier cannot publish cache writes", "classifier", "semrouter.cache.writes.general",
			func(nc *nats.Conn) error { return nc.Publish("semrouter.cache.writes.general", []byte("x")) }},
		{"cache cannot write the config KV", "cache", "$KV.config.active",
			func(nc *nats.Conn) error { return nc.Publish("$KV.config.active", []byte("version: v0.3\n")) }},
	}
	// Inboxes: no user may read another service's replies, JetStream
	// answers or KV deliveries, nor every inbox at once.
	requesters := []string{"config-hub", "gateway", "classifier", "cache"}
	for i, u := range natsUsers {
		other := requesters[i%len(requesters)]
		if other == u.user {
			other = requesters[(i+1)%len(requesters)]
		}
		for _, subject := range []string{inboxPrefix(other) + ".>", inboxPrefix(other) + ".reply.1", "_INBOX.>"} {
			denials = append(denials, struct {
				name, user, subject string
				do                  func(nc *nats.Conn) error
			}{u.user + " cannot subscribe to " + subject, u.user, subject, func(nc *nats.Conn) error {
				_, err := nc.Subscribe(subject, func(*nats.Msg) {})
				return err
			}})
		}
	}
	for _, d := range denials {
		t.Run(d.name, func(t *testing.T) {
			expectDenied(t, url, d.user, pw[d.user], d.subject, d.do)
		})
	}

	t.Run("requesters get JetStream answers in their own inbox", func(t *testing.T) {
		for _, u := range requesters {
			nc, err := nats.Connect(url, nats.UserInfo(u, pw[u]), nats.CustomInboxPrefix(inboxPrefix(u)), nats.NoReconnect())
			if err != nil {
				t.Fatal(err)
			}
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err = js.AccountInfo(actx)
			cancel()
			nc.Close()
			if err != nil {
				t.Errorf("%s: $JS.API.INFO answered to %s.>: %v", u, inboxPrefix(u), err)
			}
		}
	})

	t.Run("gateway's JetStream put on the config KV fails", func(t *testing.T) {
		nc, err := nats.Connect(url, nats.UserInfo("gateway", pw["gateway"]), nats.CustomInboxPrefix(inboxPrefix("gateway")), nats.NoReconnect(),
			nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})) // the violation is expected
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		kctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		kv, err := js.KeyValue(kctx, "config")
		if err != nil {
			t.Fatalf("the gateway may read the config bucket: %v", err)
		}
		if _, err := kv.Put(kctx, "active", []byte("version: v0.3\n")); err == nil {
			t.Fatal("the gateway user wrote the config KV")
		}
	})
	if after := s.activeRevision(); after != revBefore {
		t.Errorf("active revision moved from %d to %d during the denied writes", revBefore, after)
	}
	// The services keep working after the denied attempts.
	if err := expectRoute(ctx, c, "Please debug this function for me", "code-expert"); err != nil {
		t.Error(err)
	}
}

// cacheEntries asks one cache replica's Connect API (JSON) for its entry
// count.
func cacheEntries(ctx context.Context, addr string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/semrouter.cache.v1.CacheService/Stats", strings.NewReader("{}"))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Entries int64 `json:"entries,string"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("Stats: %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return 0, fmt.Errorf("Stats answer %s: %w", body, err)
	}
	return out.Entries, nil
}

// permissionsText is a user's password reference and permissions in a
// canonical form (nil and empty lists alike, lists sorted).
func permissionsText(u *server.User) string {
	list := func(l []string) string {
		l = slices.Clone(l)
		slices.Sort(l)
		return strings.Join(l, " ")
	}
	sp := func(p *server.SubjectPermission) string {
		if p == nil {
			return "-"
		}
		return "allow[" + list(p.Allow) + "] deny[" + list(p.Deny) + "]"
	}
	p := u.Permissions
	if p == nil {
		return "no permissions"
	}
	resp := "-"
	if p.Response != nil {
		resp = fmt.Sprintf("%d/%v", p.Response.MaxMsgs, p.Response.Expires)
	}
	return fmt.Sprintf("publish %s; subscribe %s; responses %s", sp(p.Publish), sp(p.Subscribe), resp)
}

// expectDenied connects as user, runs do and wants the server to refuse it
// with a permission violation naming subject (reported to the client
// asynchronously).
func expectDenied(t *testing.T, url, user, password, subject string, do func(*nats.Conn) error) {
	t.Helper()
	errs := make(chan error, 16)
	nc, err := nats.Connect(url, nats.UserInfo(user, password), nats.NoReconnect(),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	defer nc.Close()
	if err := do(nc); err != nil && !errors.Is(err, nats.ErrPermissionViolation) {
		t.Fatalf("%s: %v", user, err)
	}
	_ = nc.Flush()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for {
		select {
		case err := <-errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), fmt.Sprintf("%q", subject)) {
				return
			}
			t.Logf("%s: unrelated async error %v", user, err)
		case <-timer.C:
			t.Fatalf("user %s was not refused on %s (no permission violation within 10s)", user, subject)
		}
	}
}
