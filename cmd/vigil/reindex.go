package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vigilhq/vigil/filelog"
	"github.com/vigilhq/vigil/sqlite"
)

// runReindex rebuilds the projection (query indexes, search terms, the
// ledger's query tables) from the log: what to do when the database was
// lost or damaged while the log is whole. The server must be stopped.
func runReindex(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "reindex")
	data := fs.String("data", "./vigil-data", "data directory (the server must be stopped)")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if _, err := os.Stat(filepath.Join(*data, logDir)); err != nil {
		return fmt.Errorf("%s has no log to rebuild from: %w", *data, err)
	}
	// Taking the log's lock proves no server is running; it is released
	// for openData, which takes it again.
	l, err := filelog.Open(filepath.Join(*data, logDir), filelog.Options{})
	if errors.Is(err, filelog.ErrLocked) {
		return errors.New("a server is running on this data directory: stop it first")
	}
	if err != nil {
		return err
	}
	l.Close()
	start := time.Now()
	removed, err := sqlite.ClearProjection(ctx, sqlite.Config{Path: filepath.Join(*data, dbFile)})
	if err != nil {
		return err
	}
	d, err := openData(ctx, *data, dataOptions{logger: offlineData(env).logger})
	if err != nil {
		return err
	}
	defer d.close()
	for d.db.Engine.MaxLag() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	var rebuilt int64
	names, err := d.db.Workspaces(ctx)
	if err != nil {
		return err
	}
	for _, ws := range names {
		rebuilt += d.db.Engine.Head(ws)
	}
	if err := d.close(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "rebuilt the projection of %d events from the log in %s (the database held %d before)\n",
		rebuilt, time.Since(start).Round(time.Millisecond), removed)
	return nil
}
