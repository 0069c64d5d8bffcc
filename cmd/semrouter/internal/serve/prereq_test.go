package serve_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/assets"
	"github.com/semrouter/semrouter/cmd/semrouter/internal/serve"
)

// TestServeOutsideACheckoutFailsBeforeNATS: run from a folder that is not
// a checkout, with no SEMROUTER_* variables, serve says what is missing and
// what to do, and starts nothing: no NATS storage is created and nothing
// is logged about NATS.
func TestServeOutsideACheckoutFailsBeforeNATS(t *testing.T) {
	cfgPath := filepath.Join(repoRoot(t), "deploy", "compose", "config.yaml")
	dir := t.TempDir()
	t.Chdir(dir)
	var log bytes.Buffer
	dataDir := filepath.Join(dir, "data")
	err := serve.Run(context.Background(), serve.Options{
		ConfigPath: cfgPath, DataDir: dataDir, NATSAddr: "127.0.0.1:0",
		ManagementAddr: "off", XDSAddr: "off", ExtProcAddr: "off", MetricsAddr: "off",
		Getenv: func(string) string { return "" },
		Logger: slog.New(slog.NewTextHandler(&log, nil)),
	})
	if !errors.Is(err, assets.ErrPrerequisites) {
		t.Fatalf("err = %v, want ErrPrerequisites", err)
	}
	for _, want := range []string{"make setup", "SEMROUTER_MODELS_DIR", "SEMROUTER_ORT_LIB", "find models folder"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if _, statErr := os.Stat(filepath.Join(dataDir, "nats")); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("NATS storage exists (%v): the embedded server was started", statErr)
	}
	if strings.Contains(log.String(), "NATS") {
		t.Errorf("NATS was started:\n%s", log.String())
	}
}
