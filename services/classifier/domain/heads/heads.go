// Package heads ships the trained domain heads (plain numbers learned by
// `semrouter train domain` on the MMLU-Pro train split) inside the binary,
// one per embedding model, so a deployed classifier needs no extra files.
package heads

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/semrouter/semrouter/services/classifier/domain"
)

//go:embed *.json
var files embed.FS

// Shipped returns the head trained for model, or ok=false when none ships.
func Shipped(model string) (h *domain.Head, ok bool, err error) {
	data, err := files.ReadFile(model + ".json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	h, err = domain.ReadHead(bytes.NewReader(data))
	if err != nil {
		return nil, false, fmt.Errorf("shipped domain head for %q: %w", model, err)
	}
	if h.Model != model {
		return nil, false, fmt.Errorf("shipped domain head %s.json was trained on %q", model, h.Model)
	}
	return h, true, nil
}
