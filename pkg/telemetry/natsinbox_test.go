package telemetry

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/semrouter/semrouter/pkg/natstest"
)

func TestDefaultInboxPrefix(t *testing.T) {
	cases := []struct{ name, service, want string }{
		{name: "gateway", service: "semrouter-gateway", want: "_INBOX_gateway"},
		{name: "config-hub", service: "semrouter-config-hub", want: "_INBOX_config-hub"},
		{name: "embedder", service: "semrouter-embedder", want: "_INBOX_embedder"},
		{name: "name without the semrouter- prefix", service: "svc", want: "_INBOX_svc"},
		{name: "odd characters become underscores", service: "my svc.v2>*", want: "_INBOX_my_svc_v2__"},
		{name: "no name keeps nats.go's default", service: "", want: ""},
		{name: "bare semrouter- keeps nats.go's default", service: "semrouter-", want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := DefaultInboxPrefix(tc.service)
			if got != tc.want {
				t.Fatalf("DefaultInboxPrefix(%q) = %q, want %q", tc.service, got, tc.want)
			}
			if err := ValidateInboxPrefix(got); err != nil {
				t.Fatalf("default prefix %q is invalid: %v", got, err)
			}
		})
	}
}

func TestValidateInboxPrefix(t *testing.T) {
	cases := []struct {
		name, prefix string
		ok           bool
	}{
		{name: "empty is nats.go's default", prefix: "", ok: true},
		{name: "nats.go's default spelled out", prefix: "_INBOX", ok: true},
		{name: "service prefix", prefix: "_INBOX_config-hub", ok: true},
		{name: "several tokens", prefix: "_INBOX.tenant-a.gateway", ok: true},
		{name: "full wildcard", prefix: "_INBOX.>"},
		{name: "token wildcard", prefix: "_INBOX.*.gw"},
		{name: "star inside a token", prefix: "_INBOX_gw*"},
		{name: "trailing dot", prefix: "_INBOX_gw."},
		{name: "leading dot", prefix: "._INBOX_gw"},
		{name: "empty token", prefix: "_INBOX..gw"},
		{name: "space", prefix: "_INBOX gw"},
		{name: "tab", prefix: "_INBOX\tgw"},
		{name: "system subject", prefix: "$SYS"},
		{name: "non-ASCII", prefix: "_INBOX_gäteway"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateInboxPrefix(tc.prefix)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tc.prefix == "" {
					return
				}
				// nats.go must take what we accept.
				var o nats.Options
				if err := nats.CustomInboxPrefix(tc.prefix)(&o); err != nil {
					t.Fatalf("nats.go refuses %q: %v", tc.prefix, err)
				}
				return
			}
			if !errors.Is(err, ErrInboxPrefix) {
				t.Fatalf("err = %v, want ErrInboxPrefix", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.prefix)) || !strings.Contains(err.Error(), "letters, digits") {
				t.Fatalf("error %q does not name the prefix and the rule", err)
			}
		})
	}
}

