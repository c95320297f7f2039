package main

import (
	"context"
	"fmt"
)

func runLedger(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, "usage: vigil ledger key|export --data DIR [flags]")
		return errUsage
	}
	switch args[0] {
	case "key":
		fs := newFlags(env, "ledger key")
		data := fs.String("data", "./vigil-data", "data directory")
		if err := parse(env, fs, args[1:]); err != nil {
			return err
		}
		d, err := openData(ctx, *data, offlineData(env))
		if err != nil {
			return err
		}
		defer d.close()
		fmt.Fprintln(env.Stdout, d.verifierKey)
		return nil
	case "export":
		return ledgerExport(ctx, env, args[1:])
	}
	fmt.Fprintf(env.Stderr, "vigil ledger: unknown subcommand %q (key, export)\n", args[0])
	return errUsage
}
