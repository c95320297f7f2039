// Package postgres is Vigil's PostgreSQL backend: the engine's log
// (vigil.LogStorage) in two tables, and the lease that elects the one node
// sequencing the log when several share the database.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/tlog"
)

// Options tune the connection pool.
type Options struct {
	// MaxConns bounds the pool; 0 is pgxpool's default (the larger of 4
	// and the number of CPUs).
	MaxConns int32
}

// Log is the engine's log in PostgreSQL. It implements vigil.LogStorage.
type Log struct {
	pool   *pgxpool.Pool
	closed atomic.Bool
}

var _ vigil.LogStorage = (*Log)(nil)

// Open connects to the database at url (a PostgreSQL URL or keyword/value
// string; search_path in it selects the schema), applies the embedded
// migrations and returns the log.
func Open(ctx context.Context, url string, opts Options) (*Log, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, vigil.Errorf(vigil.EINVALID, "postgres: the connection string does not parse: %v", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	// A commit is the acknowledgement: it must wait for the WAL flush
	// whatever the server's or the role's default says.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := checkDurable(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Log{pool: pool}, nil
}

// checkDurable refuses a server that does not flush its WAL: with fsync
// off a commit survives a crash of the process but not of the machine,
// and an acknowledged event must survive both.
func checkDurable(ctx context.Context, pool *pgxpool.Pool) error {
	var fsync string
	if err := pool.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	if fsync != "on" {
		return fmt.Errorf("postgres: the server runs with fsync=%s: acknowledged events would not survive a crash", fsync)
	}
	return nil
}

// Close closes the pool; Append after Close fails.
func (l *Log) Close() error {
	l.closed.Store(true)
	l.pool.Close()
	return nil
}

var errClosed = errors.New("postgres: the log is closed")

// Heads implements vigil.LogStorage.
func (l *Log) Heads(ctx context.Context) (map[string]int64, error) {
	if l.closed.Load() {
		return nil, errClosed
	}
	rows, err := l.pool.Query(ctx, "SELECT workspace, size FROM log_heads")
	if err != nil {
		return nil, fmt.Errorf("postgres: heads: %w", err)
	}
	heads := map[string]int64{}
	var ws string
	var size int64
	if _, err := pgx.ForEachRow(rows, []any{&ws, &size}, func() error {
		heads[ws] = size
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: heads: %w", err)
	}
	return heads, nil
}

// run is one workspace's part of an Append call.
type run struct {
	first, next int64 // the first sequence, and the one after the last
	head        int64 // the stored size, read under the row lock
	stored      bool  // the workspace has a head row
}

// Append implements vigil.LogStorage in one transaction: the head rows of
// the call's workspaces are locked and compared with the records' first
// sequences (the fencing: a writer whose view of a head is stale gets
// ECONFLICT and writes nothing), the records go in with COPY, the heads
// move, and the commit, with synchronous_commit on, is the durable point.
func (l *Log) Append(ctx context.Context, records []vigil.LogRecord) error {
	if l.closed.Load() {
		return errClosed
	}
	if len(records) == 0 {
		return nil
	}
	runs, err := runsOf(records)
	if err != nil {
		return err
	}
	workspaces := make([]string, 0, len(runs))
	for ws := range runs {
		workspaces = append(workspaces, ws)
	}
	// Locking in one order keeps two appends over the same workspaces
	// from deadlocking.
	slices.Sort(workspaces)

	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: append: %w", err)
	}
	defer conn.Release()
	committed := false
	defer func() {
		if !committed {
			abort(conn)
		}
	}()

	// The transaction takes three round trips to the server, not five:
	// BEGIN travels with the lock of the heads, and COMMIT with their
	// update, in one pipeline each.
	lock := &pgx.Batch{}
	lock.Queue("BEGIN")
	lock.Queue("SELECT workspace, size FROM log_heads WHERE workspace = ANY($1) ORDER BY workspace FOR UPDATE", workspaces).
		Query(func(rows pgx.Rows) error {
			var ws string
			var size int64
			_, err := pgx.ForEachRow(rows, []any{&ws, &size}, func() error {
				r := runs[ws]
				r.head, r.stored = size, true
				return nil
			})
			return err
		})
	if err := conn.SendBatch(ctx, lock).Close(); err != nil {
		return fmt.Errorf("postgres: append: %w", err)
	}
	for _, ws := range workspaces {
		if r := runs[ws]; r.first != r.head {
			return vigil.Errorf(vigil.ECONFLICT, "the log of workspace %q has %d records; the append starts at %d", ws, r.head, r.first)
		}
	}

	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"log_records"}, []string{"workspace", "seq", "leaf", "hashes", "ip_from_connection", "sealed"},
		pgx.CopyFromSlice(len(records), func(i int) ([]any, error) {
			r := &records[i]
			return []any{r.Workspace, r.Sequence, r.Leaf, hashBytes(r.Hashes), r.IPFromConnection, r.Sealed}, nil
		})); err != nil {
		return appendError(err)
	}

	var newWS, oldWS []string
	var newSize, oldSize []int64
	for _, ws := range workspaces {
		if r := runs[ws]; r.stored {
			oldWS, oldSize = append(oldWS, ws), append(oldSize, r.next)
		} else {
			newWS, newSize = append(newWS, ws), append(newSize, r.next)
		}
	}
	commit := &pgx.Batch{}
	if len(oldWS) > 0 {
		commit.Queue("UPDATE log_heads h SET size = v.size FROM unnest($1::text[], $2::bigint[]) AS v(workspace, size) WHERE h.workspace = v.workspace", oldWS, oldSize)
	}
	if len(newWS) > 0 {
		// A plain INSERT: a writer that created the same workspace
		// meanwhile makes this one fail on the primary key (ECONFLICT).
		commit.Queue("INSERT INTO log_heads (workspace, size) SELECT * FROM unnest($1::text[], $2::bigint[])", newWS, newSize)
	}
	// COMMIT of a transaction that failed answers ROLLBACK, without an
	// error: only the tag tells the records are not stored.
	var tag string
	commit.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
		tag = ct.String()
		return nil
	})
	if err := conn.SendBatch(ctx, commit).Close(); err != nil {
		return appendError(err)
	}
	if tag != "COMMIT" {
		return fmt.Errorf("postgres: append: the transaction ended with %q", tag)
	}
	committed = true
	return nil
}

