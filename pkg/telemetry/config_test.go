package telemetry

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/pkg/config"
)

func parseConfig(t *testing.T, observability string) *config.Config {
	t.Helper()
	doc := `version: v0.3
listeners:
  - name: api
    address: 127.0.0.1
    port: 8801
providers:
  defaults:
    default_model: m
  models:
    - name: m
      backend_refs:
        - name: b
          endpoint: 127.0.0.1:9
routing:
  decisions: []
`
	if observability != "" {
		doc += "global:\n  services:\n    observability:\n" + observability
	}
	cfg, _, err := config.Parse([]byte(doc), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestFromConfig(t *testing.T) {
	tests := []struct {
		name    string
		obs     string
		want    Config
		wantErr string
	}{
		{name: "absent", want: Config{ServiceName: "svc"}},
		{name: "disabled", obs: "      tracing:\n        enabled: false\n        exporter: {type: otlp, endpoint: 'jaeger:4317'}\n",
			want: Config{ServiceName: "svc"}},
		{name: "probabilistic with resource",
			obs: "      tracing:\n        enabled: true\n        provider: opentelemetry\n        exporter: {type: otlp, endpoint: 'jaeger:4317', insecure: true}\n" +
				"        sampling: {type: probabilistic, rate: 0.25}\n        resource: {service_name: vllm-sr, service_version: v1, deployment_environment: dev}\n",
			want: Config{ServiceName: "vllm-sr", ServiceVersion: "v1", DeploymentEnvironment: "dev", OTLPEndpoint: "jaeger:4317", Insecure: true, SampleRatio: 0.25}},
		{name: "always_on default", obs: "      tracing:\n        enabled: true\n        exporter: {endpoint: 'http://otel:4317'}\n",
			want: Config{ServiceName: "svc", OTLPEndpoint: "http://otel:4317", SampleRatio: 1}},
		{name: "always_off", obs: "      tracing:\n        enabled: true\n        exporter: {endpoint: 'otel:4317'}\n        sampling: {type: always_off}\n",
			want: Config{ServiceName: "svc"}},
		{name: "no endpoint", obs: "      tracing:\n        enabled: true\n", wantErr: "exporter.endpoint is empty"},
		{name: "stdout exporter", obs: "      tracing:\n        enabled: true\n        exporter: {type: stdout, endpoint: x}\n", wantErr: `exporter.type "stdout"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromConfig(parseConfig(t, tc.obs), "svc")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FromConfig = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.yaml")
	doc, err := os.ReadFile(filepath.Join("testdata", "tracing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    Config
		wantErr string
	}{
		{name: "nothing", want: Config{ServiceName: "gw"}},
		{name: "env endpoint", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "otel:4317", "OTEL_EXPORTER_OTLP_INSECURE": "true"},
			want: Config{ServiceName: "gw", OTLPEndpoint: "otel:4317", Insecure: true, SampleRatio: 1}},
		{name: "config file", args: []string{"--tracing-config", cfgPath},
			want: Config{ServiceName: "semrouter-test", OTLPEndpoint: "collector:4317", Insecure: true, SampleRatio: 0.5}},
		{name: "flag overrides file", args: []string{"--tracing-config", cfgPath, "--otlp-endpoint", "other:4317", "--trace-sample-rate", "0.1"},
			want: Config{ServiceName: "semrouter-test", OTLPEndpoint: "other:4317", SampleRatio: 0.1}},
		{name: "rate zero disables", args: []string{"--otlp-endpoint", "otel:4317", "--trace-sample-rate", "0"},
			want: Config{ServiceName: "gw"}},
		{name: "bad rate", args: []string{"--trace-sample-rate", "2"}, wantErr: "want a number in [0,1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			f := AddFlags(fs, "gw", func(k string) string { return tc.env[k] })
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			got, err := f.Config()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Config = %+v, want %+v", got, tc.want)
			}
		})
	}
}
