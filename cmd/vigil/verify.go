package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/anchor"
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
	tsaCA := fs.String("anchor-tsa-ca", "", "with --bundle: PEM file of trusted time-stamp authority CAs; the bundle must carry a time stamp that chains to one")
	var witnesses listFlag
	fs.Var(&witnesses, "anchor-witness", "with --bundle: a trusted witness's verifier key (or URL,VKEY); the bundle must carry its cosignature (repeatable)")
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
		return verifyBundle(env, *bundle, *key, *saved, *tsaCA, witnesses)
	case *tsaCA != "" || len(witnesses) > 0:
		return errors.New("--anchor-tsa-ca and --anchor-witness go with --bundle")
	}
	fmt.Fprintln(env.Stderr, "usage: vigil verify --bundle FILE [--key VKEY] [--checkpoint SAVED] [--anchor-tsa-ca FILE] [--anchor-witness VKEY]...\n       vigil verify --url URL --key VKEY [--checkpoint SAVED [--save]] [--leaves all|none|FROM-TO|sample:N]\n       vigil verify --export FILE [--key VKEY]")
	return errUsage
}

func verifyBundle(env *Env, path, key, savedPath, tsaCA string, witnesses []string) error {
	roots, err := readCAs(tsaCA)
	if err != nil {
		return fmt.Errorf("--anchor-tsa-ca: %w", err)
	}
	var vkeys []string
	for _, w := range witnesses {
		_, vk := witnessKey(w)
		vkeys = append(vkeys, vk)
	}
	checker, err := anchor.NewVerifier(roots, vkeys...)
	if err != nil {
		return fmt.Errorf("--anchor-witness: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	opts := ledger.VerifyOptions{Key: key, CheckAnchor: checker.CheckBundleAnchor}
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
	missing := printAnchors(env.Stdout, rep.Anchors, roots != nil, checker)
	printBreaks(env.Stdout, rep.Breaks, rep.BreaksOmitted)
	for _, m := range missing {
		fmt.Fprintf(env.Stdout, "MISSING %s\n", m)
	}
	if !rep.Valid || len(missing) > 0 {
		fmt.Fprintf(env.Stdout, "FAIL: %d breaks, %d required anchors missing\n", int64(len(rep.Breaks))+rep.BreaksOmitted, len(missing))
		return exitCode(1)
	}
	fmt.Fprintln(env.Stdout, "OK: every event, the tree, the checkpoint signatures and their consistency verify")
	return nil
}

// printAnchors lists what the verifier made of the bundle's anchors and
// returns the trust anchors given that no anchor was verified against: a
// bundle stripped of its anchors must not pass a verifier that expects
// them.
func printAnchors(w io.Writer, anchors []ledger.AnchorResult, wantTSA bool, v *anchor.Verifier) (missing []string) {
	tsaSeen, witnessSeen := false, map[string]bool{}
	for _, a := range anchors {
		state := "verified against the evidence's own signer only"
		switch {
		case a.Problem != "":
			state = "NOT VERIFIED: " + a.Problem
		case a.Trusted:
			state = "verified against a trusted "
			if a.Kind == vigil.AnchorRFC3161 {
				state += "TSA CA"
				tsaSeen = true
			} else {
				state += "witness key"
				witnessSeen[strings.TrimPrefix(a.Chain, "witness:")] = true
			}
		}
		if a.Problem == "" && !a.Compared {
			state += "; its size is outside the bundle's range, so its root was not compared"
		}
		fmt.Fprintf(w, "anchor %s of %d events, attested %s: %s\n", a.Chain, a.TreeSize, a.Time.Format(time.RFC3339), state)
	}
	if wantTSA && !tsaSeen {
		missing = append(missing, "a time stamp by a TSA of --anchor-tsa-ca")
	}
	for name := range v.WitnessKeys {
		if !witnessSeen[name] {
			missing = append(missing, "a cosignature by witness "+name)
		}
	}
	slices.Sort(missing)
	return missing
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
