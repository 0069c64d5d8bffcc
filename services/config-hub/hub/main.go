package hub

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// Main is the config-hub command: it parses args (without the program
// name), builds the logger on stderr and calls Run.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("config-hub", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts     Options
		level    slog.Level
		extProc  string
		natsURL  = "nats://127.0.0.1:4222"
		jsonLogs bool
	)
	fs.StringVar(&opts.ConfigPath, "config", "", "config file to publish and watch (optional: without it the hub serves what KV holds)")
	fs.StringVar(&natsURL, "nats-url", natsURL, "NATS server URL")
	fs.StringVar(&opts.ManagementAddr, "management-addr", "", `management API address (default: global.services.management_api, else 127.0.0.1:8080; "off" disables)`)
	fs.StringVar(&opts.XDSAddr, "xds-addr", xds.DefaultXDSAddress, `xDS gRPC address ("off" disables)`)
	fs.StringVar(&extProc, "extproc-addr", xds.DefaultExtProcAddress, "gateway-extproc host:port that Envoy's ext_proc filter calls")
	fs.StringVar(&opts.Instance, "instance", "", "instance name in status reports (default: host name)")
	fs.TextVar(&level, "log-level", slog.LevelInfo, "log level (debug, info, warn, error)")
	fs.BoolVar(&jsonLogs, "log-json", false, "log JSON instead of text")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	hopts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(stderr, hopts)
	if jsonLogs {
		h = slog.NewJSONHandler(stderr, hopts)
	}
	opts.Logger = slog.New(h)
	opts.NATSURL = natsURL
	opts.XDS.ExtProcAddress = extProc
	return Run(ctx, opts)
}
