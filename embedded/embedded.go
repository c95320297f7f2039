// Package embedded composes the single-binary store: the engine's log in
// a local log storage, and SQLite for the state and the projections. It
// holds no logic of its own beyond wiring and the one-time move of a data
// directory written before the log existed.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/engine"
	"github.com/vigilhq/vigil/filelog"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
)

// Config configures the store.
type Config struct {
	SQLite sqlite.Config
	// LogDir is the directory of the engine's log (filelog); empty means
	// SQLite.Path + ".log".
	LogDir string
	// Log, when set, is the log storage used instead of LogDir; Open
	// closes it with the store.
	Log vigil.LogStorage
	// Beside is for commands run on a data directory a server may be
	// serving (keys, users, reports, exports): when the server holds the
	// log, the store opens the database alone, reads what the server's
	// projection has written, and refuses to append. When no server runs,
	// the store opens whole and brings the projection up to the log first.
	Beside bool

	// Enrich adds what the server knows about an event before it is
	// hashed (geolocation), so the ledger covers it.
	Enrich func(*vigil.Event)

	QueueSize      int           // requests waiting for the sequencer; full means 503
	MaxBatchEvents int           // events in one append (group commit)
	MaxLag         int64         // events the projections may be behind before ingest answers 503
	ReadWait       time.Duration // how long a read waits for the projections

	// OnGroup observes the events of each group appended (metrics).
	OnGroup func(events int)

	// PHIGuard screens the free text of the events clients send
	// (engine.Config.PHIGuard); nil screens nothing.
	PHIGuard *vigil.PHIGuard
}

// Store is the embedded store: every store interface of the root package,
// with Append going through the engine and every read of the log's events
// waiting for the projection to reach what was acknowledged before it.
type Store struct {
	*sqlite.DB
	Engine *engine.Engine
	log    vigil.LogStorage
}

var (
	_ vigil.EventStore = (*Store)(nil)
	_ vigil.KeyStore   = (*Store)(nil)
	_ vigil.Ledger     = (*Store)(nil)
)

// Open opens the SQLite database, moves the events of a data directory
// written before the log existed into the log, and starts the engine,
// which brings the projection up to the log before reads are answered.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	logger := cfg.SQLite.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Log == nil {
		if cfg.SQLite.Path == "" {
			return nil, errors.New("embedded: no path")
		}
		dir := cfg.LogDir
		if dir == "" {
			dir = cfg.SQLite.Path + ".log"
		}
		l, err := filelog.Open(dir, filelog.Options{Logger: logger})
		if errors.Is(err, filelog.ErrLocked) && cfg.Beside {
			db, err := sqlite.Open(ctx, cfg.SQLite)
			if err != nil {
				return nil, err
			}
			return &Store{DB: db}, nil
		}
		if err != nil {
			return nil, err
		}
		cfg.Log = l
	}
	db, err := sqlite.Open(ctx, cfg.SQLite)
	if err != nil {
		cfg.Log.Close()
		return nil, err
	}
	fail := func(err error) (*Store, error) {
		db.Close()
		cfg.Log.Close()
		return nil, err
	}
	if err := moveToLog(ctx, db, cfg.Log, logger); err != nil {
		return fail(err)
	}
	eng, err := engine.New(ctx, engine.Config{
		Log: cfg.Log, Keys: db, Enrich: cfg.Enrich, Canonicalize: ledger.Canonicalize, Keyring: db.Keyring(),
		QueueSize: cfg.QueueSize, MaxBatchEvents: cfg.MaxBatchEvents, MaxLag: cfg.MaxLag, ReadWait: cfg.ReadWait,
		Now: cfg.SQLite.Now, Logger: logger, OnGroup: cfg.OnGroup, PHIGuard: cfg.PHIGuard,
	})
	if err != nil {
		return fail(err)
	}
	db.SetReadBarrier(eng.Await)
	s := &Store{DB: db, Engine: eng, log: cfg.Log}
	if err := s.catchUp(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// catchUp waits for the projection to apply every record of the log, then
// lets the database compare its witness and sign checkpoints again.
func (s *Store) catchUp(ctx context.Context) error {
	for s.Engine.MaxLag() > 0 {
		if err := s.Engine.Healthy(); err != nil {
			return fmt.Errorf("embedded: bringing the projection up to the log: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return s.DB.Resume(ctx)
}

// Append implements vigil.EventStore through the engine.
func (s *Store) Append(ctx context.Context, workspace string, events []vigil.Event) ([]vigil.AppendResult, error) {
	if s.Engine == nil {
		return nil, errBeside
	}
	return s.Engine.Append(ctx, workspace, events)
}

// errBeside refuses an append on a store opened beside a running server,
// which alone extends the log.
var errBeside = vigil.Errorf(vigil.EUNAVAILABLE, "a server holds this data directory's log: send events to it")

// Ready reports whether the store can take events: the log and the
// projection are healthy and the database answers.
func (s *Store) Ready(ctx context.Context) error {
	if s.Engine == nil {
		return errBeside
	}
	if err := s.Engine.Healthy(); err != nil {
		return err
	}
	return s.DB.Ready(ctx)
}

// Close stops the engine (after the projection has caught up with the
// log), then the database and the log.
func (s *Store) Close() error {
	if s.Engine == nil {
		return s.DB.Close()
	}
	err := s.Engine.Close()
	err = errors.Join(err, s.DB.Close())
	return errors.Join(err, s.log.Close())
}

// moveToLog copies into the log the events of workspaces the database
// has and the log does not: a data directory written before the log was
// the acknowledgement point. It copies only a log that verifies, so the
// move never launders a tampered row into the log.
func moveToLog(ctx context.Context, db *sqlite.DB, log vigil.LogStorage, logger *slog.Logger) error {
	heads, err := log.Heads(ctx)
	if err != nil {
		return err
	}
	sizes, err := db.Cursors(ctx)
	if err != nil {
		return err
	}
	for ws, size := range sizes {
		if heads[ws] != 0 {
			continue // the engine compares the two when it starts
		}
		rep, err := db.Verify(ctx, ws, vigil.VerifyOptions{})
		if err != nil {
			return fmt.Errorf("embedded: verifying %s before moving it into the log: %w", ws, err)
		}
		if len(rep.Breaks) > 0 {
			return fmt.Errorf("embedded: %s's events do not verify (%s: %s); run vigil verify, nothing was moved", ws, rep.Breaks[0].Type, rep.Breaks[0].Detail)
		}
		if err := copyToLog(ctx, db, log, ws, size); err != nil {
			return err
		}
		logger.Info("moved a workspace's events into the log", "workspace", ws, "events", size)
	}
	return nil
}

func copyToLog(ctx context.Context, db *sqlite.DB, log vigil.LogStorage, ws string, size int64) error {
	tree := ledger.NewFrontier()
	const batch = 2048
	for from := int64(0); from < size; from += batch {
		to := min(size, from+batch)
		recs := make([]vigil.LogRecord, 0, to-from)
		for seq := from; seq < to; seq++ {
			e, origin, err := db.StoredEvent(ctx, ws, seq)
			if err != nil {
				return fmt.Errorf("embedded: event %d of %s: %w", seq, ws, err)
			}
			leaf := ledger.AppendEvent(nil, &e)
			hashes := tree.Append(ledger.LeafHash(leaf))
			recs = append(recs, vigil.LogRecord{Workspace: ws, Sequence: seq, Leaf: leaf, Hashes: hashes, IPFromConnection: origin})
		}
		if err := log.Append(ctx, recs); err != nil {
			return err
		}
	}
	return nil
}
