// Package sqlite is the embedded store: events, keys and the Merkle ledger
// in one SQLite file on disk, written by one group-committing writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/crypt"
	"github.com/vigilhq/vigil/internal/private"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config configures a DB. Path is the only required field.
type Config struct {
	Path string // the SQLite file

	// LogName names the ledger in checkpoints ("<LogName>/<workspace>"),
	// and SigningKey (a note signer key) signs them. Without a key no
	// checkpoints are issued.
	LogName    string
	SigningKey string

	// CheckpointInterval is the least time between two checkpoints of a
	// workspace. Zero means after every commit.
	CheckpointInterval time.Duration
	// DemandInterval is the least time between two checkpoints of a
	// workspace signed on demand, because a reader asked for the latest
	// one and the last signed lagged behind what was acknowledged. Zero
	// means DefaultDemandInterval.
	DemandInterval time.Duration

	// WitnessPath, when set, is a file outside the database where the
	// latest checkpoint of each workspace is also written, so a database
	// rolled back to an older copy is detected.
	WitnessPath string

	MaxBatchEvents int // events of the projection in one transaction

	// Index, when set, derives an event's search terms (the FHIR
	// AuditEvent search parameters); they are written with the event, in
	// its transaction, and Query.Terms filters on them.
	Index func(vigil.Event) []vigil.Term

	// KEK, when set, is the key-encryption key of the encryption at rest:
	// Open unwraps every data key with it, refusing a wrong or missing
	// KEK before anything is written, and Keyring returns the keys the
	// engine seals with. Sealed events are stored with blind indexes for
	// their identifying columns, and decrypted when read.
	KEK crypt.KeyWrapper

	Now    func() time.Time
	Logger *slog.Logger
}

// DB is the embedded store. It implements vigil.EventStore, vigil.KeyStore
// and vigil.Ledger.
type DB struct {
	cfg   Config
	write *sql.DB // one connection: the writer and key administration
	read  *sql.DB // readers, concurrent under WAL

	writer *writer
	demand *demand // checkpoints signed because readers need them
	log    *slog.Logger

	wsMu  sync.RWMutex
	wsIDs map[string]int64 // workspace name -> id, for workspaces that exist

	found found // what verification has found (findings.go)

	keys *crypt.Keyring // nil without Config.KEK

	// barrier is what reads wait for (SetReadBarrier).
	barrier atomic.Pointer[func(ctx context.Context, workspace string) error]
}

var (
	_ vigil.KeyStore = (*DB)(nil)
	_ vigil.Ledger   = (*DB)(nil)
)

// Open opens (creating if needed) the store at cfg.Path, migrates it and
// starts its writer.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlite: no path")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBatchEvents <= 0 {
		cfg.MaxBatchEvents = 2000
	}
	if cfg.LogName == "" {
		cfg.LogName = "vigil"
	}
	db := &DB{cfg: cfg, log: cfg.Logger, wsIDs: map[string]int64{}, demand: newDemand(cfg.DemandInterval)}
	if err := db.privateFiles(); err != nil {
		return nil, err
	}
	var err error
	if db.write, err = sql.Open("sqlite", dsn(cfg.Path, false)); err != nil {
		return nil, err
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	if err := db.migrate(ctx); err != nil {
		db.write.Close()
		return nil, err
	}
	if cfg.KEK != nil {
		if db.keys, err = crypt.NewKeyring(ctx, cfg.KEK, db); err != nil {
			db.write.Close()
			return nil, err
		}
	}
	if n, err := db.backfillTerms(ctx); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: indexing search terms: %w", err)
	} else if n > 0 {
		db.log.Info("indexed the search terms of earlier events", "events", n)
	}
	if err := db.loadFound(ctx); err != nil {
		db.write.Close()
		return nil, fmt.Errorf("sqlite: reading findings: %w", err)
	}
	if db.read, err = sql.Open("sqlite", dsn(cfg.Path, true)); err != nil {
		db.write.Close()
		return nil, err
	}
	db.read.SetMaxOpenConns(8)
	db.read.SetMaxIdleConns(8)
	if db.writer, err = newWriter(ctx, db); err != nil {
		db.read.Close()
		db.write.Close()
		return nil, err
	}
	return db, nil
}

// Keyring returns the keys of the encryption at rest, nil when the
// store has no KEK (Config.KEK).
func (db *DB) Keyring() vigil.Keyring {
	if db.keys == nil {
		return nil
	}
	return db.keys
}

// privateFiles makes the database file, and the journal, WAL and
// shared-memory files SQLite keeps beside it, readable by their owner
// only. SQLite would create the database 0644; it creates the others with
// the database file's mode, so creating the database 0600 first is what
// keeps them all private. Files left open to others are tightened, and
// each is logged.
func (db *DB) privateFiles() error {
	path := db.cfg.Path
	f, err := private.Create(path)
	if err == nil {
		if err := f.Close(); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("sqlite: %w", err)
	}
	for _, p := range []string{path, path + "-journal", path + "-wal", path + "-shm"} {
		was, err := private.Tighten(p)
		if err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		if was != 0 {
			db.log.Warn("made a database file private: it was open to other users", "file", p, "was", fmt.Sprintf("%04o", was))
		}
	}
	return nil
}

