package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/vigilhq/vigil/ledger"
)

// ledgerExport writes an offline bundle of a workspace's log.
func ledgerExport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "ledger export")
	data := fs.String("data", "./vigil-data", "data directory")
	ws := fs.String("workspace", defaultWS, "workspace")
	out := fs.String("out", "", "bundle file to write (required)")
	from := fs.Int64("from", 0, "first sequence number")
	to := fs.Int64("to", 0, "end sequence number, exclusive (default: the latest checkpoint's size)")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	d, err := openData(ctx, *data, dataOptions{offline: true})
	if err != nil {
		return err
	}
	defer d.close()
	b, err := d.db.Bundle(ctx, *ws, *from, *to, d.verifierKey)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	werr := ledger.WriteBundle(f, b)
	if err := f.Sync(); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	var count *ledger.CountError
	if errors.As(werr, &count) {
		fmt.Fprintf(env.Stderr, "warning: the database holds %d of the %d events of the range; the bundle was written and will not verify\n", count.Written, count.Want)
		return exitCode(1)
	}
	if werr != nil {
		return werr
	}
	fmt.Fprintf(env.Stdout, "wrote %s: events [%d, %d) of %s, %d checkpoints, %d anchors, tree size %d\n", *out, b.From, b.To, b.Origin, len(b.Checkpoints), len(b.Anchors), b.TreeSize)
	return nil
}
