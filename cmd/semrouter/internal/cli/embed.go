package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/semrouter/semrouter/services/embedder-gpu/catalog"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
	"github.com/semrouter/semrouter/services/embedder-gpu/ortrt"
)

// RegisterEmbed adds the embed command to r.
func RegisterEmbed(r *Registry) { r.Register(embedCommand()) }

// embedVectors is the --json output of embed.
type embedVectors struct {
	Model   string      `json:"model"`
	Dims    int         `json:"dims"`
	Vectors [][]float32 `json:"vectors"`
}

// embedSimilarity is the --json --similarity output of embed.
type embedSimilarity struct {
	Model      string      `json:"model"`
	Texts      []string    `json:"texts"`
	Similarity [][]float64 `json:"similarity"`
}

const embedDescribe = `Embeds TEXTs in this process (ONNX Runtime, no NATS) and prints one vector
per text, or with --similarity the cosine similarity of every pair and the
other texts ranked by similarity to the first.

MODEL is a built model (use-lite, glove-sif-100d; scripts/setup-models.sh
builds them under .cache/models) or a sentence-transformers ONNX folder.`

func embedCommand() *Command {
	c := &Command{Name: "embed", Summary: "embed texts with a local model and print vectors or similarities",
		Usage: "[--model MODEL] [--json] [--similarity] TEXT..."}
	c.Run = func(ctx context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		model := fs.String("model", embedding.ModelUSELite, "model name or folder")
		asJSON := fs.Bool("json", false, "print JSON")
		similarity := fs.Bool("similarity", false, "print the cosine similarity matrix instead of the vectors")
		modelsDir := fs.String("models-dir", "", "folder of the built models (default $SEMROUTER_MODELS_DIR or .cache/models of the checkout)")
		device := fs.String("device", string(ortrt.DeviceCPU), "execution provider: cpu, cuda or auto")
		dims := fs.Int("dims", 0, "truncate vectors to this many dimensions (re-normalised)")
		texts, err := parseFlags(env, c, fs, args, embedDescribe)
		if err != nil {
			return err
		}
		if len(texts) == 0 {
			return usageErrorf("embed: give at least one TEXT")
		}
		for i, t := range texts {
			if strings.TrimSpace(t) == "" {
				return usageErrorf("embed: TEXT %d is empty", i+1)
			}
		}
		if *similarity && len(texts) < 2 {
			return usageErrorf("embed: --similarity needs at least two TEXTs")
		}
		if *dims < 0 {
			return usageErrorf("embed: --dims %d must not be negative", *dims)
		}
		switch ortrt.Device(*device) {
		case ortrt.DeviceAuto, ortrt.DeviceCPU, ortrt.DeviceCUDA:
		default:
			return usageErrorf("embed: --device %q: want cpu, cuda or auto", *device)
		}
		vecs, name, err := embedLocal(ctx, env, *model, *modelsDir, ortrt.Device(*device), *dims, texts)
		if err != nil {
			return err
		}
		if *similarity {
			return printEmbedSimilarity(env.Stdout, name, texts, vecs, *asJSON)
		}
		if *asJSON {
			return writeEmbedJSON(env.Stdout, embedVectors{Model: name, Dims: len(vecs[0]), Vectors: vecs})
		}
		for i, v := range vecs {
			fmt.Fprintf(env.Stdout, "%s\t%s\n", strconv.Quote(texts[i]), formatEmbedVector(v))
		}
		return nil
	}
	return c
}

// embedLocal loads the model in-process and embeds texts.
func embedLocal(ctx context.Context, env *Env, model, modelsDir string, device ortrt.Device, dims int, texts []string) ([][]float32, string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, "", err
	}
	if modelsDir == "" {
		if modelsDir, err = embedding.ResolveModelsDir(os.Getenv, wd); err != nil {
			return nil, "", err
		}
	}
	spec, err := catalog.ParseModelArg(model, modelsDir, device)
	if err != nil {
		return nil, "", err
	}
	spec.Dims = dims
	lib, err := ortrt.ResolveLibraryPath(os.Getenv, wd)
	if err != nil {
		return nil, "", err
	}
	rt, err := ortrt.Open(env.Logger, lib)
	if err != nil {
		return nil, "", fmt.Errorf("%w (run scripts/setup-ort.sh or set %s)", err, ortrt.EnvLibrary)
	}
	defer rt.Close()
	loaded, err := catalog.Load(ctx, env.Logger, rt, catalog.Plan{Specs: []catalog.Spec{spec}}, catalog.LoadOptions{})
	if err != nil {
		return nil, "", err
	}
	defer catalog.CloseAll(loaded)
	m := loaded[0].Embedder
	vecs, info, err := m.Embed(ctx, texts)
	if err != nil {
		return nil, "", err
	}
	for i, cut := range info.Truncated {
		if cut {
			env.Logger.Warn("text truncated", "text", i+1, "model", m.Name(), "max_tokens", m.MaxTokens())
		}
	}
	return vecs, m.Name(), nil
}

func printEmbedSimilarity(w io.Writer, model string, texts []string, vecs [][]float32, asJSON bool) error {
	n := len(vecs)
	sim := make([][]float64, n)
	for i := range sim {
		sim[i] = make([]float64, n)
		for j := range sim[i] {
			sim[i][j] = embedding.Cosine(vecs[i], vecs[j])
		}
	}
	if asJSON {
		return writeEmbedJSON(w, embedSimilarity{Model: model, Texts: texts, Similarity: sim})
	}
	fmt.Fprintf(w, "cosine similarity (%s)\n\n     ", model)
	for j := range n {
		fmt.Fprintf(w, " %7s", "["+strconv.Itoa(j+1)+"]")
	}
	fmt.Fprintln(w)
	for i := range n {
		fmt.Fprintf(w, "%-5s", "["+strconv.Itoa(i+1)+"]")
		for j := range n {
			fmt.Fprintf(w, " %7.4f", sim[i][j])
		}
		fmt.Fprintf(w, "  %s\n", texts[i])
	}
	order := make([]int, 0, n-1)
	for j := 1; j < n; j++ {
		order = append(order, j)
	}
	sort.SliceStable(order, func(a, b int) bool { return sim[0][order[a]] > sim[0][order[b]] })
	fmt.Fprintf(w, "\nclosest to [1] %q:\n", texts[0])
	for rank, j := range order {
		fmt.Fprintf(w, "  %d. [%d] %.4f  %s\n", rank+1, j+1, sim[0][j], texts[j])
	}
	return nil
}

func formatEmbedVector(v []float32) string {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', 6, 32))
	}
	return b.String()
}

func writeEmbedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	return enc.Encode(v)
}
