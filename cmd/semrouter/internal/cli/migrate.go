package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/semrouter/semrouter/pkg/config"
)

func migrateCommand() *Command {
	c := &Command{
		Name:    "config migrate",
		Summary: "convert a legacy configuration to canonical v0.3",
		Usage:   "--config OLD [--output NEW] [--force]",
	}
	c.Run = func(_ context.Context, env *Env, args []string) error {
		fset := newFlagSet(c)
		in := fset.String("config", "", "the legacy configuration (v0.1 flat, v0.2 CLI, operator spec.config or a SemanticRouter manifest)")
		out := fset.String("output", "", "write the v0.3 configuration to this file instead of stdout")
		force := fset.Bool("force", false, "overwrite --output if it exists")
		pos, err := parseFlags(env, c, fset, args, "Converts OLD to the canonical v0.3 layout. Notes about renamed,\nsynthesised or dropped keys are printed as warnings on stderr. The result\nis validated; nothing is written when it does not validate.")
		if err != nil {
			return err
		}
		if len(pos) > 0 {
			return usageErrorf("config migrate takes no positional arguments (use --config)")
		}
		if *in == "" {
			return usageErrorf("config migrate needs --config OLD")
		}
		data, err := os.ReadFile(*in)
		if err != nil {
			return fmt.Errorf("read config: %w", err)
		}
		shape, _ := config.DetectShape(data)
		yml, probs, migErr := config.Migrate(data)
		for _, p := range probs.Warnings() {
			fmt.Fprintf(env.Stderr, "warning: %s\n", p.Error())
		}
		for _, p := range probs.Errors() {
			fmt.Fprintln(env.Stderr, p.Error())
		}
		if n := len(probs.Errors()); migErr != nil && n > 0 {
			fmt.Fprintf(env.Stderr, "%s: the migrated configuration does not validate (%d errors); nothing written\n", *in, n)
			return reported(ExitInvalid, fmt.Errorf("migrate %s: %w", *in, migErr))
		}
		if migErr != nil {
			return fmt.Errorf("migrate %s: %w", *in, migErr)
		}
		if *out == "" {
			_, err := env.Stdout.Write(yml)
			return err
		}
		if err := writeOutput(*out, yml, *force); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "migrated %s (%s) to %s\n", *in, shape, *out)
		return nil
	}
	return c
}

// writeOutput writes data to path; without force it refuses to replace an
// existing file (checked atomically with O_EXCL).
func writeOutput(path string, data []byte, force bool) error {
	if !force {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			return usageErrorf("refusing to overwrite %s (use --force)", path)
		}
		if err != nil {
			return fmt.Errorf("create output: %w", err)
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return fmt.Errorf("write output: %w", err)
		}
		return f.Close()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".semrouter-migrate-*")
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write output: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write output: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace output: %w", err)
	}
	return nil
}
