package service_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/services/gateway-extproc/service"
)

func TestMainFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantOut string
	}{
		{"help", []string{"--help"}, "", "-extproc-addr"},
		{"stray argument", []string{"serve"}, "unexpected arguments", ""},
		{"bad log level", []string{"--log-level", "loud"}, "loud", ""},
		{"unknown flag", []string{"--nope"}, "flag provided but not defined", ""},
		{"help shows the trusted proxies default", []string{"--help"}, "", "(default 127.0.0.0/8,::1/128)"},
		{"invalid trusted proxy", []string{"--trusted-proxies", "10.0.0.0/40"}, `invalid value "10.0.0.0/40" for flag -trusted-proxies`, ""},
		{"trusted proxy host name", []string{"--trusted-proxies=envoy"}, "-trusted-proxies", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := service.Main(context.Background(), tc.args, &out)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Fatalf("output %q", out.String())
			}
		})
	}
}

func TestRunNeedsSomethingToServe(t *testing.T) {
	if err := service.Run(context.Background(), service.Options{}); err == nil {
		t.Fatal("Run without NATS succeeded")
	}
}
