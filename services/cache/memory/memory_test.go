package memory

import (
	"testing"

	"github.com/semrouter/semrouter/services/cache"
	"github.com/semrouter/semrouter/services/cache/cachetest"
)

func TestBackendContract(t *testing.T) {
	cachetest.RunBackendSuite(t, func(t *testing.T, opts cache.Options) cache.Backend {
		b, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}