// abort ends the transaction of a failed append, or the connection if that
// fails (the pool then drops it): a connection never goes back to the pool
// inside a transaction.
func abort(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
		conn.Conn().Close(ctx)
	}
}

// runsOf groups the records by workspace and checks that each workspace's
// records are consecutive and carry the tree hashes their sequence
// completes (which ReadHashes relies on).
func runsOf(records []vigil.LogRecord) (map[string]*run, error) {
	runs := map[string]*run{}
	for i := range records {
		rec := &records[i]
		r, ok := runs[rec.Workspace]
		if !ok {
			r = &run{first: rec.Sequence, next: rec.Sequence}
			runs[rec.Workspace] = r
		}
		if rec.Sequence != r.next {
			return nil, vigil.Errorf(vigil.ECONFLICT, "record %d of workspace %q has sequence %d, not %d: a gap or a reordering", i, rec.Workspace, rec.Sequence, r.next)
		}
		if want := storedHashCount(rec.Sequence); len(rec.Hashes) != want {
			return nil, vigil.Errorf(vigil.EINVALID, "record %d of workspace %q has %d tree hashes; sequence %d completes %d", i, rec.Workspace, len(rec.Hashes), rec.Sequence, want)
		}
		r.next++
	}
	return runs, nil
}

// storedHashCount is how many tree hashes the leaf at seq completes: its
// own and one per complete subtree it ends (one per trailing 1 bit).
func storedHashCount(seq int64) int {
	n := 1
	for ; seq&1 == 1; seq >>= 1 {
		n++
	}
	return n
}

