package serve

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/assets"
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	classifierserver "github.com/semrouter/semrouter/services/classifier/server"
	"github.com/semrouter/semrouter/services/config-hub/hub"
	"github.com/semrouter/semrouter/services/config-hub/xds"
	embedderserver "github.com/semrouter/semrouter/services/embedder-gpu/server"
	gatewayservice "github.com/semrouter/semrouter/services/gateway-extproc/service"
)

// environment holds what the services share: loaded models and scorers.
type environment struct {
	o          Options
	assets     *assets.Assets
	embedReady chan struct{}
}

func newEnvironment(ctx context.Context, o Options, cfg *config.Config) (*environment, error) {
	a, err := assets.Load(ctx, cfg, o.ConfigPath, assets.Options{
		ModelsDir: o.ModelsDir, GuardDir: o.GuardDir, DomainHeadDir: o.DomainHeadDir, Getenv: o.Getenv, Logger: o.Logger,
	})
	if err != nil {
		return nil, err
	}
	return &environment{o: o, assets: a, embedReady: make(chan struct{})}, nil
}

func (e *environment) close() { e.assets.Close() }

// embedModel names the default embedding model: the classifier embeds its
// candidates with it and the gateway embeds queries with it, so both agree
// (and the domain head trained for it is found).
func (e *environment) embedModel() string {
	m, err := e.assets.Default()
	if err != nil {
		return ""
	}
	return m.Name()
}

// group is a set of components started together, then waited for.
type group struct {
	components []component
	wait       func(ctx context.Context) error
}

func (e *environment) components() []group {
	o := e.o
	return []group{
		{components: []component{{name: "config-hub", run: e.runHub}}},
		{components: []component{{name: "embedder", run: e.runEmbedder}}, wait: func(ctx context.Context) error {
			select {
			case <-e.embedReady:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}},
		{components: []component{
			{name: "classifier", run: e.runClassifier},
			{name: "gateway", run: func(ctx context.Context, nc *nats.Conn) error {
				return gatewayservice.Run(ctx, gatewayservice.Options{
					NATS: nc, ExtProcAddr: off(o.ExtProcAddr, xds.DefaultExtProcAddress), APIMode: true, EmbedModel: e.embedModel(),
					Logger: o.Logger.With(slog.String("service", "gateway")), MetricsAddr: off(o.MetricsAddr, "127.0.0.1:9190"),
				})
			}},
		}},
	}
}

func (e *environment) runHub(ctx context.Context, nc *nats.Conn) error {
	o := e.o
	return hub.Run(ctx, hub.Options{
		ConfigPath: o.ConfigPath, NATS: nc, ManagementAddr: o.ManagementAddr, XDSAddr: o.XDSAddr,
		XDS:    xds.Options{ExtProcAddress: off(o.ExtProcAddr, xds.DefaultExtProcAddress)},
		Logger: o.Logger, Instance: "serve", Getenv: o.Getenv,
	})
}

func (e *environment) runEmbedder(ctx context.Context, nc *nats.Conn) error {
	models := make([]embedderserver.Model, len(e.assets.Models))
	for i, l := range e.assets.Models {
		models[i] = embedderserver.Model{Embedder: l.Embedder, Aliases: l.Spec.Aliases, Default: l.Spec.Default, Backend: l.Backend}
	}
	return embedderserver.Run(ctx, embedderserver.Options{
		NATS: nc, Models: models, Logger: e.o.Logger.With(slog.String("service", "embedder")),
		Ready: func(string) { close(e.embedReady) },
	})
}

func (e *environment) runClassifier(ctx context.Context, nc *nats.Conn) error {
	var opts []classifier.Option
	if e.assets.DomainHeadDir != "" {
		opts = append(opts, classifier.WithDomainHeadDir(e.assets.DomainHeadDir))
	}
	return classifierserver.Run(ctx, classifierserver.Options{
		NATS:           nc,
		Embedder:       classifierserver.NewNATSEmbedder(nc, e.embedModel(), 64, 30*time.Second),
		Jailbreak:      e.assets.Guard,
		CompileOptions: opts,
		Logger:         e.o.Logger.With(slog.String("service", "classifier")),
		Instance:       "serve",
	})
}

// off maps "" to def and "off" to "" (disabled).
func off(v, def string) string {
	switch v {
	case "":
		return def
	case "off":
		return ""
	}
	return v
}
