package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Lease is leadership by name among the nodes sharing one database: a
// session-level advisory lock held on a connection of its own (not one of
// the pool's, which come and go). The server releases the lock the moment
// that connection ends, so a dead leader's lease is free again at once.
//
// A lease elects; it does not fence. Between the end of the holder's
// connection and the holder noticing (Lost), two nodes may both believe
// they lead: the head check of Log.Append is what keeps the second from
// forking or gapping the log.
type Lease struct {
	url  string
	name string
	key  int64
	opts LeaseOptions

	mu   sync.Mutex
	conn *pgx.Conn     // the session holding the lock; nil while not held
	lost chan struct{} // closed when the held lock is gone
	stop chan struct{} // closed by Release to end the watch
	done chan struct{} // closed when the watch has ended
}

// LeaseOptions tune how fast a lease is taken over and how fast its loss
// is seen.
type LeaseOptions struct {
	// Retry is the pause between two tries of Acquire while another node
	// holds the lease: the bound on how late a waiting node takes over a
	// freed one. Default 500ms.
	Retry time.Duration
	// Check is the interval at which the holder's connection is pinged,
	// and the timeout of each ping: the bound on how late Lost closes
	// after the connection ends. Default 1s.
	Check time.Duration
}

// NewLease returns a lease on name in the database at url, not yet held.
func NewLease(url, name string, opts LeaseOptions) *Lease {
	if opts.Retry <= 0 {
		opts.Retry = 500 * time.Millisecond
	}
	if opts.Check <= 0 {
		opts.Check = time.Second
	}
	return &Lease{url: url, name: name, key: leaseKey(name), opts: opts}
}

// leaseKey derives the advisory lock's 64-bit key from the name, prefixed
// so that Vigil's keys do not collide with other users of advisory locks
// in the same database by accident.
func leaseKey(name string) int64 {
	sum := sha256.Sum256([]byte("vigil lease\x00" + name))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}

// applicationName shows the lease in pg_stat_activity, so an operator (and
// a test) can tell which backend leads.
func applicationName(name string) string {
	s := "vigil lease " + name
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

// Acquire blocks until the lease is held or ctx is done: it retries while
// another session holds the lock and while the database cannot be reached.
// It returns ctx's error, with the last failure, if it gives up.
func (l *Lease) Acquire(ctx context.Context) error {
	l.mu.Lock()
	held := l.conn != nil
	l.mu.Unlock()
	if held {
		return errors.New("postgres: lease " + l.name + " is already held")
	}
	var conn *pgx.Conn
	var last error
	for {
		if conn == nil {
			cfg, err := pgx.ParseConfig(l.url)
			if err != nil {
				return fmt.Errorf("postgres: lease: the connection string does not parse: %w", err)
			}
			cfg.RuntimeParams["application_name"] = applicationName(l.name)
			if conn, err = pgx.ConnectConfig(ctx, cfg); err != nil {
				conn, last = nil, err
			}
		}
		if conn != nil {
			var got bool
			if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", l.key).Scan(&got); err != nil {
				conn.Close(context.Background())
				conn, last = nil, err
			} else if got {
				l.hold(conn)
				return nil
			} else {
				last = errors.New("held by another session")
			}
		}
		select {
		case <-ctx.Done():
			if conn != nil {
				conn.Close(context.Background())
			}
			return fmt.Errorf("postgres: lease %s not acquired (%v): %w", l.name, last, ctx.Err())
		case <-time.After(l.opts.Retry):
		}
	}
}

func (l *Lease) hold(conn *pgx.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conn = conn
	l.lost = make(chan struct{})
	l.stop = make(chan struct{})
	l.done = make(chan struct{})
	go l.watch(conn, l.lost, l.stop, l.done)
}

// watch pings the holding connection: pgx notices a dead connection only
// when it uses it, and a network that drops packets silently is noticed
// only by a timeout.
func (l *Lease) watch(conn *pgx.Conn, lost, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(l.opts.Check)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.opts.Check)
		err := conn.Ping(ctx)
		cancel()
		if err != nil {
			conn.Close(context.Background())
			l.mu.Lock()
			if l.conn == conn {
				l.conn = nil
			}
			l.mu.Unlock()
			close(lost)
			return
		}
	}
}

// Lost returns a channel closed when the lease acquired last is no longer
// held: its connection ended or failed a ping, or Release was called. Nil
// (never ready) before the first Acquire.
func (l *Lease) Lost() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Release gives the lease up: the lock is unlocked and its connection
// closed, and Lost is closed. It is a no-op when the lease is not held.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	conn, stop, done, lost := l.conn, l.stop, l.done, l.lost
	l.mu.Unlock()
	if conn == nil {
		return nil
	}
	close(stop)
	<-done
	l.mu.Lock()
	still := l.conn == conn
	l.conn = nil
	l.mu.Unlock()
	if !still {
		return nil // the watch found it lost meanwhile and closed lost
	}
	// Closing the session would release the lock too; unlocking first
	// frees it even if the close is slow to reach the server.
	_, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.key)
	conn.Close(ctx)
	close(lost)
	if err != nil {
		return fmt.Errorf("postgres: lease %s release: %w", l.name, err)
	}
	return nil
}
