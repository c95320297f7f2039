package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/vigilhq/vigil/alert"
)

var errUsage = errors.New("usage")

// exitCode is an error that carries a specific exit status.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func asExit(err error, target *exitCode) bool { return errors.As(err, target) }

// newFlags makes a flag set whose errors go to the command's stderr.
func newFlags(env *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("vigil "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parse reads flags, first from VIGIL_* environment variables and then
// from args, so the command line wins. A bad environment value is an
// error naming the variable.
func parse(env *Env, fs *flag.FlagSet, args []string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := "VIGIL_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := env.Getenv(name); v != "" && err == nil {
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("%s: %v", name, serr)
			}
		}
	})
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errUsage
		}
		return errUsage
	}
	return nil
}

// daysFlag is a duration flag that also takes whole days ("2557d"), as
// retention periods are written; alert.ParseDuration reads it.
type daysFlag struct{ d *time.Duration }

func (f daysFlag) String() string {
	if f.d == nil {
		return ""
	}
	return alert.Duration(*f.d).String()
}

func (f daysFlag) Set(s string) error {
	d, err := alert.ParseDuration(s)
	if err != nil {
		return err
	}
	*f.d = time.Duration(d)
	return nil
}
