package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
	"github.com/semrouter/semrouter/pkg/telemetry"
)

// clearNATSEnv keeps the developer's NATS variables out of serve's flags.
func clearNATSEnv(t *testing.T) {
	for _, k := range []string{telemetry.EnvNATSUser, telemetry.EnvNATSPassword, telemetry.EnvNATSInboxPrefix} {
		t.Setenv(k, "")
	}
}

func TestParseServe(t *testing.T) {
	clearNATSEnv(t)
	cases := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, o serveParsed)
	}{
		{name: "defaults", args: []string{"--config", "c.yaml"}, check: func(t *testing.T, o serveParsed) {
			if o.StageTimeout != 0 || o.DrainTimeout != 0 || o.ManagementInsecure || o.NATSAddr != "127.0.0.1:4222" || o.Level != "info" {
				t.Fatalf("defaults: %+v", o)
			}
		}},
		{name: "gateway knobs and management", args: []string{
			"--config", "c.yaml", "--stage-timeout", "2s", "--drain-timeout=5s", "--management-addr", "0.0.0.0:8080",
			"--management-insecure", "--log-level", "debug",
		}, check: func(t *testing.T, o serveParsed) {
			if o.StageTimeout != 2*time.Second || o.DrainTimeout != 5*time.Second || !o.ManagementInsecure ||
				o.ManagementAddr != "0.0.0.0:8080" || o.Level != "debug" || o.ConfigPath != "c.yaml" {
				t.Fatalf("parsed: %+v", o)
			}
		}},
		{name: "negative stage timeout", args: []string{"--config", "c.yaml", "--stage-timeout", "-1s"}, wantErr: "--stage-timeout"},
		{name: "bad duration", args: []string{"--config", "c.yaml", "--drain-timeout", "soon"}, wantErr: "drain-timeout"},
		{name: "no config", args: []string{"--stage-timeout", "1s"}, wantErr: "--config"},
		{name: "trusted proxies default to loopback", args: []string{"--config", "c.yaml"}, check: func(t *testing.T, o serveParsed) {
			if got := o.TrustedProxies.String(); got != "127.0.0.0/8,::1/128" || !o.TrustedProxies.Contains("127.0.0.1:9") {
				t.Fatalf("trusted proxies %q", got)
			}
		}},
		{name: "trusted proxies list", args: []string{"--config", "c.yaml", "--trusted-proxies", "10.0.0.0/8, fd00::/8"},
			check: func(t *testing.T, o serveParsed) {
				if got := o.TrustedProxies.String(); got != "10.0.0.0/8,fd00::/8" || o.TrustedProxies.Contains("127.0.0.1:9") {
					t.Fatalf("trusted proxies %q", got)
				}
			}},
		{name: "empty trusted proxies trust nobody", args: []string{"--config", "c.yaml", "--trusted-proxies="},
			check: func(t *testing.T, o serveParsed) {
				if o.TrustedProxies == nil || o.TrustedProxies.String() != "" || o.TrustedProxies.Contains("127.0.0.1:9") {
					t.Fatalf("trusted proxies %q", o.TrustedProxies)
				}
			}},
		{name: "downstream identity stripped by default", args: []string{"--config", "c.yaml"}, check: func(t *testing.T, o serveParsed) {
			if o.TrustDownstreamIdentity {
				t.Fatal("TrustDownstreamIdentity on by default")
			}
		}},
		{name: "trust downstream identity", args: []string{"--config", "c.yaml", "--trust-downstream-identity"}, check: func(t *testing.T, o serveParsed) {
			if !o.TrustDownstreamIdentity {
				t.Fatal("--trust-downstream-identity not applied")
			}
		}},
		{name: "invalid trusted proxy", args: []string{"--config", "c.yaml", "--trusted-proxies", "10.0.0.0/8,10.0.0.0/33"}, wantErr: "-trusted-proxies"},
		{name: "embedded nats takes no options by default", args: []string{"--config", "c.yaml"}, check: func(t *testing.T, o serveParsed) {
			if len(o.NATSOptions) != 0 {
				t.Fatalf("%d NATS options, want none", len(o.NATSOptions))
			}
		}},
		{name: "embedded nats with an inbox prefix", args: []string{"--config", "c.yaml", "--nats-inbox-prefix", "_INBOX_serve"},
			check: func(t *testing.T, o serveParsed) {
				if got := natsOptions(t, o.NATSOptions); got.InboxPrefix != "_INBOX_serve" {
					t.Fatalf("inbox prefix %q", got.InboxPrefix)
				}
			}},
		{name: "credentials need an external nats", args: []string{"--config", "c.yaml", "--nats-user", "semrouter"}, wantErr: "--nats-url"},
		{name: "tls needs an external nats", args: []string{"--config", "c.yaml", "--nats-tls-ca", "ca.pem"}, wantErr: "--nats-url"},
		{name: "bad inbox prefix", args: []string{"--config", "c.yaml", "--nats-inbox-prefix", "_INBOX.>"}, wantErr: "--nats-inbox-prefix"},
		{name: "user without password", args: []string{"--config", "c.yaml", "--nats-url", "nats://n:4222", "--nats-user", "semrouter"}, wantErr: "needs a password"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := &Env{Stdout: io.Discard, Stderr: io.Discard}
			o, logCfg, err := parseServe(env, serveCommand(), tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || ExitCode(err) != ExitUsage {
					t.Fatalf("err = %v, want a usage error naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, serveParsed{Options: o, Level: logCfg.Level})
		})
	}
}

func TestServeHelpListsGatewayFlags(t *testing.T) {
	var out bytes.Buffer
	env := &Env{Stdout: &out, Stderr: io.Discard}
	if _, _, err := parseServe(env, serveCommand(), []string{"--help"}); err == nil {
		t.Fatal("--help returned no error")
	}
	for _, f := range []string{"--stage-timeout", "--drain-timeout", "--management-insecure", "--trusted-proxies", "--trust-downstream-identity",
		"--nats-user", "--nats-password-file", "--nats-creds", "--nats-tls-ca", "--nats-tls-cert", "--nats-tls-key", "--nats-inbox-prefix"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("serve --help lacks %s:\n%s", f, out.String())
		}
	}
}

