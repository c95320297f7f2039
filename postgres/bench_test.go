package postgres_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/storetest"
)

// benchGroups makes n groups of 256 records of one workspace, each leaf
// padded to about 600 bytes (the size of a typical event's leaf).
func benchGroups(ws string, n int) [][]vigil.LogRecord {
	b := storetest.NewLogBuilder(ws)
	groups := make([][]vigil.LogRecord, n)
	for i := range groups {
		groups[i] = b.Next(256)
		for j := range groups[i] {
			leaf := groups[i][j].Leaf
			if pad := 600 - len(leaf) - len(`,"p":""`); pad > 0 {
				leaf = append(leaf[:len(leaf)-1:len(leaf)-1], []byte(`,"p":"`+string(bytes.Repeat([]byte("x"), pad))+`"}`)...)
			}
			groups[i][j].Leaf = leaf
		}
	}
	return groups
}

// BenchmarkAppend measures Log.Append of groups of 256 records of about
// 600 bytes against a raw COPY of the same rows, each in its own commit,
// into a plain table (no key, no partitions, no triggers, no head: the
// ceiling), and into a plain table with only the primary key a log needs
// to be read by sequence (what the key costs, apart from the rest of an
// append: the head's lock and update, the partitions). The three alternate
// within each iteration, so a machine whose load drifts during the run
// weighs on all three alike; append/copy is the ratio of their rates.
func BenchmarkAppend(b *testing.B) {
	_, connURL := freshSchema(b)
	l := openLog(b, connURL)
	pool, err := pgxpool.New(ctxT(b), connURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctxT(b), `
		CREATE TABLE raw_records (workspace text, seq bigint, leaf bytea, hashes bytea, ip_from_connection boolean);
		CREATE TABLE raw_keyed (workspace text, seq bigint, leaf bytea, hashes bytea, ip_from_connection boolean, PRIMARY KEY (workspace, seq))`); err != nil {
		b.Fatal(err)
	}
	rawCopy := func(table string, g []vigil.LogRecord) {
		if _, err := pool.CopyFrom(ctxT(b), pgx.Identifier{table}, []string{"workspace", "seq", "leaf", "hashes", "ip_from_connection"},
			pgx.CopyFromSlice(len(g), func(j int) ([]any, error) {
				hs := make([]byte, 0, 32*len(g[j].Hashes))
				for _, h := range g[j].Hashes {
					hs = append(hs, h[:]...)
				}
				return []any{g[j].Workspace, g[j].Sequence, g[j].Leaf, hs, g[j].IPFromConnection}, nil
			})); err != nil {
			b.Fatal(err)
		}
	}
	runs := 0 // each run of the benchmark starts a workspace's log anew
	var appendTime, rawTime, keyedTime time.Duration
	b.Run("Groups256", func(b *testing.B) {
		runs++
		groups := benchGroups(fmt.Sprint("bench", runs), b.N)
		appendTime, rawTime, keyedTime = 0, 0, 0
		b.ResetTimer()
		for i := range b.N {
			start := time.Now()
			if err := l.Append(ctxT(b), groups[i]); err != nil {
				b.Fatal(err)
			}
			appendTime += time.Since(start)
			start = time.Now()
			rawCopy("raw_records", groups[i])
			rawTime += time.Since(start)
			start = time.Now()
			rawCopy("raw_keyed", groups[i])
			keyedTime += time.Since(start)
		}
		records := float64(b.N * 256)
		b.ReportMetric(records/appendTime.Seconds(), "append-records/s")
		b.ReportMetric(records/rawTime.Seconds(), "copy-records/s")
		b.ReportMetric(records/keyedTime.Seconds(), "keyed-copy-records/s")
		b.ReportMetric(rawTime.Seconds()/appendTime.Seconds(), "append/copy")
		b.ReportMetric(keyedTime.Seconds()/appendTime.Seconds(), "append/keyed-copy")
	})
}
