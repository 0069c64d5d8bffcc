// Package pretrainedtest helps tests that need the knn data built into the
// binary (package pretrained).
package pretrainedtest

import (
	"os"
	"testing"

	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/engine/selection/pretrained"
)

// Require returns the shipped data for model. When none was built (make
// setup builds it from the datasets) it fails under CI and skips elsewhere.
func Require(tb testing.TB, model string) *selection.KNNBank {
	tb.Helper()
	b, ok, err := pretrained.Shipped(model)
	switch {
	case err != nil:
		tb.Fatalf("shipped %s knn data: %v", model, err)
	case !ok && os.Getenv("CI") != "":
		tb.Fatalf("CI is set but no %s knn data was built into the binary (make setup builds it)", model)
	case !ok:
		tb.Skipf("skipping: no %s knn data built in (run make setup with the datasets)", model)
	}
	return b
}