// serveParsed is what parseServe returned, for the checks above.
type serveParsed struct {
	serve.Options
	Level string
}

// TestParseServeExternalNATS: serve takes the NATS flags of the service
// binaries and passes them on as connection options.
func TestParseServeExternalNATS(t *testing.T) {
	clearNATSEnv(t)
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("serve-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := &Env{Stdout: io.Discard, Stderr: io.Discard}
	o, _, err := parseServe(env, serveCommand(), []string{"--config", "c.yaml", "--nats-url", "nats://n:4222",
		"--nats-user", "semrouter", "--nats-password-file", pwFile, "--nats-inbox-prefix", "_INBOX_semrouter"})
	if err != nil {
		t.Fatal(err)
	}
	got := natsOptions(t, o.NATSOptions)
	if got.User != "semrouter" || got.Password != "serve-secret" || got.InboxPrefix != "_INBOX_semrouter" {
		t.Fatalf("user %q, password set %v, inbox prefix %q", got.User, got.Password != "", got.InboxPrefix)
	}
	if _, _, err := parseServe(env, serveCommand(), []string{"--config", "c.yaml", "--nats-url", "nats://u:p@n:4222",
		"--nats-user", "semrouter", "--nats-password-file", pwFile}); err == nil || strings.Contains(err.Error(), "serve-secret") ||
		!strings.Contains(err.Error(), "carries credentials") {
		t.Fatalf("URL and flag credentials: %v, want a refusal without the password", err)
	}
}

// natsOptions applies opts to empty nats.Options.
func natsOptions(t *testing.T, opts []nats.Option) nats.Options {
	t.Helper()
	var o nats.Options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			t.Fatal(err)
		}
	}
	return o
}
