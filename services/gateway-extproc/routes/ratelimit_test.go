package routes

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/gateway-extproc/ratelimit"
)

// TestRateLimitFromReferenceConfig maps the upstream reference config's
// ratelimit block (one envoy-ratelimit service, two local rules).
func TestRateLimitFromReferenceConfig(t *testing.T) {
	cfg, _, err := config.Load(filepath.Join(repoRoot(t), "..", "shared", "upstream", "reference-config.yaml"))
	if err != nil {
		t.Fatalf("reference config: %v", err)
	}
	spec, err := FromConfig(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := &ratelimit.Settings{
		Envoy: []ratelimit.EnvoyProvider{{Address: "ratelimit.default.svc.cluster.local:8081", Domain: "api"}},
		Rules: []ratelimit.Rule{
			{Name: "premium-per-minute", Group: "premium-tier", Model: "qwen3-32b", Requests: 120, Tokens: 300000, Unit: time.Minute},
			{Name: "user-per-hour", User: "demo-user", Requests: 1000, Tokens: 2000000, Unit: time.Hour},
		},
	}
	if !reflect.DeepEqual(spec.RateLimit, want) {
		t.Errorf("RateLimit = %+v\nwant %+v", spec.RateLimit, want)
	}
}

func TestAttachRateLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rl      *config.RateLimit
		want    *ratelimit.Settings
		wantErr bool
	}{
		{"absent", nil, nil, false},
		{"no providers", &config.RateLimit{FailOpen: true}, nil, false},
		{"wildcards are any", &config.RateLimit{FailOpen: true, Providers: []config.RateLimitProvider{{Type: "local-limiter",
			Rules: []config.RateLimitRule{{Name: "r", Match: map[string]string{"user": "*", "model": " m1 "}, RequestsPerUnit: 5, Unit: "day"}}}}},
			&ratelimit.Settings{FailOpen: true, Rules: []ratelimit.Rule{{Name: "r", Model: "m1", Requests: 5, Unit: 24 * time.Hour}}}, false},
		{"unknown match key", &config.RateLimit{Providers: []config.RateLimitProvider{{Type: "local-limiter",
			Rules: []config.RateLimitRule{{Name: "r", Match: map[string]string{"tenant": "t"}, RequestsPerUnit: 5, Unit: "day"}}}}}, nil, true},
		{"bad unit", &config.RateLimit{Providers: []config.RateLimitProvider{{Type: "local-limiter",
			Rules: []config.RateLimitRule{{Name: "r", RequestsPerUnit: 5, Unit: "week"}}}}}, nil, true},
		{"no budget", &config.RateLimit{Providers: []config.RateLimitProvider{{Type: "local-limiter",
			Rules: []config.RateLimitRule{{Name: "r", Unit: "day"}}}}}, nil, true},
		{"envoy without domain", &config.RateLimit{Providers: []config.RateLimitProvider{{Type: "envoy-ratelimit", Address: "a:1"}}}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{}
			cfg.Global.Services.RateLimit = tc.rl
			var spec Spec
			err := attachRateLimit(cfg, &spec)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if !reflect.DeepEqual(spec.RateLimit, tc.want) {
				t.Errorf("RateLimit = %+v, want %+v", spec.RateLimit, tc.want)
			}
		})
	}
}
