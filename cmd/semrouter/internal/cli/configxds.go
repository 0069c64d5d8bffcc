package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/config-hub/xds"
)

// loadValid loads a config file and prints its problems; it fails when the
// config has errors.
func loadValid(env *Env, path string) (*config.Config, error) {
	cfg, probs, err := config.Load(path)
	for _, p := range probs.Errors() {
		fmt.Fprintln(env.Stderr, p.Error())
	}
	if err != nil {
		if len(probs.Errors()) > 0 {
			return nil, reported(ExitInvalid, fmt.Errorf("%s is invalid", path))
		}
		return nil, err
	}
	return cfg, nil
}

func configEnvoyCommand() *Command {
	c := &Command{
		Name:    "config envoy",
		Summary: "print an Envoy bootstrap that points Envoy at config-hub over ADS",
		Usage:   "--config FILE [--xds-addr HOST:PORT] [--node-id ID] [--admin-addr HOST:PORT] [--json]",
	}
	c.Run = func(_ context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		file := fs.String("config", "", "the v0.3 configuration")
		xdsAddr := fs.String("xds-addr", xds.DefaultXDSAddress, "config-hub's xDS address as Envoy reaches it")
		node := fs.String("node-id", "envoy-0", "the Envoy node id")
		cluster := fs.String("node-cluster", "semrouter", "the Envoy node cluster")
		admin := fs.String("admin-addr", "127.0.0.1:9901", "Envoy's admin address")
		asJSON := fs.Bool("json", false, "print JSON instead of YAML")
		pos, err := parseFlags(env, c, fs, args, "Prints a bootstrap for Envoy: listeners, routes and clusters then arrive\nover ADS from config-hub, one snapshot per config revision.")
		if err != nil {
			return err
		}
		if len(pos) > 0 || *file == "" {
			return usageErrorf("config envoy needs --config FILE and no positional arguments")
		}
		cfg, err := loadValid(env, *file)
		if err != nil {
			return err
		}
		format := "yaml"
		if *asJSON {
			format = "json"
		}
		out, err := xds.Bootstrap(cfg, xds.BootstrapOptions{XDSAddress: *xdsAddr, NodeID: *node, NodeCluster: *cluster, AdminAddress: *admin, Format: format})
		if err != nil {
			return fmt.Errorf("build bootstrap: %w", err)
		}
		_, err = env.Stdout.Write(out)
		return err
	}
	return c
}

func configXDSCommand() *Command {
	c := &Command{
		Name:    "config xds",
		Summary: "print the xDS resources (listeners, routes, clusters, endpoints) of a config",
		Usage:   "--config FILE [--extproc-addr HOST:PORT]",
	}
	c.Run = func(_ context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		file := fs.String("config", "", "the v0.3 configuration")
		extproc := fs.String("extproc-addr", "", "the gateway-extproc gRPC address Envoy calls (default config-hub's)")
		pos, err := parseFlags(env, c, fs, args, "Prints, as JSON, the resources config-hub would serve to Envoy for this\nconfiguration, for inspection.")
		if err != nil {
			return err
		}
		if len(pos) > 0 || *file == "" {
			return usageErrorf("config xds needs --config FILE and no positional arguments")
		}
		cfg, err := loadValid(env, *file)
		if err != nil {
			return err
		}
		res, err := xds.Resources(cfg, xds.Options{ExtProcAddress: *extproc})
		if err != nil {
			return fmt.Errorf("build xds resources: %w", err)
		}
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return c
}
