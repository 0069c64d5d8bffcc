package apimode

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/semrouter/semrouter/services/gateway-extproc/gateway"
	"github.com/semrouter/semrouter/services/gateway-extproc/routes"
)

func TestParseTrustedProxies(t *testing.T) {
	cases := []struct {
		name    string
		list    string
		want    string // String() of the set
		wantErr []string
	}{
		{name: "default", list: DefaultTrustedProxies, want: "127.0.0.0/8,::1/128"},
		{name: "empty trusts nobody", list: "", want: ""},
		{name: "blanks and stray commas", list: " 10.0.0.0/8 , ,192.168.1.7 ,", want: "10.0.0.0/8,192.168.1.7/32"},
		{name: "host bits cleared", list: "10.1.2.3/8", want: "10.0.0.0/8"},
		{name: "ipv6 address and prefix", list: "fd00::/8,2001:db8::1", want: "fd00::/8,2001:db8::1/128"},
		{name: "ipv4-mapped forms become ipv4", list: "::ffff:10.0.0.0/104,::ffff:192.0.2.1", want: "10.0.0.0/8,192.0.2.1/32"},
		{name: "everyone", list: "0.0.0.0/0,::/0", want: "0.0.0.0/0,::/0"},
		{name: "bad address", list: "10.0.0.300", wantErr: []string{`"10.0.0.300"`}},
		{name: "bad prefix length", list: "10.0.0.0/33", wantErr: []string{`"10.0.0.0/33"`}},
		{name: "host name", list: "proxy.internal", wantErr: []string{`"proxy.internal"`}},
		{name: "zone", list: "fe80::1%eth0", wantErr: []string{`"fe80::1%eth0"`}},
		{name: "short mapped prefix", list: "::ffff:0.0.0.0/80", wantErr: []string{`"::ffff:0.0.0.0/80"`, "/96"}},
		{name: "every bad entry named", list: "10.0.0.0/8,nope,127.0.0.1,1.2.3.4/99",
			wantErr: []string{`"nope"`, `"1.2.3.4/99"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTrustedProxies(tc.list)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("no error, set %q", got)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %s", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Fatalf("set %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTrustedProxiesContains(t *testing.T) {
	set, err := ParseTrustedProxies("127.0.0.0/8,::1,10.20.0.0/16,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		set    *TrustedProxies
		remote string
		want   bool
	}{
		{name: "loopback v4", set: set, remote: "127.0.0.1:51000", want: true},
		{name: "loopback v6", set: set, remote: "[::1]:51000", want: true},
		{name: "in prefix", set: set, remote: "10.20.3.4:80", want: true},
		{name: "outside prefix", set: set, remote: "10.21.3.4:80"},
		{name: "ipv4-mapped peer", set: set, remote: "[::ffff:10.20.3.4]:80", want: true},
		{name: "ipv6 with zone", set: set, remote: "[fd00::1%eth0]:80", want: true},
		{name: "public v6", set: set, remote: "[2001:db8::1]:80"},
		{name: "no port", set: set, remote: "127.0.0.1"},
		{name: "unix socket peer", set: set, remote: "@"},
		{name: "empty", set: set, remote: ""},
		{name: "forwarded-for style list is not an address", set: set, remote: "127.0.0.1, 8.8.8.8"},
		{name: "empty set trusts nobody", set: &TrustedProxies{}, remote: "127.0.0.1:1"},
		{name: "nil set trusts nobody", set: nil, remote: "127.0.0.1:1"},
		{name: "default loopback", set: LoopbackProxies(), remote: "127.9.9.9:1", want: true},
		{name: "default refuses others", set: LoopbackProxies(), remote: "192.168.0.2:1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.set.Contains(tc.remote); got != tc.want {
				t.Fatalf("Contains(%q) = %v, want %v", tc.remote, got, tc.want)
			}
		})
	}
	if set.TrustsEveryone() || LoopbackProxies().TrustsEveryone() {
		t.Error("TrustsEveryone on a bounded set")
	}
	for _, l := range []string{"0.0.0.0/0", "::/0"} {
		if all, _ := ParseTrustedProxies(l); !all.TrustsEveryone() {
			t.Errorf("%s: TrustsEveryone false", l)
		}
	}
}

// TestTrustedProxiesFlag parses the flag as both binaries declare it.
func TestTrustedProxiesFlag(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{name: "default", args: nil, want: DefaultTrustedProxies},
		{name: "list", args: []string{"--trusted-proxies", "10.0.0.0/8,fd00::/8"}, want: "10.0.0.0/8,fd00::/8"},
		{name: "empty trusts nobody", args: []string{"--trusted-proxies="}, want: ""},
		{name: "last wins", args: []string{"--trusted-proxies=10.0.0.1", "--trusted-proxies=10.0.0.2"}, want: "10.0.0.2/32"},
		{name: "invalid cidr names the flag", args: []string{"--trusted-proxies=10.0.0.0/40"}, wantErr: "-trusted-proxies"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			tp := LoopbackProxies()
			fs.Var(tp, "trusted-proxies", "trusted peers")
			err := fs.Parse(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "10.0.0.0/40") {
					t.Fatalf("error %v, want one naming %s and the value", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tp.String() != tc.want {
				t.Fatalf("set %q, want %q", tp, tc.want)
			}
		})
	}
}

// memCache is a cache FAKE (the cache service is another module): an
// exact-match store keyed by partition and query, so a lookup only finds
// what was stored in the same partition (scope user: the same user id).
type memCache struct {
	mu      sync.Mutex
	entries map[string][]byte
}

func partitionKey(p gateway.CachePartition, query string) string {
	return strings.Join([]string{p.Recipe, p.Decision, p.Model, p.Scope, p.ScopeID, p.Revision, query}, "\x00")
}

func (c *memCache) Lookup(ctx context.Context, q *gateway.CacheQuery) ([]gateway.CachedResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.entries[partitionKey(q.Partition, q.Query)]; ok {
		return []gateway.CachedResponse{{Decision: q.Decision, Exact: true, Similarity: 1, Body: b}}, nil
	}
	return nil, nil
}

func (c *memCache) Store(ctx context.Context, e *gateway.CacheEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[partitionKey(e.Partition, e.Query)] = e.Body
	return nil
}

// identityClassifier is a classifier FAKE that records the identity of
// each request and answers dec.
type identityClassifier struct {
	dec *gateway.Decision
	mu  sync.Mutex
	ids []gateway.Identity
}

func (c *identityClassifier) Classify(ctx context.Context, req *gateway.RouteRequest) (*gateway.Decision, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, req.Identity)
	return c.dec, nil
}

func (c *identityClassifier) last() gateway.Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ids[len(c.ids)-1]
}

// headerCounter records HeaderObserver calls.
type headerCounter struct {
	mu    sync.Mutex
	kinds map[string]int
}

func (h *headerCounter) UntrustedHeaderRemoved(kind string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.kinds[kind]++
}

var (
	_ gateway.Cache      = (*memCache)(nil)
	_ gateway.Classifier = (*identityClassifier)(nil)
	_ HeaderObserver     = (*headerCounter)(nil)
)

// trustFixture serves API mode on 127.0.0.1 trusting only 127.0.0.2:
// proxy requests come from 127.0.0.2 (a trusted peer), direct ones from
// 127.0.0.1 (untrusted), so both kinds of peer reach one server.
type trustFixture struct {
	url           string
	gw            *gateway.Gateway
	proxy, direct *http.Client
	cls           *identityClassifier
	llm           *fakeLLM
	removed       *headerCounter
}

func newTrustFixture(t *testing.T) *trustFixture {
	t.Helper()
	llm := newFakeLLM(t, "small", "ok")
	spec := baseSpec()
	spec.Models = []routes.Model{{Name: "small", Backends: []routes.Backend{backend("small-1", llm)}}}
	spec.Decisions = []routes.Decision{{Name: "private", ModelRefs: []routes.ModelRef{{Model: "small"}},
		Plugins: routes.Plugins{ResponseCache: &routes.ResponseCachePlugin{Enabled: true, Scope: routes.CacheScopeUser,
			SimilarityThreshold: 0.9, TTL: time.Minute}}}}
	tbl, err := routes.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	cls := &identityClassifier{dec: &gateway.Decision{Name: "private", Confidence: 1,
		Matched: map[string][]string{"jailbreak": {"ignore-previous"}, "authz": {"admins-only"}}}}
	log := slog.New(slog.DiscardHandler)
	gw := gateway.New(tbl, gateway.Stages{Classifier: cls, Cache: &memCache{entries: map[string][]byte{}}}, log)
	trusted, err := ParseTrustedProxies("127.0.0.2/32")
	if err != nil {
		t.Fatal(err)
	}
	removed := &headerCounter{kinds: map[string]int{}}
	srv := New(gw, log, WithRandom(func(int) int { return 0 }), WithTrustedProxies(trusted), WithHeaderObserver(removed))
	hs := httptest.NewServer(srv.Handler(10 * time.Second))
	t.Cleanup(hs.Close)
	t.Cleanup(gw.Wait)
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		tr := &http.Transport{DialContext: d.DialContext}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	return &trustFixture{url: hs.URL, gw: gw, proxy: from("127.0.0.2"), direct: from("127.0.0.1"),
		cls: cls, llm: llm, removed: removed}
}

// ask posts one chat completion with headers (name, value pairs) and
// waits for the cache store that follows it.
func (f *trustFixture) ask(t *testing.T, c *http.Client, text string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url+"/v1/chat/completions",
		bytes.NewReader([]byte(`{"model":"auto","messages":[{"role":"user","content":"`+text+`"}]}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	f.gw.Wait()
	return resp
}

// TestUserCacheNeedsTrustedPeer: through the trusted proxy, scope: user
// keeps alice's and bob's answers apart as before; a client connecting
// directly that claims to be alice (and claims a group) is anonymous: it
// neither reads alice's entry nor reaches the classifier as alice, and
// its identity headers are not forwarded upstream.
func TestUserCacheNeedsTrustedPeer(t *testing.T) {
	f := newTrustFixture(t)
	alice := []string{"x-authz-user-id", "alice", "x-authz-user-groups", "admins"}
	if r := f.ask(t, f.proxy, "my salary", alice...); r.Header.Get("x-vsr-cache-hit") != "" {
		t.Fatal("first request was a cache hit")
	}
	if id := f.cls.last(); id.User != "alice" || strings.Join(id.Groups, ",") != "admins" {
		t.Fatalf("trusted identity %+v", id)
	}
	if r := f.ask(t, f.proxy, "my salary", "x-authz-user-id", "bob"); r.Header.Get("x-vsr-cache-hit") == "true" {
		t.Fatal("bob read alice's entry")
	}
	if r := f.ask(t, f.proxy, "my salary", alice...); r.Header.Get("x-vsr-cache-hit") != "true" {
		t.Fatal("alice missed her own entry through the trusted proxy")
	}
	before := len(f.llm.requests())
	if r := f.ask(t, f.direct, "my salary", alice...); r.Header.Get("x-vsr-cache-hit") == "true" {
		t.Fatal("an untrusted peer claiming alice read her entry")
	}
	if id := f.cls.last(); id.User != "" || len(id.Groups) != 0 {
		t.Fatalf("untrusted peer's identity reached the classifier: %+v", id)
	}
	reqs := f.llm.requests()
	if len(reqs) != before+1 {
		t.Fatalf("upstream requests %d, want %d", len(reqs), before+1)
	}
	if h := reqs[len(reqs)-1].Header; h.Get("x-authz-user-id") != "" || h.Get("x-authz-user-groups") != "" {
		t.Fatalf("untrusted identity forwarded upstream: %v", h)
	}
	f.removed.mu.Lock()
	defer f.removed.mu.Unlock()
	if f.removed.kinds[RemovedUserID] != 1 || f.removed.kinds[RemovedUserGroups] != 1 || f.removed.kinds[RemovedDebug] != 0 {
		t.Fatalf("removed headers counted %v", f.removed.kinds)
	}
}

// TestDebugHeadersNeedTrustedPeer: x-vsr-debug reveals the matched
// signal names to a trusted peer only.
func TestDebugHeadersNeedTrustedPeer(t *testing.T) {
	cases := []struct {
		name      string
		direct    bool
		wantDebug bool
	}{
		{name: "trusted proxy", wantDebug: true},
		{name: "untrusted peer", direct: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newTrustFixture(t)
			c := f.proxy
			if tc.direct {
				c = f.direct
			}
			r := f.ask(t, c, "hello", "X-VSR-Debug", "true", "x-authz-user-id", "carol")
			got := r.Header.Get("x-vsr-matched-jailbreak") == "ignore-previous" && r.Header.Get("x-vsr-matched-authz") == "admins-only"
			if got != tc.wantDebug {
				t.Fatalf("debug headers shown = %v, want %v (headers %v)", got, tc.wantDebug, r.Header)
			}
			if r.Header.Get("x-vsr-selected-decision") != "private" {
				t.Fatalf("routing facts missing: %v", r.Header)
			}
			f.removed.mu.Lock()
			defer f.removed.mu.Unlock()
			if n := f.removed.kinds[RemovedDebug]; (n == 1) != tc.direct {
				t.Fatalf("debug removals counted %d", n)
			}
		})
	}
}

// TestDefaultTrustsLoopbackOnly: New without WithTrustedProxies honours
// loopback peers (make run, local tools).
func TestDefaultTrustsLoopbackOnly(t *testing.T) {
	srv := New(nil, slog.New(slog.DiscardHandler))
	if !srv.trusted.Contains("127.0.0.1:4000") || !srv.trusted.Contains("[::1]:4000") || srv.trusted.Contains("10.0.0.1:4000") {
		t.Fatalf("default trusted proxies %q", srv.trusted)
	}
	if got := srv.trusted.String(); got != DefaultTrustedProxies {
		t.Fatalf("default %q, want %q", got, DefaultTrustedProxies)
	}
}

func BenchmarkTrustedProxiesContains(b *testing.B) {
	set, err := ParseTrustedProxies("127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,fd00::/8")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, remote string }{
		{"trusted-v4", "127.0.0.1:53412"},
		{"untrusted-v4", "203.0.113.9:53412"},
		{"untrusted-v6", "[2001:db8::1]:53412"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = set.Contains(bc.remote)
			}
		})
	}
}
