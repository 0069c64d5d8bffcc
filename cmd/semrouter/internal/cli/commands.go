package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/semrouter/semrouter/pkg/config"
)

// version is set at link time:
//
//	go build -ldflags "-X github.com/semrouter/semrouter/cmd/semrouter/internal/cli.version=v0.3.0"
//
// It is never written at run time.
var version string

// Version returns the link-time version, else the module version or VCS
// revision recorded in the build, else "dev".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}

func versionCommand() *Command {
	c := &Command{Name: "version", Summary: "print the version", Usage: ""}
	c.Run = func(_ context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		pos, err := parseFlags(env, c, fs, args, "Prints the semrouter version and the Go version it was built with.")
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usageErrorf("version takes no arguments")
		}
		fmt.Fprintf(env.Stdout, "semrouter %s (%s %s/%s)\n", Version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	}
	return c
}

// validateReport is the --json output of validate.
type validateReport struct {
	File     string           `json:"file"`
	Valid    bool             `json:"valid"`
	Error    string           `json:"error,omitempty"`
	Errors   []config.Problem `json:"errors"`
	Warnings []config.Problem `json:"warnings"`
}

func validateCommand() *Command {
	c := &Command{Name: "validate", Summary: "check a v0.3 configuration file", Usage: "FILE [--json]"}
	c.Run = func(_ context.Context, env *Env, args []string) error {
		fs := newFlagSet(c)
		asJSON := fs.Bool("json", false, "print the result as JSON on stdout")
		pos, err := parseFlags(env, c, fs, args, "Strictly decodes and validates FILE. Every error is printed as\n'path: message (line N)'; warnings (accepted features semrouter does not\nimplement yet) are printed too. Exit 0 when valid, 1 when not.")
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageErrorf("validate needs exactly one FILE, got %d", len(pos))
		}
		file := pos[0]
		_, probs, loadErr := config.Load(file)
		rep := validateReport{File: file, Valid: loadErr == nil, Errors: probs.Errors(), Warnings: probs.Warnings()}
		if rep.Errors == nil {
			rep.Errors = []config.Problem{}
		}
		if rep.Warnings == nil {
			rep.Warnings = []config.Problem{}
		}
		if loadErr != nil && len(rep.Errors) == 0 {
			rep.Error = loadErr.Error() // unreadable or not YAML
		}
		if *asJSON {
			enc := json.NewEncoder(env.Stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
		} else {
			for _, p := range rep.Errors {
				fmt.Fprintln(env.Stderr, p.Error())
			}
			for _, p := range rep.Warnings {
				fmt.Fprintf(env.Stderr, "warning: %s\n", p.Error())
			}
			switch {
			case rep.Error != "":
				fmt.Fprintln(env.Stderr, rep.Error)
			case rep.Valid:
				fmt.Fprintf(env.Stdout, "%s: valid (%d warnings)\n", file, len(rep.Warnings))
			default:
				fmt.Fprintf(env.Stderr, "%s: invalid (%d errors, %d warnings)\n", file, len(rep.Errors), len(rep.Warnings))
			}
		}
		if !rep.Valid {
			return reported(ExitInvalid, loadErr)
		}
		return nil
	}
	return c
}
