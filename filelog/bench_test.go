package filelog_test

import (
	"math/bits"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/filelog"
	"golang.org/x/mod/sumdb/tlog"
)

// benchRecords makes records of ~600-byte leaves continuing a
// workspace's log from seq: the log stores the hashes, it does not
// recompute them, so they need only be as many as each leaf completes.
type benchRecords struct {
	ws     string
	seq    int64
	leaf   []byte
	hashes [64]vigil.Hash
}

func newBenchRecords(ws string) *benchRecords {
	return &benchRecords{ws: ws, leaf: []byte(`{"action":"patient.record.viewed","actor":{"id":"dr_42"},` + strings.Repeat(`"x":"padding",`, 38) + `}`)}
}

func (b *benchRecords) next(n int) []vigil.LogRecord {
	out := make([]vigil.LogRecord, n)
	for i := range out {
		out[i] = vigil.LogRecord{Workspace: b.ws, Sequence: b.seq, Leaf: b.leaf,
			Hashes: b.hashes[:1+bits.TrailingZeros64(uint64(b.seq)+1)]}
		b.seq++
	}
	return out
}

// BenchmarkAppend measures Appends of one group each, one write and one
// fdatasync, at three group sizes.
func BenchmarkAppend(b *testing.B) {
	for _, group := range []int{1, 64, 256} {
		b.Run("group="+strconv.Itoa(group), func(b *testing.B) {
			l, err := filelog.Open(b.TempDir(), filelog.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			recs := newBenchRecords("ws")
			var groups [][]vigil.LogRecord
			start := time.Now()
			for b.Loop() {
				if len(groups) == 0 {
					for range 64 {
						groups = append(groups, recs.next(group))
					}
				}
				if err := l.Append(b.Context(), groups[0]); err != nil {
					b.Fatal(err)
				}
				groups = groups[1:]
			}
			b.ReportMetric(float64(b.N*group)/time.Since(start).Seconds(), "records/s")
			b.SetBytes(int64(len(recs.leaf) * group))
		})
	}
}

// BenchmarkOpen measures Open of a log of VIGIL_FILELOG_OPEN_RECORDS
// records (default 100 000) of ~600-byte leaves in groups of 256: the
// scan of every segment that rebuilds the heads and the index.
func BenchmarkOpen(b *testing.B) {
	n := 100_000
	if s := os.Getenv("VIGIL_FILELOG_OPEN_RECORDS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	l, err := filelog.Open(dir, filelog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	recs := newBenchRecords("ws")
	for left := n; left > 0; left -= 256 {
		if err := l.Append(b.Context(), recs.next(min(left, 256))); err != nil {
			b.Fatal(err)
		}
	}
	st := l.Stats()
	l.Close()
	for b.Loop() {
		l, err := filelog.Open(dir, filelog.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if s := l.Stats(); s.Records != int64(n) {
			b.Fatalf("%d records after Open, want %d", s.Records, n)
		}
		l.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(st.Bytes)/(1<<20), "MiB")
	b.ReportMetric(float64(st.Segments), "segments")
}

// BenchmarkRead measures reads of a log of 100 000 records of two
// interleaved workspaces: a page of 100 records from a random place, and
// the stored hashes of an inclusion proof of a random record.
func BenchmarkRead(b *testing.B) {
	const n = 100_000
	l, err := filelog.Open(b.TempDir(), filelog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	x, y := newBenchRecords("x"), newBenchRecords("y")
	for range n / 256 {
		if err := l.Append(b.Context(), append(x.next(128), y.next(128)...)); err != nil {
			b.Fatal(err)
		}
	}
	size := x.seq
	b.Run("page=100", func(b *testing.B) {
		for b.Loop() {
			recs, err := l.Read(b.Context(), "x", rand.Int64N(size-100), 100)
			if err != nil || len(recs) != 100 {
				b.Fatal(len(recs), err)
			}
		}
	})
	b.Run("proof", func(b *testing.B) {
		for b.Loop() {
			if _, err := tlog.ProveRecord(size, rand.Int64N(size), benchHashes{b, l}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type benchHashes struct {
	b *testing.B
	l *filelog.Log
}

func (r benchHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	hs, err := r.l.ReadHashes(r.b.Context(), "x", indexes)
	out := make([]tlog.Hash, len(hs))
	for i, h := range hs {
		out[i] = tlog.Hash(h)
	}
	return out, err
}
