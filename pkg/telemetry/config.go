package telemetry

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/semrouter/semrouter/pkg/config"
)

// FromConfig derives the tracing Config from a v0.3 config's
// global.services.observability.tracing block. Tracing that is absent,
// disabled, sampled always_off or at rate 0 gives a Config without an
// endpoint (a no-op provider). serviceName is the service.name when
// resource.service_name is empty.
func FromConfig(cfg *config.Config, serviceName string) (Config, error) {
	out := Config{ServiceName: serviceName}
	if cfg == nil || cfg.Global.Services.Observability == nil {
		return out, nil
	}
	t := cfg.Global.Services.Observability.Tracing
	if t == nil || !t.Enabled {
		return out, nil
	}
	const path = "global.services.observability.tracing"
	if p := strings.ToLower(t.Provider); p != "" && p != "opentelemetry" && p != "otel" {
		return out, fmt.Errorf("%s.provider %q: want opentelemetry", path, t.Provider)
	}
	if r := t.Resource; r != nil {
		if r.ServiceName != "" {
			out.ServiceName = r.ServiceName
		}
		out.ServiceVersion = r.ServiceVersion
		out.DeploymentEnvironment = r.DeploymentEnvironment
	}
	ratio := 1.0
	if s := t.Sampling; s != nil {
		switch strings.ToLower(s.Type) {
		case "", "always_on":
		case "always_off":
			return out, nil
		case "probabilistic":
			if s.Rate <= 0 {
				return out, nil
			}
			if s.Rate > 1 {
				return out, fmt.Errorf("%s.sampling.rate %v: want a value in [0,1]", path, s.Rate)
			}
			ratio = s.Rate
		default:
			return out, fmt.Errorf("%s.sampling.type %q: want always_on, always_off or probabilistic", path, s.Type)
		}
	}
	if t.Exporter == nil || t.Exporter.Endpoint == "" {
		return out, fmt.Errorf("%s: tracing is enabled but exporter.endpoint is empty", path)
	}
	if ty := strings.ToLower(t.Exporter.Type); ty != "" && ty != "otlp" {
		return out, fmt.Errorf("%s.exporter.type %q: want otlp (OTLP over gRPC)", path, t.Exporter.Type)
	}
	out.OTLPEndpoint = t.Exporter.Endpoint
	out.Insecure = t.Exporter.Insecure
	out.SampleRatio = ratio
	return out, nil
}

// Flags are the tracing flags of a standalone service binary.
type Flags struct {
	configPath string
	endpoint   string
	insecure   bool
	rate       string
	service    string
}

// AddFlags registers --tracing-config, --otlp-endpoint, --otlp-insecure
// and --trace-sample-rate on fs. getenv supplies the defaults of the OTLP
// flags from OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_INSECURE and
// OTEL_TRACES_SAMPLER_ARG (nil: no defaults).
func AddFlags(fs *flag.FlagSet, serviceName string, getenv func(string) string) *Flags {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	f := &Flags{service: serviceName}
	fs.StringVar(&f.configPath, "tracing-config", "",
		"v0.3 config file whose global.services.observability.tracing configures tracing (the OTLP flags override it)")
	fs.StringVar(&f.endpoint, "otlp-endpoint", getenv("OTEL_EXPORTER_OTLP_ENDPOINT"),
		"OTLP/gRPC collector for traces, host:port or http(s)://host:port (empty: no tracing)")
	insecure, _ := strconv.ParseBool(getenv("OTEL_EXPORTER_OTLP_INSECURE"))
	fs.BoolVar(&f.insecure, "otlp-insecure", insecure, "plaintext gRPC to a host:port --otlp-endpoint")
	fs.StringVar(&f.rate, "trace-sample-rate", getenv("OTEL_TRACES_SAMPLER_ARG"), "fraction of traces sampled, in [0,1] (empty: 1)")
	return f
}

// Config resolves the flags (after Parse) into a tracing Config.
func (f *Flags) Config() (Config, error) {
	out := Config{ServiceName: f.service}
	if f.configPath != "" {
		cfg, _, err := config.Load(f.configPath)
		if err != nil {
			return out, fmt.Errorf("load tracing config: %w", err)
		}
		if out, err = FromConfig(cfg, f.service); err != nil {
			return out, err
		}
	}
	if f.endpoint != "" {
		out.OTLPEndpoint, out.Insecure = f.endpoint, f.insecure
		if out.SampleRatio == 0 {
			out.SampleRatio = 1
		}
	}
	if f.rate != "" {
		r, err := strconv.ParseFloat(f.rate, 64)
		if err != nil || r < 0 || r > 1 {
			return out, errors.New("--trace-sample-rate " + strconv.Quote(f.rate) + ": want a number in [0,1]")
		}
		if r == 0 {
			out.OTLPEndpoint = ""
		}
		out.SampleRatio = r
	}
	return out, nil
}
