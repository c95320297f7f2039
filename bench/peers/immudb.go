package main

import (
	"context"
	"os"

	"github.com/codenotary/immudb/embedded/logger"
	"github.com/codenotary/immudb/embedded/store"
	"github.com/vigilhq/vigil"
)

// immudbSystem is immudb's embedded store with its default options, so
// its default durability (Synced: a commit returns after the fsync of
// the value and transaction logs, which its syncer groups every
// SyncFrequency), one write-only transaction per event keyed by the
// event's id, committed with Commit (which also waits for indexing, as
// immudb's own server does unless a client asks not to wait). Only
// MaxConcurrency is raised to the number of writers, since the default
// (30) refuses more concurrent commits.
var immudbSystem = system{
	name:       "immudb",
	durability: "embedded/store, Synced (default): Commit returns after the value and transaction logs are fsync'd (grouped every 20 ms) and the entry is indexed",
	open:       openImmudb,
}

type immudbStore struct{ st *store.ImmuStore }

func openImmudb(_ context.Context, dir string, writers int) (appender, error) {
	opts := store.DefaultOptions().
		WithMaxConcurrency(max(writers, store.DefaultMaxConcurrency)).
		WithLogger(logger.NewSimpleLoggerWithLevel("immudb ", os.Stderr, logger.LogWarn))
	if !opts.Synced {
		panic("immudb's default options are not synced")
	}
	st, err := store.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	return immudbStore{st}, nil
}

func (s immudbStore) Append(ctx context.Context, e vigil.Event) error {
	rec, id, err := record(e)
	if err != nil {
		return err
	}
	tx, err := s.st.NewWriteOnlyTx(ctx)
	if err != nil {
		return err
	}
	if err := tx.Set([]byte(id), nil, rec); err != nil {
		tx.Cancel()
		return err
	}
	_, err = tx.Commit(ctx)
	return err
}

func (s immudbStore) Close() error { return s.st.Close() }
