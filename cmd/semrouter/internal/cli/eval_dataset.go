package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/quality"
	"github.com/semrouter/semrouter/services/embedder-gpu/embedding"
)

// evalOptions are the flags of eval dataset.
type evalOptions struct {
	task      string
	data      string
	split     string
	config    string
	model     string
	head      string
	asJSON    bool
	report    string
	limit     int
	latencyN  int
	weak      string
	strong    string
	threshold float64
	// configStrong lists the config models counted as strong calls.
	configStrong string
	// domainThreshold and fallback come from --config
	// (global.model_catalog.modules.classifier.domain): predictions below
	// the threshold become the fallback category, as in the router.
	domainThreshold float64
	fallback        string
}

func evalDatasetCommand() *Command {
	c := &Command{Name: "eval dataset", Summary: "measure routing quality on a public dataset",
		Usage: "--task domain|jailbreak|cache|routing [--data PATH] [--split dev|test] [--model M] [--json] [--report DIR] [--limit N]"}
	c.Run = func(ctx context.Context, env *Env, args []string) error {
		var o evalOptions
		fs := newFlagSet(c)
		fs.StringVar(&o.task, "task", "", "what to evaluate: domain, jailbreak, cache or routing")
		fs.StringVar(&o.data, "data", "", "dataset file or folder (default: the task's folder under $SEMROUTER_DATASETS or ../shared/datasets)")
		fs.StringVar(&o.split, "split", "dev", "dev or test (test is for final figures only); routing also takes train: 5-fold cross-validation within train, for the knob search")
		fs.StringVar(&o.config, "config", "", "v0.3 config. domain: its domain threshold and fallback_category are applied to the predictions; routing: the compiled config classifies every question and its operating point is reported")
		fs.StringVar(&o.model, "model", embedding.ModelUSELite, "embedding model (a folder under .cache/models)")
		fs.StringVar(&o.head, "head", "", "domain head file (default services/classifier/domain/heads/<model>.json)")
		fs.BoolVar(&o.asJSON, "json", false, "print the summary as JSON on stdout")
		fs.StringVar(&o.report, "report", "", "write report.md and PNG plots into this folder")
		fs.IntVar(&o.limit, "limit", 0, "evaluate at most N items (cache: pairs, default 4000; 0: task default)")
		fs.IntVar(&o.latencyN, "latency-samples", 300, "domain: items timed one by one (embedding + head) for p50/p99")
		fs.StringVar(&o.weak, "weak", "", "routing: weak model (default llama-3.1-8b-instruct; RouteLLM: Mixtral)")
		fs.StringVar(&o.strong, "strong", "", "routing: strong model (default gpt-4o; RouteLLM: gpt-4-1106-preview)")
		fs.StringVar(&o.configStrong, "config-strong", "", "routing with --config: comma-separated config models counted as strong calls (default: every model but providers.defaults.default_model)")
		fs.Float64Var(&o.threshold, "threshold", 0.5, "jailbreak: score at and above which a prompt is an attack")
		pos, err := parseFlags(env, c, fs, args, "Evaluates one learned part of the router on public data and prints the\nfigures (--json: a JSON summary). Long runs show a progress bar on stderr.\nEmbeddings are cached under .cache/eval/ (keyed by model and texts).\n\nTasks:\n  domain     MMLU-Pro category accuracy, macro-F1, per-category F1, latency\n  jailbreak  precision/recall/F1/FPR on warden_test, recall on jbb_attacks\n  cache      QQP duplicate detection by cosine: precision/recall vs threshold\n  routing    accuracy vs strong-call fraction of a domain-head router\n             against random, always-weak/strong and the oracle")
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usageErrorf("eval dataset takes no arguments, got %q", strings.Join(pos, " "))
		}
		if o.limit < 0 {
			return usageErrorf("--limit must not be negative")
		}
		if o.split != "dev" && o.split != "test" && (o.task != "routing" || o.split != "train") {
			return usageErrorf("--split must be dev or test (routing also takes train: cross-validation within it), got %q", o.split)
		}
		q, err := newQualityEnv("")
		if err != nil {
			return err
		}
		if o.config != "" {
			cfg, _, err := config.Load(o.config)
			if err != nil {
				return err
			}
			if m := cfg.Global.ModelCatalog.Modules; m != nil && m.Classifier != nil && m.Classifier.Domain != nil {
				o.domainThreshold = m.Classifier.Domain.Threshold
				o.fallback = m.Classifier.Domain.FallbackCategory
			}
		}
		var summary any
		var rep *quality.Report
		switch o.task {
		case "domain":
			summary, rep, err = evalDomain(ctx, env, q, o)
		case "jailbreak":
			summary, rep, err = evalJailbreak(ctx, env, q, o)
		case "cache":
			summary, rep, err = evalCache(ctx, env, q, o)
		case "routing":
			summary, rep, err = evalRouting(ctx, env, q, o)
		case "":
			return usageErrorf("--task is required (domain, jailbreak, cache or routing)")
		default:
			return usageErrorf("unknown --task %q (want domain, jailbreak, cache or routing)", o.task)
		}
		if err != nil {
			return err
		}
		if o.report != "" {
			if err := rep.Write(o.report); err != nil {
				return err
			}
			fmt.Fprintf(env.Stderr, "report written to %s\n", filepath.Join(o.report, "report.md"))
		}
		if o.asJSON {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(summary)
		}
		fmt.Fprint(env.Stdout, rep.Markdown())
		return nil
	}
	return c
}

// dataPath returns --data, else def joined under the datasets folder.
func (q *qualityEnv) dataPath(o evalOptions, def ...string) string {
	if o.data != "" {
		return o.data
	}
	return filepath.Join(append([]string{q.datasets}, def...)...)
}

// isDir reports whether path is a folder.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
