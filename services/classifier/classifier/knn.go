package classifier

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/engine/selection"
	"github.com/semrouter/semrouter/services/classifier/engine/selection/pretrained"
)

// knnSettings loads the pretrained data and knobs of knn selection when a
// decision chooses with it: the file at ml.knn.pretrained_path, else the
// data built into the binary for the embedding model. With neither, knn
// decisions use their first modelRef and say why. nil when no decision
// needs them.
func (c *Classifier) knnSettings(cfg *config.Config, logger *slog.Logger, probs *problems) *selection.KNNConfig {
	if !cfg.AnyDecision((*config.Decision).ChoosesWithKNN) {
		return nil
	}
	out := c.loadKNN(cfg, probs)
	if out.Bank == nil && out.Unavailable != "" {
		logger.Warn("knn decisions will use their first modelRef", slog.String("reason", out.Unavailable))
	}
	return out
}

// loadKNN reads the knn data (the file at ml.knn.pretrained_path, else the
// shipped data for the embedding model) and knobs; problems with a
// configured file go to probs.
func (c *Classifier) loadKNN(cfg *config.Config, probs *problems) *selection.KNNConfig {
	out := &selection.KNNConfig{}
	out.Gap, out.HasGap = cfg.QualityGap()
	ml := cfg.MLSettings()
	if ml != nil && ml.KNN != nil {
		out.K = ml.KNN.K
	}
	if path, _ := cfg.KNNPretrainedPath(); path != "" {
		b, err := readKNNFile(path)
		if err != nil {
			probs.add(config.PathKNNPretrained, err)
			return out
		}
		if c.embedModel != "" && b.Meta.EmbeddingModel != c.embedModel {
			probs.add(config.PathKNNPretrained, fmt.Errorf("pretrained knn file %q was built with embedding model %q, the embedder is %q", path, b.Meta.EmbeddingModel, c.embedModel))
			return out
		}
		out.Bank = b
	} else {
		b, ok, err := pretrained.Shipped(c.embedModel)
		switch {
		case err != nil:
			probs.errs = append(probs.errs, err)
			return out
		case !ok:
			out.Unavailable = fmt.Sprintf("knn: no pretrained data for embedding model %q (set %s); used the first modelRef", c.embedModel, config.PathKNNPretrained)
			return out
		}
		out.Bank = b
	}
	if ml != nil && ml.EmbeddingDim > 0 && ml.EmbeddingDim != out.Bank.Meta.Dims {
		probs.add(config.PathMLEmbedDim, fmt.Errorf("embedding_dim %d, but the pretrained knn data has %d dimensions", ml.EmbeddingDim, out.Bank.Meta.Dims))
	}
	if c.dims != 0 && c.dims != out.Bank.Meta.Dims {
		probs.add(config.PathKNNPretrained, fmt.Errorf("the pretrained knn data has %d dimensions, the embedder %d", out.Bank.Meta.Dims, c.dims))
	}
	return out
}

func readKNNFile(path string) (*selection.KNNBank, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open pretrained knn file: %w", err)
	}
	defer f.Close()
	b, err := selection.ReadKNNBank(f)
	if err != nil {
		return nil, fmt.Errorf("read pretrained knn file %q: %w", path, err)
	}
	return b, nil
}