func TestInboxPrefixFlag(t *testing.T) {
	cases := []struct {
		name    string
		service string
		env     map[string]string
		args    []string
		want    string
	}{
		{name: "from the service name", service: "semrouter-cache", want: "_INBOX_cache"},
		{name: "environment wins over the service name", service: "semrouter-cache", env: map[string]string{EnvNATSInboxPrefix: "_INBOX.acct.cache"}, want: "_INBOX.acct.cache"},
		{name: "flag wins over the environment", service: "semrouter-cache", env: map[string]string{EnvNATSInboxPrefix: "_INBOX.acct.cache"},
			args: []string{"--nats-inbox-prefix", "_INBOX_mine"}, want: "_INBOX_mine"},
		{name: "explicit empty selects nats.go's default", service: "semrouter-cache", args: []string{"--nats-inbox-prefix="}, want: ""},
		{name: "no service name", service: "", want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("svc", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f := AddNATSFlags(fs, tc.service, func(k string) string { return tc.env[k] })
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if got := f.InboxPrefix(); got != tc.want {
				t.Fatalf("inbox prefix %q, want %q", got, tc.want)
			}
			if _, err := f.Options("nats://n:4222"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestConnectNATSInboxPermissions runs a real server whose user "svc" may
// subscribe only to _INBOX_svc.>: requests, JetStream API calls and a KV
// watch work with the default prefix of service semrouter-svc, and a
// request fails with nats.go's _INBOX prefix (the server refuses the reply
// subscription).
func TestConnectNATSInboxPermissions(t *testing.T) {
	srv := natstest.RunServer(t, natstest.WithOptions(func(o *server.Options) {
		o.Users = []*server.User{
			{Username: "svc", Password: "svc-pw", Permissions: &server.Permissions{
				Publish:   &server.SubjectPermission{Allow: []string{"echo", "$JS.API.>", "$JS.FC.>"}},
				Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX_svc.>"}},
			}},
			{Username: "responder", Password: "responder-pw", Permissions: &server.Permissions{
				Publish:   &server.SubjectPermission{Allow: []string{"$KV.cfg.>", "$JS.API.>"}},
				Subscribe: &server.SubjectPermission{Allow: []string{"echo", "_INBOX_responder.>"}},
				Response:  &server.ResponsePermission{MaxMsgs: 1},
			}},
		}
	}))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	// The responder echoes requests and owns the KV bucket.
	resp := connectAs(t, srv, "semrouter-responder", nil, "--nats-user", "responder")
	if _, err := resp.Subscribe("echo", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		t.Fatal(err)
	}
	rjs, err := jetstream.New(resp)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := rjs.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "cfg"})
	if err != nil {
		t.Fatalf("responder creates the bucket: %v", err)
	}
	if _, err := kv.Put(ctx, "active", []byte("v1")); err != nil {
		t.Fatal(err)
	}

	t.Run("own prefix", func(t *testing.T) {
		nc := connectAs(t, srv, "semrouter-svc", nil, "--nats-user", "svc")
		if !strings.HasPrefix(nc.NewInbox(), "_INBOX_svc.") {
			t.Fatalf("inbox %q lacks the service prefix", nc.NewInbox())
		}
		m, err := nc.RequestWithContext(ctx, "echo", []byte("ping"))
		if err != nil {
			t.Fatalf("request: %v", err)
		}
		if string(m.Data) != "ping" {
			t.Fatalf("reply %q", m.Data)
		}
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		skv, err := js.KeyValue(ctx, "cfg")
		if err != nil {
			t.Fatalf("JetStream API through the prefixed inbox: %v", err)
		}
		w, err := skv.Watch(ctx, "active")
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		defer func() { _ = w.Stop() }()
		select {
		case e := <-w.Updates():
			if e == nil || string(e.Value()) != "v1" {
				t.Fatalf("watch delivered %v, want v1", e)
			}
		case <-ctx.Done():
			t.Fatal("no KV watch delivery through the prefixed inbox")
		}
	})

	t.Run("nats.go default prefix is refused", func(t *testing.T) {
		errs := make(chan error, 8)
		nc := connectAs(t, srv, "semrouter-svc", errs, "--nats-user", "svc", "--nats-inbox-prefix=")
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		defer rcancel()
		if _, err := nc.RequestWithContext(rctx, "echo", []byte("ping")); err == nil {
			t.Fatal("a reply reached an _INBOX. subscription the user may not make")
		}
		select {
		case err := <-errs:
			if !errors.Is(err, nats.ErrPermissionViolation) || !strings.Contains(err.Error(), `"_INBOX.`) {
				t.Fatalf("async error %v, want a subscription violation on _INBOX.", err)
			}
		case <-ctx.Done():
			t.Fatal("the server reported no permission violation")
		}
	})
}

// connectAs connects to srv through ServiceFlags of service with args,
// the password of user "<name>" being "<name>-pw" (from the environment);
// async errors go to errs when it is not nil.
func connectAs(t *testing.T, srv *server.Server, service string, errs chan<- error, args ...string) *nats.Conn {
	t.Helper()
	fs := flag.NewFlagSet("svc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	user := ""
	for i, a := range args {
		if a == "--nats-user" && i+1 < len(args) {
			user = args[i+1]
		}
	}
	f := AddServiceFlags(fs, service, func(k string) string {
		if k == EnvNATSPassword {
			return user + "-pw"
		}
		return ""
	})
	if ok, err := f.Parse(fs, args); !ok || err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	nc, err := f.ConnectNATS(srv.ClientURL(), service, nats.NoReconnect(), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if errs != nil {
			select {
			case errs <- err:
			default:
			}
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
