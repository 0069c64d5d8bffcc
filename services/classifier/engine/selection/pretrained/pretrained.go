// Package pretrained ships the knn model-selection data built by
// `semrouter train selection` inside the binary, one file per embedding
// model, so a deployed classifier needs no extra files for
// `algorithm: {type: knn}`. The files are built into data/ by
// `make setup` (scripts/setup-selection.sh) from the datasets and are not
// committed; a binary built without them has no shipped data.
//
// data/use-lite.knn holds the 8,423 MMLU-Pro train questions embedded with
// use-lite (int8, one scale per row) and two outcome columns:
// small-chat (llama-3.1-8b-instruct's outcomes) and big-reasoner
// (gpt-4o-2024-05-13's), the quickstart's model names.
package pretrained

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/semrouter/semrouter/services/classifier/engine/selection"
)

// files is data/: README.md always, the .knn files once setup built them.
//
//go:embed data
var files embed.FS

// Shipped returns the knn data built for the embedding model, or ok=false
// when none ships.
func Shipped(model string) (b *selection.KNNBank, ok bool, err error) {
	data, err := files.ReadFile("data/" + model + ".knn")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	b, err = selection.ParseKNNBank(data)
	if err != nil {
		return nil, false, fmt.Errorf("shipped knn data for %q: %w", model, err)
	}
	if b.Meta.EmbeddingModel != model {
		return nil, false, fmt.Errorf("shipped knn data %s.knn was built with %q", model, b.Meta.EmbeddingModel)
	}
	return b, true, nil
}
