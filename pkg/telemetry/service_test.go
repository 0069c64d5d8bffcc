package telemetry

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestServiceFlagsStart(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "defaults"},
		{name: "json debug", args: []string{"--log-level", "debug", "--log-format", "json"}},
		{name: "bad level", args: []string{"--log-level", "loud"}, wantErr: "loud"},
		{name: "bad sample rate", args: []string{"--trace-sample-rate", "2"}, wantErr: "trace-sample-rate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("svc", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f := AddServiceFlags(fs, "svc", nil)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			log, tel, stop, err := f.Start(context.Background(), &out, "i1")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			log.Debug("hello")
			log.Info("hello")
			if !strings.Contains(out.String(), "hello") || tel.TracerProvider == nil {
				t.Fatalf("logger wrote %q, tracer provider %v", out.String(), tel.TracerProvider)
			}
		})
	}
}

func TestServiceFlagsParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantRun bool
		wantErr string
	}{
		{name: "flags only", args: []string{"--log-level", "debug"}, wantRun: true},
		{name: "help", args: []string{"--help"}},
		{name: "stray argument", args: []string{"serve"}, wantErr: `unexpected arguments ["serve"]`},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("svc", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			obs := AddServiceFlags(fs, "svc", func(string) string { return "" })
			run, err := obs.Parse(fs, tc.args)
			if run != tc.wantRun {
				t.Fatalf("run=%v, want %v (err %v)", run, tc.wantRun, err)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestServiceFlagsNATSURLFromEnv(t *testing.T) {
	const def = "nats://127.0.0.1:4222"
	cases := []struct {
		name string
		env  string
		args []string
		// registerAfter registers --nats-url after AddServiceFlags.
		registerAfter bool
		want          string
	}{
		{name: "neither: the flag's default", want: def},
		{name: "env only", env: "nats://nats:4222", want: "nats://nats:4222"},
		{name: "flag wins over env", env: "nats://nats:4222", args: []string{"--nats-url", "nats://other:4222"}, want: "nats://other:4222"},
		{name: "flag alone", args: []string{"--nats-url=nats://other:4222"}, want: "nats://other:4222"},
		{name: "env, flag registered after the shared flags", env: "nats://late:4222", registerAfter: true, want: "nats://late:4222"},
		{name: "flag wins, registered after", env: "nats://late:4222", registerAfter: true, args: []string{"--nats-url", "nats://cli:4222"}, want: "nats://cli:4222"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("svc", flag.ContinueOnError)
			var help bytes.Buffer
			fs.SetOutput(&help)
			getenv := func(k string) string {
				if k == EnvNATSURL {
					return tc.env
				}
				return ""
			}
			var url *string
			if !tc.registerAfter {
				url = fs.String("nats-url", def, "NATS server URL")
			}
			f := AddServiceFlags(fs, "svc", getenv)
			if tc.registerAfter {
				url = fs.String("nats-url", def, "NATS server URL")
			}
			if ok, err := f.Parse(fs, tc.args); !ok || err != nil {
				t.Fatalf("parse: %v %v", ok, err)
			}
			if *url != tc.want {
				t.Fatalf("--nats-url = %q, want %q", *url, tc.want)
			}
			fs.PrintDefaults()
			if !strings.Contains(help.String(), "$"+EnvNATSURL) {
				t.Errorf("help does not name %s:\n%s", EnvNATSURL, help.String())
			}
		})
	}
}

func TestServiceFlagsWithoutNATSURL(t *testing.T) {
	fs := flag.NewFlagSet("svc", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := AddServiceFlags(fs, "svc", func(string) string { return "nats://nats:4222" })
	if ok, err := f.Parse(fs, nil); !ok || err != nil {
		t.Fatalf("a flag set without --nats-url: %v %v", ok, err)
	}
}