// dsn builds the connection string. synchronous=FULL makes every commit
// fsync the WAL: an acknowledged event is on disk.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		// Readers share the OS page cache; a small private cache each
		// keeps memory bounded however many run.
		q.Add("_pragma", "cache_size(-4000)")
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "cache_size(-32000)")
		// The writer's commits also copy the WAL back into the database
		// (SQLite's automatic checkpoint every 1000 pages), which keeps the
		// WAL from growing without bound under constant writes.
		q.Set("_txlock", "immediate")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return "file:" + abs + "?" + q.Encode()
}

// Close stops accepting events, commits what is queued, and closes.
func (db *DB) Close() error {
	err := db.writer.close()
	return errors.Join(err, db.read.Close(), db.write.Close())
}

// Ready reports whether the store can take writes.
func (db *DB) Ready(ctx context.Context) error {
	if err := db.writer.healthy(); err != nil {
		return err
	}
	if err := db.write.PingContext(ctx); err != nil {
		return vigil.Unavailable("store not reachable", err)
	}
	return nil
}

// releasedMigrations are the migrations of the versions that counted
// them in PRAGMA user_version, in their order: a database of such a
// version has the first user_version of them applied.
var releasedMigrations = []string{"0001_init.sql", "0002_alerts.sql", "0003_reports.sql", "0004_event_terms.sql"}

// migrate applies every embedded migration not yet recorded by name in
// schema_migrations, in name order, each in its own transaction with its
// record. Recording names (not a count) lets migrations written on
// different branches land in any order.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("sqlite: schema migrations table: %w", err)
	}
	applied := map[string]bool{}
	rows, err := db.write.QueryContext(ctx, "SELECT name FROM schema_migrations")
	if err != nil {
		return err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		applied[n] = true
	}
	rows.Close()
	if len(applied) == 0 {
		// A database of a version that counted its migrations.
		var version int
		if err := db.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
			return fmt.Errorf("sqlite: read schema version: %w", err)
		}
		if version > len(releasedMigrations) {
			return fmt.Errorf("sqlite: schema version %d is newer than this program knows", version)
		}
		for _, n := range releasedMigrations[:version] {
			if _, err := db.write.ExecContext(ctx, "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", n, time.Now().UnixNano()); err != nil {
				return err
			}
			applied[n] = true
		}
	}
	names, err := migrations.ReadDir("migrations")
	if err != nil {
		return err
	}
	sort.Slice(names, func(i, j int) bool { return names[i].Name() < names[j].Name() })
	for _, f := range names {
		if applied[f.Name()] {
			continue
		}
		body, err := migrations.ReadFile("migrations/" + f.Name())
		if err != nil {
			return err
		}
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlite: migration %s: %w", f.Name(), err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", f.Name(), time.Now().UnixNano()); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", f.Name(), err)
		}
	}
	return nil
}

// workspaceID returns the id of an existing workspace; ENOTFOUND if none.
func (db *DB) workspaceID(ctx context.Context, name string) (int64, error) {
	db.wsMu.RLock()
	id, ok := db.wsIDs[name]
	db.wsMu.RUnlock()
	if ok {
		return id, nil
	}
	err := db.read.QueryRowContext(ctx, "SELECT id FROM workspaces WHERE name = ?", name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, vigil.Errorf(vigil.ENOTFOUND, "workspace %q not found", name)
	} else if err != nil {
		return 0, vigil.Unavailable("reading workspaces failed", err)
	}
	db.wsMu.Lock()
	db.wsIDs[name] = id
	db.wsMu.Unlock()
	return id, nil
}

// EnsureWorkspace creates the workspace if it does not exist.
func (db *DB) EnsureWorkspace(ctx context.Context, name string) (bool, error) {
	switch msg := vigil.CheckString(name, vigil.Identifier, vigil.MaxWorkspaceLength); {
	case strings.TrimSpace(name) == "":
		return false, vigil.Invalid(vigil.ErrorDetail{Field: "workspace", Message: "is required"})
	case msg != "":
		return false, vigil.Invalid(vigil.ErrorDetail{Field: "workspace", Message: msg})
	case strings.Contains(name, "/"):
		return false, vigil.Invalid(vigil.ErrorDetail{Field: "workspace", Message: "must not contain '/'"})
	}
	res, err := db.write.ExecContext(ctx, "INSERT INTO workspaces (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
		name, db.cfg.Now().UnixNano())
	if err != nil {
		return false, vigil.Unavailable("creating workspace failed", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Workspaces lists workspace names.
func (db *DB) Workspaces(ctx context.Context) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT name FROM workspaces ORDER BY id")
	if err != nil {
		return nil, vigil.Unavailable("reading workspaces failed", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// Schema returns the SQL of every migration, in order: the schema a raw
// baseline needs to insert rows exactly as the store does.
func Schema() string {
	names, _ := migrations.ReadDir("migrations")
	var b strings.Builder
	for _, f := range names {
		body, _ := migrations.ReadFile("migrations/" + f.Name())
		b.Write(body)
		b.WriteString("\n")
	}
	return b.String()
}

// DSN returns the connection string the store uses for writing: WAL and
// synchronous=FULL. A raw baseline opens its file with it to measure
// SQLite under the same durability.
func DSN(path string) string { return dsn(path, false) }

// WorkspaceExists implements engine.Keys: ENOTFOUND for a workspace that
// was never created, so no event is appended to a log nobody can read.
func (db *DB) WorkspaceExists(ctx context.Context, name string) error {
	_, err := db.workspaceID(ctx, name)
	return err
}
