package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
)

func TestParseServe(t *testing.T) {
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
		{name: "invalid trusted proxy", args: []string{"--config", "c.yaml", "--trusted-proxies", "10.0.0.0/8,10.0.0.0/33"}, wantErr: "-trusted-proxies"},
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
	for _, f := range []string{"--stage-timeout", "--drain-timeout", "--management-insecure", "--trusted-proxies"} {
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