// appendError maps a failure inside the transaction: a unique violation
// means another writer stored the same sequence or created the same
// workspace first.
func appendError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return &vigil.Error{Code: vigil.ECONFLICT, Message: "another writer appended to the log first", Err: err}
	}
	return fmt.Errorf("postgres: append: %w", err)
}

func hashBytes(hs []vigil.Hash) []byte {
	b := make([]byte, 0, len(hs)*len(vigil.Hash{}))
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

func splitHashes(b []byte) ([]vigil.Hash, error) {
	if len(b)%len(vigil.Hash{}) != 0 {
		return nil, fmt.Errorf("postgres: stored hashes of %d bytes", len(b))
	}
	hs := make([]vigil.Hash, len(b)/len(vigil.Hash{}))
	for i := range hs {
		copy(hs[i][:], b[i*len(vigil.Hash{}):])
	}
	return hs, nil
}

// Read implements vigil.LogStorage.
func (l *Log) Read(ctx context.Context, workspace string, from int64, limit int) ([]vigil.LogRecord, error) {
	if l.closed.Load() {
		return nil, errClosed
	}
	if limit <= 0 {
		return nil, nil
	}
	rows, err := l.pool.Query(ctx, "SELECT seq, leaf, hashes, ip_from_connection, sealed FROM log_records WHERE workspace = $1 AND seq >= $2 ORDER BY seq LIMIT $3", workspace, from, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: read: %w", err)
	}
	var out []vigil.LogRecord
	var seq int64
	var leaf, hashes, sealed []byte
	var fromConn bool
	if _, err := pgx.ForEachRow(rows, []any{&seq, &leaf, &hashes, &fromConn, &sealed}, func() error {
		hs, err := splitHashes(hashes)
		if err != nil {
			return err
		}
		out = append(out, vigil.LogRecord{Workspace: workspace, Sequence: seq, Leaf: slices.Clone(leaf), Hashes: hs, IPFromConnection: fromConn, Sealed: slices.Clone(sealed)})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: read: %w", err)
	}
	return out, nil
}

// ReadHashes implements vigil.LogStorage. The hash at stored index
// (level, n) is the one the leaf (n+1)<<level - 1 completes, at its
// place level in that record's hashes.
func (l *Log) ReadHashes(ctx context.Context, workspace string, indexes []int64) ([]vigil.Hash, error) {
	if l.closed.Load() {
		return nil, errClosed
	}
	type place struct {
		seq   int64
		level int
	}
	places := make([]place, len(indexes))
	seqs := make([]int64, len(indexes))
	for i, idx := range indexes {
		level, n := tlog.SplitStoredHashIndex(idx)
		places[i] = place{(n+1)<<level - 1, level}
		seqs[i] = places[i].seq
	}
	rows, err := l.pool.Query(ctx, "SELECT seq, hashes FROM log_records WHERE workspace = $1 AND seq = ANY($2)", workspace, seqs)
	if err != nil {
		return nil, fmt.Errorf("postgres: read hashes: %w", err)
	}
	stored := map[int64][]byte{}
	var seq int64
	var hashes []byte
	if _, err := pgx.ForEachRow(rows, []any{&seq, &hashes}, func() error {
		stored[seq] = slices.Clone(hashes)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: read hashes: %w", err)
	}
	out := make([]vigil.Hash, len(indexes))
	for i, p := range places {
		b := stored[p.seq]
		end := (p.level + 1) * len(vigil.Hash{})
		if len(b) < end {
			return nil, vigil.Errorf(vigil.ENOTFOUND, "no tree hash at index %d of workspace %q", indexes[i], workspace)
		}
		copy(out[i][:], b[end-len(vigil.Hash{}):end])
	}
	return out, nil
}
