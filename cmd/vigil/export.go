package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vigilhq/vigil/internal/private"
	"github.com/vigilhq/vigil/ledger"
)

// ledgerExport writes an offline bundle of a workspace's log.
func ledgerExport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "ledger export")
	data := fs.String("data", "./vigil-data", "data directory")
	witness := fs.String("witness-file", "", witnessUsage)
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
	opt := offlineData(env)
	opt.witness = *witness
	d, err := openData(ctx, *data, opt)
	if err != nil {
		return err
	}
	defer d.close()
	b, err := d.db.Bundle(ctx, *ws, *from, *to, d.verifierKey)
	if err != nil {
		return err
	}
	// A bundle short of events is still written, for its reader to see
	// what the database holds.
	var count *ledger.CountError
	werr := private.WriteFile(*out, func(w io.Writer) error {
		if err := ledger.WriteBundle(w, b); !errors.As(err, &count) {
			return err
		}
		return nil
	})
	if werr == nil && count != nil {
		fmt.Fprintf(env.Stderr, "warning: the database holds %d of the %d events of the range; the bundle was written and will not verify\n", count.Written, count.Want)
		return exitCode(1)
	}
	if werr != nil {
		return werr
	}
	fmt.Fprintf(env.Stdout, "wrote %s: events [%d, %d) of %s, %d checkpoints, %d anchors, tree size %d\n", *out, b.From, b.To, b.Origin, len(b.Checkpoints), len(b.Anchors), b.TreeSize)
	return nil
}
