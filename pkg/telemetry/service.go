package telemetry

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// ServiceFlags are the logging, tracing and NATS connection flags every
// standalone service binary shares.
type ServiceFlags struct {
	*Flags
	level, format string
	getenv        func(string) string
	envApplied    bool
	nats          *NATSFlags
}

// EnvNATSURL supplies the default of a service's --nats-url flag (the
// command line wins over it).
const EnvNATSURL = "SEMROUTER_NATS_URL"

// AddServiceFlags registers --log-level, --log-format, the tracing
// flags (AddFlags) and the NATS flags (AddNATSFlags: credentials, TLS and
// the reply-inbox prefix, by default DefaultInboxPrefix(serviceName); see
// ConnectNATS) on fs. When fs already holds --nats-url, its default
// becomes $SEMROUTER_NATS_URL when that is set (a --nats-url registered
// later gets it in Parse).
func AddServiceFlags(fs *flag.FlagSet, serviceName string, getenv func(string) string) *ServiceFlags {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	f := &ServiceFlags{Flags: AddFlags(fs, serviceName, getenv), getenv: getenv}
	fs.StringVar(&f.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.format, "log-format", "text", "log format: text or json")
	f.nats = AddNATSFlags(fs, serviceName, getenv)
	f.applyEnv(fs)
	return f
}

// applyEnv sets the default of --nats-url from SEMROUTER_NATS_URL, once,
// when fs has the flag.
func (f *ServiceFlags) applyEnv(fs *flag.FlagSet) {
	fl := fs.Lookup("nats-url")
	if f.envApplied || fl == nil {
		return
	}
	f.envApplied = true
	fl.Usage += " (default: $" + EnvNATSURL + " when set)"
	if v := f.getenv(EnvNATSURL); v != "" {
		if err := fl.Value.Set(v); err == nil {
			fl.DefValue = v
		}
	}
}

// Parse parses a service's command line into fs (which holds f's flags).
// It returns false when the caller should stop: with a nil error after
// -h/--help (fs has printed the usage), else with the parse error. Positional
// arguments are refused: services take flags only.
func (f *ServiceFlags) Parse(fs *flag.FlagSet, args []string) (bool, error) {
	f.applyEnv(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return false, nil
		}
		return false, err
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return true, nil
}

// Start builds the logger (to w) and the tracer provider from the parsed
// flags. stop flushes the buffered spans; call it when the service ends.
func (f *ServiceFlags) Start(ctx context.Context, w io.Writer, instance string) (log *slog.Logger, tel *Telemetry, stop func(), err error) {
	log, err = NewLogger(w, LogConfig{Level: f.level, Format: f.format})
	if err != nil {
		return nil, nil, nil, err
	}
	tcfg, err := f.Config()
	if err != nil {
		return nil, nil, nil, err
	}
	tcfg.InstanceID = instance
	if tel, err = New(ctx, tcfg); err != nil {
		return nil, nil, nil, err
	}
	stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("flush traces", slog.String("error", err.Error()))
		}
	}
	return log, tel, stop, nil
}
