// Package cli implements the semrouter command line: a small registry of
// commands, each a function of (ctx, env, args).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitInvalid = 1 // invalid configuration or a failed operation
	ExitUsage   = 2 // the command line is wrong
)

// Env is what a command runs with.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Logger *slog.Logger
}

// Command is one (sub)command. Name may have several words ("config
// migrate"); Run receives the arguments after the name.
type Command struct {
	Name    string
	Summary string
	// Usage is the argument synopsis shown after the name, e.g. "FILE [--json]".
	Usage string
	Run   func(ctx context.Context, env *Env, args []string) error
}

// Registry holds the commands of the CLI.
type Registry struct {
	cmds []*Command
}

// Register adds a command; later issues add serve, eval, embed, chat,
// devllm, config envoy and config xds here.
func (r *Registry) Register(c *Command) {
	r.cmds = append(r.cmds, c)
	sort.Slice(r.cmds, func(i, j int) bool { return r.cmds[i].Name < r.cmds[j].Name })
}

// lookup finds the command whose name words are the longest prefix of args.
func (r *Registry) lookup(args []string) (*Command, []string) {
	var best *Command
	bestLen := 0
	for _, c := range r.cmds {
		words := strings.Fields(c.Name)
		if len(words) <= len(args) && len(words) > bestLen && equalWords(words, args[:len(words)]) {
			best, bestLen = c, len(words)
		}
	}
	if best == nil {
		return nil, args
	}
	return best, args[bestLen:]
}

// group lists the commands under a name prefix ("config" lists "config migrate").
func (r *Registry) group(prefix []string) []*Command {
	var out []*Command
	for _, c := range r.cmds {
		words := strings.Fields(c.Name)
		if len(words) > len(prefix) && equalWords(words[:len(prefix)], prefix) {
			out = append(out, c)
		}
	}
	return out
}

func equalWords(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// NewRegistry returns the registry with every built-in command.
func NewRegistry() *Registry {
	r := &Registry{}
	r.Register(versionCommand())
	r.Register(validateCommand())
	r.Register(migrateCommand())
	RegisterEmbed(r)
	r.Register(configEnvoyCommand())
	r.Register(configXDSCommand())
	r.Register(devllmCommand())
	r.Register(serveCommand())
	r.Register(evalCommand())
	r.Register(chatCommand())
	r.Register(replayCommand())
	registerQualityCommands(r)
	r.Register(benchE2ECommand())
	return r
}

// exitError carries an exit code. reported means the message was already
// written to stderr.
type exitError struct {
	code     int
	err      error
	reported bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a command-line mistake (exit 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// reported wraps an error whose details the command already printed.
func reported(code int, err error) error {
	return &exitError{code: code, err: err, reported: true}
}

// ExitCode maps an error returned by Run to the process exit code.
func ExitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitInvalid
}

// Run runs the command line args (without the program name). Errors are
// reported on stderr; the returned error gives the exit code (ExitCode).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	env := &Env{
		Stdout: stdout,
		Stderr: stderr,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	reg := NewRegistry()
	err := reg.run(ctx, env, args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		var ee *exitError
		if !errors.As(err, &ee) || !ee.reported {
			fmt.Fprintf(stderr, "semrouter: %v\n", err)
			if ExitCode(err) == ExitUsage {
				fmt.Fprintln(stderr, "Run 'semrouter --help' for usage.")
			}
		}
	}
	return err
}

func (r *Registry) run(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		r.usage(env.Stderr)
		return reported(ExitUsage, errors.New("no command given"))
	}
	switch args[0] {
	case "-h", "--help", "help":
		if args[0] == "help" && len(args) > 1 {
			return r.run(ctx, env, append(args[1:], "--help"))
		}
		r.usage(env.Stdout)
		return flag.ErrHelp
	case "--version", "-version":
		args = []string{"version"}
	}
	cmd, rest := r.lookup(args)
	if cmd == nil {
		prefix := leadingWords(args)
		for len(prefix) > 1 && len(r.group(prefix)) == 0 {
			prefix = prefix[:len(prefix)-1]
		}
		if sub := r.group(prefix); len(sub) > 0 {
			w := env.Stderr
			helpWanted := len(args) > len(prefix) && isHelp(args[len(prefix)])
			if helpWanted {
				w = env.Stdout
			}
			fmt.Fprintf(w, "Usage: semrouter %s <command> [flags]\n\nCommands:\n", strings.Join(prefix, " "))
			listCommands(w, sub)
			if helpWanted {
				return flag.ErrHelp
			}
			if len(args) > len(prefix) {
				return usageErrorf("unknown command %q", strings.Join(args[:len(prefix)+1], " "))
			}
			return reported(ExitUsage, fmt.Errorf("%s needs a subcommand", strings.Join(prefix, " ")))
		}
		return usageErrorf("unknown command %q", args[0])
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return cmd.Run(ctx, env, rest)
}

func isHelp(s string) bool { return s == "-h" || s == "--help" || s == "-help" }

// leadingWords returns the non-flag words at the start of args.
func leadingWords(args []string) []string {
	for i, a := range args {
		if strings.HasPrefix(a, "-") {
			return args[:i]
		}
	}
	return args
}

func (r *Registry) usage(w io.Writer) {
	fmt.Fprintf(w, "semrouter: a semantic router for LLM traffic.\n\nUsage: semrouter <command> [flags]\n\nCommands:\n")
	listCommands(w, r.cmds)
	fmt.Fprintf(w, "\nRun 'semrouter <command> --help' for the flags of a command.\nExit codes: 0 ok, 1 invalid configuration or failure, 2 usage error.\n")
}

func listCommands(w io.Writer, cmds []*Command) {
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.Name))
	}
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Summary)
	}
}

// newFlagSet returns a silent flag set for cmd; parseFlags reports.
func newFlagSet(cmd *Command) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments, and
// returns the positional arguments. -h/--help prints the command's help
// to stdout and returns flag.ErrHelp; other mistakes are usage errors.
func parseFlags(env *Env, cmd *Command, fs *flag.FlagSet, args []string, describe string) ([]string, error) {
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			printHelp(env.Stdout, cmd, fs, describe)
			return nil, flag.ErrHelp
		}
		if err != nil {
			return nil, usageErrorf("%s: %v", cmd.Name, err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		// "--" ends flags: everything after it is positional
		if len(args) > 0 && len(args)-fs.NArg() > 0 && args[len(args)-fs.NArg()-1] == "--" {
			return append(pos, fs.Args()...), nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func printHelp(w io.Writer, cmd *Command, fs *flag.FlagSet, describe string) {
	fmt.Fprintf(w, "Usage: semrouter %s %s\n\n%s\n", cmd.Name, cmd.Usage, describe)
	has := false
	fs.VisitAll(func(*flag.Flag) { has = true })
	if !has {
		return
	}
	fmt.Fprintf(w, "\nFlags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		name := "--" + f.Name
		if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); !isBool {
			name += " " + strings.ToUpper(f.Name)
		}
		fmt.Fprintf(w, "  %s\n        %s%s\n", name, f.Usage, defaultNote(f))
	})
}

// defaultNote is " (default V)" for a flag whose default is not its type's
// zero value and whose usage text does not already name a default.
func defaultNote(f *flag.Flag) string {
	switch f.DefValue {
	case "", "0", "0s", "false":
		return ""
	}
	if strings.Contains(f.Usage, "default") {
		return ""
	}
	return fmt.Sprintf(" (default %s)", f.DefValue)
}
