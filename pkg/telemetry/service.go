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

// ServiceFlags are the logging and tracing flags every standalone service
// binary shares.
type ServiceFlags struct {
	*Flags
	level, format string
}

// AddServiceFlags registers --log-level, --log-format and the tracing
// flags (AddFlags) on fs.
func AddServiceFlags(fs *flag.FlagSet, serviceName string, getenv func(string) string) *ServiceFlags {
	f := &ServiceFlags{Flags: AddFlags(fs, serviceName, getenv)}
	fs.StringVar(&f.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.format, "log-format", "text", "log format: text or json")
	return f
}

// Parse parses a service's command line into fs (which holds f's flags).
// It returns false when the caller should stop: with a nil error after
// -h/--help (fs has printed the usage), else with the parse error. Positional
// arguments are refused: services take flags only.
func (f *ServiceFlags) Parse(fs *flag.FlagSet, args []string) (bool, error) {
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
