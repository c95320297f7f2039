package main

import (
	"context"
	"path/filepath"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/fhir"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
)

// vigilSystem is the product's write path as vigil serve configures it:
// the engine appending to its segment log (the acknowledgement point),
// SQLite as its projection with the FHIR search index and checkpoints
// signed every second, each Append one call of the engine's Append (the
// sequencer groups concurrent calls into one write and one fdatasync).
var vigilSystem = system{
	name:       "vigil",
	durability: "engine.Append: acknowledged once its group (events and Merkle hashes) is written to the segment log and fdatasync'd; the SQLite projection follows",
	open:       openVigil,
}

type vigilStore struct{ db *embedded.Store }

const vigilWorkspace = "default"

func openVigil(ctx context.Context, dir string, _ int) (appender, error) {
	skey, _, err := ledger.GenerateKey("bench.vigil")
	if err != nil {
		return nil, err
	}
	db, err := embedded.Open(ctx, embedded.Config{SQLite: sqlite.Config{Path: filepath.Join(dir, "vigil.db"), LogName: "bench.vigil", SigningKey: skey,
		CheckpointInterval: time.Second, WitnessPath: filepath.Join(dir, "ledger.witness"), Index: fhir.Terms}, LogDir: filepath.Join(dir, "log")})
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
