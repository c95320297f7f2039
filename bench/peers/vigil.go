package main

import (
	"context"
	"path/filepath"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/fhir"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
)

// vigilSystem is the product's write path as vigil serve configures it:
// the SQLite store with the Merkle ledger, checkpoints signed every
// second and the FHIR search index, each Append one call of the store's
// Append (the writer groups concurrent calls into one transaction and
// one fsync).
var vigilSystem = system{
	name:       "vigil",
	durability: "sqlite.DB.Append: acknowledged once its group's transaction (events, Merkle hashes, indexes) is committed, WAL with synchronous=FULL",
	open:       openVigil,
}

type vigilStore struct{ db *sqlite.DB }

const vigilWorkspace = "default"

func openVigil(ctx context.Context, dir string, _ int) (appender, error) {
	skey, _, err := ledger.GenerateKey("bench.vigil")
	if err != nil {
		return nil, err
	}
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "vigil.db"), LogName: "bench.vigil", SigningKey: skey,
		CheckpointInterval: time.Second, WitnessPath: filepath.Join(dir, "ledger.witness"), Index: fhir.Terms})
	if err != nil {
		return nil, err
	}
	if _, err := db.EnsureWorkspace(ctx, vigilWorkspace); err != nil {
		db.Close()
		return nil, err
	}
	return vigilStore{db}, nil
}

func (v vigilStore) Append(ctx context.Context, e vigil.Event) error {
	_, err := v.db.Append(ctx, vigilWorkspace, []vigil.Event{e})
	return err
}

func (v vigilStore) Close() error { return v.db.Close() }
