// Package operator wires the SemanticRouter controller into a controller-runtime manager.
package operator

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	v1alpha1 "github.com/semrouter/semrouter/services/operator/api/v1alpha1"
	"github.com/semrouter/semrouter/services/operator/internal/controller"
)

// NewScheme registers the built-in kinds and SemanticRouter.
func NewScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("register built-in kinds: %w", err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("register SemanticRouter: %w", err)
	}
	return s, nil
}

// Options are the operator's settings.
type Options struct {
	MetricsAddr    string
	ProbeAddr      string
	LeaderElection bool
	Namespace      string
	LogLevel       slog.Level
}

func parseFlags(args []string, stderr io.Writer) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("operator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.MetricsAddr, "metrics-addr", ":9190", "address of the /metrics endpoint (0 disables it)")
	fs.StringVar(&o.ProbeAddr, "health-addr", ":8081", "address of the /healthz and /readyz endpoints")
	fs.BoolVar(&o.LeaderElection, "leader-elect", false, "elect a leader so that only one replica reconciles")
	fs.StringVar(&o.Namespace, "namespace", "", "watch only this namespace (default: all)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if err := o.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return o, fmt.Errorf("--log-level: %w", err)
	}
	return o, nil
}

// Run starts the operator with the in-cluster (or KUBECONFIG) credentials and
// blocks until ctx ends. -h/--help prints the flags and returns nil.
func Run(ctx context.Context, args []string, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: opts.LogLevel}))
	return RunWithConfig(ctx, cfg, opts, logger)
}

// RunWithConfig runs the manager against cfg until ctx ends.
func RunWithConfig(ctx context.Context, cfg *rest.Config, opts Options, logger *slog.Logger) error {
	ctrl.SetLogger(logr.FromSlogHandler(logger.Handler()))
	scheme, err := NewScheme()
	if err != nil {
		return err
	}
	mopts := ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress: opts.ProbeAddr,
		LeaderElection:         opts.LeaderElection,
		LeaderElectionID:       "semanticrouter.vllm.ai",
	}
	if opts.Namespace != "" {
		mopts.Cache.DefaultNamespaces = map[string]cache.Config{opts.Namespace: {}}
	}
	mgr, err := ctrl.NewManager(cfg, mopts)
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create discovery client: %w", err)
	}
	r := &controller.Reconciler{
		Client:   mgr.GetClient(),
		Reader:   mgr.GetAPIReader(),
		Scheme:   scheme,
		Platform: &controller.DiscoveryPlatform{Client: dc},
		Logger:   logger,
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add ready check: %w", err)
	}
	logger.Info("operator starting", slog.String("namespace", opts.Namespace))
	return mgr.Start(ctx)
}
