package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/semrouter/semrouter/cmd/semrouter/internal/assets"
	"github.com/semrouter/semrouter/pkg/config"
	"github.com/semrouter/semrouter/services/classifier/classifier"
	"github.com/semrouter/semrouter/services/classifier/heuristic"
	"github.com/semrouter/semrouter/services/classifier/server"
)

type evalMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

func evalCommand() *Command {
	c := &Command{
		Name:    "eval",
		Summary: "show how the router classifies one prompt: signals, projections, decision",
		Usage:   "--config FILE (--prompt TEXT | --messages JSON) [--model NAME] [--json] [--all]",
	}
	c.Run = func(ctx context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		file := fs.String("config", "", "the v0.3 configuration")
		prompt := fs.String("prompt", "", "one user message")
		messages := fs.String("messages", "", `a JSON array of chat messages, e.g. [{"role":"user","content":"hi"}]`)
		model := fs.String("model", "auto", "the requested model (an auto name or an entrypoint name)")
		user := fs.String("user", "", "the caller's user id (for role bindings)")
		groups := fs.String("groups", "", "the caller's groups, comma-separated")
		asJSON := fs.Bool("json", false, "print the result as JSON")
		all := fs.Bool("all", false, "also list the rules that did not match, with their scores")
		pos, err := parseFlags(env, c, fs, args, "Runs the embedder and the classifier in-process (no running system needed)\nand prints the matched signals, projection outputs, the decision, the model,\nreasoning and confidence.")
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usageErrorf("eval takes no positional arguments (quote the prompt: --prompt \"...\")")
		}
		if *file == "" || (*prompt == "") == (*messages == "") {
			return usageErrorf("eval needs --config FILE and exactly one of --prompt or --messages")
		}
		var msgs []heuristic.Message
		if *prompt != "" {
			msgs = []heuristic.Message{{Role: heuristic.RoleUser, Text: *prompt}}
		} else {
			var in []evalMessage
			if err := json.Unmarshal([]byte(*messages), &in); err != nil {
				return usageErrorf("--messages is not a JSON array of {role, content}: %v", err)
			}
			for _, m := range in {
				msgs = append(msgs, heuristic.Message{Role: heuristic.Role(strings.ToLower(m.Role)), Text: m.Content})
			}
		}
		cfg, err := loadValid(env, *file)
		if err != nil {
			return err
		}
		res, err := classifyOnce(ctx, env, cfg, *file, &classifier.Request{Messages: msgs, Model: *model, User: *user, Groups: splitList(*groups), IncludeUnmatched: *all})
		if err != nil {
			return err
		}
		out := server.NewEvalResponse(res)
		if *asJSON {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}
		printEval(env.Stdout, out)
		return nil
	}
	return c
}

// classifyOnce compiles the config with the real models and classifies one
// request, embedding its last user turn with the classifier's model.
func classifyOnce(ctx context.Context, env *Env, cfg *config.Config, path string, req *classifier.Request) (*classifier.Result, error) {
	a, err := assets.Load(ctx, cfg, path, assets.Options{Logger: env.Logger})
	if err != nil {
		return nil, err
	}
	defer a.Close()
	m, err := a.Default()
	if err != nil {
		return nil, err
	}
	emb := assets.Embedder{M: m}
	opts := []classifier.Option{classifier.WithLogger(env.Logger)}
	if a.Guard != nil {
		opts = append(opts, classifier.WithJailbreakScorer(a.Guard))
	}
	if a.DomainHeadDir != "" {
		opts = append(opts, classifier.WithDomainHeadDir(a.DomainHeadDir))
	}
	c, err := classifier.Compile(ctx, cfg, emb, opts...)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", path, err)
	}
	var users []string
	for _, msg := range req.Messages {
		if msg.Role == heuristic.RoleUser {
			users = append(users, msg.Text)
		}
	}
	if len(users) > 0 {
		// Newest first: the current turn, then earlier ones for re-asks.
		texts := make([]string, len(users))
		for i := range users {
			texts[i] = users[len(users)-1-i]
		}
		vecs, err := emb.Embed(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("embed the prompt: %w", err)
		}
		req.Query, req.History = vecs[0], vecs[1:]
	}
	return c.Classify(ctx, req)
}

func printEval(w io.Writer, out server.EvalResponse) {
	d := out.Decision
	name := d.Name
	if d.IsDefault || name == "" {
		name = "(none matched: default model)"
	}
	fmt.Fprintf(w, "decision:   %s (confidence %.3f)\n", name, d.Confidence)
	fmt.Fprintf(w, "model:      %s", d.Model)
	if d.ProviderModelID != "" && d.ProviderModelID != d.Model {
		fmt.Fprintf(w, " (provider id %s)", d.ProviderModelID)
	}
	fmt.Fprintln(w)
	reasoning := "off"
	if d.UseReasoning {
		reasoning = "on"
		if d.ReasoningEffort != "" {
			reasoning += ", effort " + d.ReasoningEffort
		}
	}
	fmt.Fprintf(w, "reasoning:  %s\n", reasoning)
	if len(d.ModelScores) > 0 {
		parts := make([]string, len(d.ModelScores))
		for i, m := range d.ModelScores {
			parts[i] = fmt.Sprintf("%s %.3f", m.Model, m.Score)
		}
		fmt.Fprintf(w, "scores:     %s\n", strings.Join(parts, ", "))
	}
	if d.LoRAName != "" {
		fmt.Fprintf(w, "lora:       %s\n", d.LoRAName)
	}
	for _, p := range d.Plugins {
		fmt.Fprintf(w, "plugin:     %s\n", p.Type)
	}
	families := make([]string, 0, len(out.Signals))
	for f := range out.Signals {
		families = append(families, f)
	}
	sort.Strings(families)
	fmt.Fprintln(w, "signals:")
	for _, f := range families {
		for _, s := range out.Signals[f] {
			mark := " "
			if s.Matched {
				mark = "✓"
			}
			fmt.Fprintf(w, "  %s %s:%s  confidence %.3f  value %.3f\n", mark, f, s.Name, s.Confidence, s.Value)
		}
	}
	if len(out.Projections.Outputs) > 0 || len(out.Projections.Scores) > 0 {
		fmt.Fprintln(w, "projections:")
		for _, k := range sortedKeys(out.Projections.Scores) {
			fmt.Fprintf(w, "  score %s = %.3f\n", k, out.Projections.Scores[k])
		}
		for _, k := range sortedKeys(out.Projections.Outputs) {
			fmt.Fprintf(w, "  output %s (confidence %.3f)\n", k, out.Projections.Outputs[k])
		}
	}
	for _, dg := range out.Degraded {
		fmt.Fprintf(w, "degraded:   %s %s: %s\n", dg.Stage, dg.Family, dg.Error)
	}
}

func sortedKeys(m map[string]float64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
