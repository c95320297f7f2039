package filelog_test

import (
	"database/sql"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/filelog"
	_ "modernc.org/sqlite"
)

// BenchmarkCommitPoint measures the two commit points the write path
// could have, side by side in one run (docs/decisions.md): the segment
// log (one write and one fdatasync per group) and a minimal append-only
// SQLite table of the same records (WAL, synchronous=FULL, one
// transaction per group with a prepared insert, the primary key a read by
// sequence needs and nothing else). Groups of 1, 64 and 256 records are
// what one writer, 64 and 256 concurrent writers give the sequencer.
func BenchmarkCommitPoint(b *testing.B) {
	for _, group := range []int{1, 64, 256} {
		b.Run("filelog/group="+strconv.Itoa(group), func(b *testing.B) {
			l, err := filelog.Open(b.TempDir(), filelog.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			recs := newBenchRecords("ws")
			commit(b, group, recs, func(g []vigil.LogRecord) error { return l.Append(b.Context(), g) })
		})
		b.Run("sqlite-table/group="+strconv.Itoa(group), func(b *testing.B) {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "log.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.SetMaxOpenConns(1)
			if _, err := db.Exec("CREATE TABLE log_records (ws TEXT NOT NULL, seq INTEGER NOT NULL, leaf BLOB NOT NULL, hashes BLOB NOT NULL, PRIMARY KEY (ws, seq)) WITHOUT ROWID"); err != nil {
				b.Fatal(err)
			}
			ins, err := db.Prepare("INSERT INTO log_records (ws, seq, leaf, hashes) VALUES (?,?,?,?)")
			if err != nil {
				b.Fatal(err)
			}
			defer ins.Close()
			recs := newBenchRecords("ws")
			var hashes []byte
			commit(b, group, recs, func(g []vigil.LogRecord) error {
				tx, err := db.Begin()
				if err != nil {
					return err
				}
				st := tx.Stmt(ins)
				for _, r := range g {
					hashes = hashes[:0]
					for _, h := range r.Hashes {
						hashes = append(hashes, h[:]...)
					}
					if _, err := st.Exec(r.Workspace, r.Sequence, r.Leaf, hashes); err != nil {
						tx.Rollback()
						return err
					}
				}
				return tx.Commit()
			})
		})
	}
}

func commit(b *testing.B, group int, recs *benchRecords, appendGroup func([]vigil.LogRecord) error) {
	start := time.Now()
	for b.Loop() {
		if err := appendGroup(recs.next(group)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*group)/time.Since(start).Seconds(), "records/s")
}
