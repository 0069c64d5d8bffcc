package heads

import (
	"testing"

	"github.com/semrouter/semrouter/services/classifier/domain"
)

func TestShippedHeadsLoad(t *testing.T) {
	for _, model := range []string{"use-lite", "glove-sif-100d"} {
		h, ok, err := Shipped(model)
		if err != nil || !ok {
			t.Fatalf("%s: ok=%v err=%v", model, ok, err)
		}
		if len(h.Labels) != len(domain.Categories()) {
			t.Fatalf("%s: %d labels", model, len(h.Labels))
		}
	}
	if _, ok, err := Shipped("no-such-model"); ok || err != nil {
		t.Fatalf("unknown model: ok=%v err=%v", ok, err)
	}
}
