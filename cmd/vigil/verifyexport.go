package main

import (
	"fmt"
	"os"

	"github.com/vigilhq/vigil/ledger"
)

// verifyExport checks an NDJSON export offline: the checkpoint's signature
// and each event's inclusion in the signed tree.
func verifyExport(env *Env, path, key string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := ledger.VerifyExport(f, key)
	if err != nil {
		return err
	}
	if rep.KeyFromExport {
		fmt.Fprintln(env.Stderr, "warning: no --key given; checked against the key the export names, which proves nothing about who signed it")
	}
	fmt.Fprintf(env.Stdout, "export of %s: %d events checked against the signed checkpoint of size %d, root %s\n", rep.Origin, rep.EventsChecked, rep.TreeSize, rep.Root)
	printBreaks(env.Stdout, rep.Breaks, rep.BreaksOmitted)
	if !rep.Valid {
		fmt.Fprintf(env.Stdout, "FAIL: %d breaks\n", int64(len(rep.Breaks))+rep.BreaksOmitted)
		return exitCode(1)
	}
	fmt.Fprintln(env.Stdout, "OK: every event is the leaf at its sequence in the signed tree; the export is complete to its end line")
	return nil
}
