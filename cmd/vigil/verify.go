package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// runVerify checks a log with no trust in the server: a bundle file, or a
// running server against a checkpoint saved earlier.
func runVerify(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "verify")
	bundle := fs.String("bundle", "", "bundle file to verify (from vigil ledger export)")
	key := fs.String("key", "", "trusted verifier key (vigil ledger key); also VIGIL_KEY")
	saved := fs.String("checkpoint", "", "a signed checkpoint saved earlier: the log must extend it")
	url := fs.String("url", "", "a running server to check against --checkpoint")
	export := fs.String("export", "", "NDJSON export file to verify (from vigil export or GET /api/v1/exports)")
	save := fs.Bool("save", false, "with --url: replace the saved checkpoint with the current one when it verifies (creating the file on a first run)")
	leaves := fs.String("leaves", "auto", "with --url: "+leavesUsage)
	if err := parse(env, fs, args); err != nil {
		return err
	}
	switch {
	case *export != "" && (*bundle != "" || *url != ""):
		return errors.New("give --export alone")
	case *export != "":
		return verifyExport(env, *export, *key)
	case *bundle != "" && *url != "":
		return errors.New("give --bundle or --url, not both")
	case *url != "":
		if *key == "" {
			return errNoKey
		}
		if *save && *saved == "" {
			return errors.New("--save needs --checkpoint FILE, where the checkpoint is kept")
		}
		plan, err := parseLeafPlan(*leaves)
		if err != nil {
			return err
		}
		apiKey := env.Getenv("VIGIL_API_KEY")
		if apiKey == "" {
			return errors.New("set VIGIL_API_KEY to an auditor key of the server")
		}
		return verifyURL(ctx, env, *url, *saved, *key, apiKey, *save, plan)
	case *bundle != "":
		return verifyBundle(env, *bundle, *key, *saved)
	}
	fmt.Fprintln(env.Stderr, "usage: vigil verify --bundle FILE [--key VKEY] [--checkpoint SAVED]\n       vigil verify --url URL --key VKEY [--checkpoint SAVED [--save]] [--leaves all|none|FROM-TO|sample:N]\n       vigil verify --export FILE [--key VKEY]")
	return errUsage
}

func verifyBundle(env *Env, path, key, savedPath string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	opts := ledger.VerifyOptions{Key: key}
	if savedPath != "" {
		if opts.Saved, err = os.ReadFile(savedPath); err != nil {
			return err
		}
	}
	rep, err := ledger.VerifyBundle(f, opts)
	if err != nil {
		return err
	}
	if rep.KeyFromBundle {
		fmt.Fprintln(env.Stderr, "warning: no --key given; checked against the key the bundle names, which proves nothing about who signed it")
	}
	fmt.Fprintf(env.Stdout, "log %s: %d events and %d checkpoints checked, tree size %d\n", rep.Origin, rep.EventsChecked, rep.CheckpointsChecked, rep.TreeSize)
	printBreaks(env.Stdout, rep.Breaks, rep.BreaksOmitted)
	if !rep.Valid {
		fmt.Fprintf(env.Stdout, "FAIL: %d breaks\n", int64(len(rep.Breaks))+rep.BreaksOmitted)
		return exitCode(1)
	}
	fmt.Fprintln(env.Stdout, "OK: every event, the tree, the checkpoint signatures and their consistency verify")
	return nil
}

// printBreaks lists what a verification found, one line per break.
func printBreaks(w io.Writer, breaks []vigil.Break, omitted int64) {
	for _, b := range breaks {
		fmt.Fprintf(w, "BREAK %s", b.Type)
		if b.Sequence >= 0 {
			fmt.Fprintf(w, " at %d", b.Sequence)
		}
		if b.EventID != "" {
			fmt.Fprintf(w, " event %s", b.EventID)
		}
		if b.ExpectedHash != "" || b.ActualHash != "" {
			fmt.Fprintf(w, " expected %s actual %s", b.ExpectedHash, b.ActualHash)
		}
		fmt.Fprintf(w, ": %s\n", b.Detail)
	}
	if omitted > 0 {
		fmt.Fprintf(w, "... and %d more breaks not listed\n", omitted)
	}
}
