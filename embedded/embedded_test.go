package embedded_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/fhir"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
	_ "modernc.org/sqlite"
)

// testKey signs the checkpoints of the package's tests; a child process
// of the kill test is given its parent's (VIGIL_EMBEDDED_KEY).
var testKey, _ = mustKey()

func mustKey() (string, string) {
	if k := os.Getenv("VIGIL_EMBEDDED_KEY"); k != "" {
		vkey, err := ledger.VerifierKey(k)
		if err != nil {
			panic(err)
		}
		return k, vkey
	}
	skey, vkey, err := ledger.GenerateKey("test.vigil")
	if err != nil {
		panic(err)
	}
	return skey, vkey
}

func config(dir string) embedded.Config {
	return embedded.Config{SQLite: sqlite.Config{
		Path: filepath.Join(dir, "vigil.db"), LogName: "test.vigil", SigningKey: testKey,
		WitnessPath: filepath.Join(dir, "ledger.witness"), Index: fhir.Terms,
	}, LogDir: filepath.Join(dir, "log"), ReadWait: 30 * time.Second}
}

func open(t *testing.T, dir string) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(context.Background(), config(dir))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func event(i int) vigil.Event {
	return vigil.Event{
		ActorID: fmt.Sprintf("dr_%d", i%97), ActorName: "Dr. Emily Nakamura", Action: "patient.record.viewed",
		Resource: "MedicalRecord", ResourceID: fmt.Sprintf("rec_%d", i), PatientID: fmt.Sprintf("pt_%d", i%1000),
		SessionID: fmt.Sprintf("sess_%d", i%8), TenantID: "clinic-a", IPAddress: "203.0.113.9",
		Metadata:       []byte(fmt.Sprintf(`{"n":%d,"reason":"treatment"}`, i)),
		IdempotencyKey: fmt.Sprintf("key-%d", i),
		Targets:        []vigil.Target{{Type: "Patient", ID: fmt.Sprintf("pt_%d", i%1000)}},
	}
}

// verified fails the test unless the workspace's log verifies.
func verified(t *testing.T, s *embedded.Store, ws string) vigil.VerifyReport {
	t.Helper()
	rep, err := s.Verify(ctx(t), ws, vigil.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid {
		t.Fatalf("the log does not verify: %+v", rep.Breaks)
	}
	return rep
}

// TestReadYourWrites: an acknowledged event is answered by every read at
// once, however far behind the projection is when the read begins.
func TestReadYourWrites(t *testing.T) {
	s := open(t, t.TempDir())
	defer s.Close()
	if _, err := s.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				batch := make([]vigil.Event, 40)
				for j := range batch {
					batch[j] = event(w*100000 + i*100 + j)
				}
				res, err := s.Append(ctx(t), "ws", batch)
				if err != nil {
					t.Error(err)
					return
				}
				// Right after the acknowledgement, by id and by query.
				got, err := s.Event(ctx(t), "ws", "", res[len(res)-1].ID)
				if err != nil || got.Sequence != res[len(res)-1].Sequence {
					t.Errorf("GET of an acknowledged event: %+v %v", got, err)
					return
				}
				page, err := s.Events(ctx(t), vigil.Query{Workspace: "ws", ResourceID: batch[0].ResourceID, Before: -1})
				if err != nil || page.Total != 1 {
					t.Errorf("query of an acknowledged event: total %d, %v", page.Total, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := s.Engine.Head("ws"); got != 8*25*40 {
		t.Fatalf("head %d, want %d", got, 8*25*40)
	}
	verified(t, s, "ws")
}

// TestReindexRebuildsTheProjection: the projection emptied (vigil
// reindex) is rebuilt from the log: the same events, the same search
// terms, idempotency still known, the ledger still verifying against the
// checkpoints signed before.
func TestReindexRebuildsTheProjection(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := s.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	for i := 0; i < n; i += 100 {
		batch := make([]vigil.Event, 100)
		for j := range batch {
			batch[j] = event(i + j)
		}
		if _, err := s.Append(ctx(t), "ws", batch); err != nil {
			t.Fatal(err)
		}
	}
	before, err := s.Events(ctx(t), vigil.Query{Workspace: "ws", Before: -1, Limit: vigil.MaxQueryLimit})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := s.Checkpoint(ctx(t), "ws", -1)
	if err != nil || cp.Size != n {
		t.Fatalf("checkpoint %d, %v", cp.Size, err)
	}
	// A search by the first FHIR search term of an event (the FHIR
	// search-terms projection).
	term := fhir.Terms(event(42))[0]
	terms := vigil.Query{Workspace: "ws", Before: -1, Terms: []vigil.TermFilter{{Name: term.Name, Values: []vigil.TermValue{{System: term.System, Value: term.Value}}}}}
	termsBefore, err := s.Events(ctx(t), terms)
	if err != nil || termsBefore.Total == 0 {
		t.Fatalf("search by term before: %d, %v", termsBefore.Total, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	removed, err := sqlite.ClearProjection(ctx(t), sqlite.Config{Path: filepath.Join(dir, "vigil.db")})
	if err != nil || removed != n {
		t.Fatalf("ClearProjection removed %d, %v", removed, err)
	}
	raw, err := sqlite.Open(ctx(t), sqlite.Config{Path: filepath.Join(dir, "vigil.db")})
	if err != nil {
		t.Fatal(err)
	}
	if sizes, _ := raw.Cursors(ctx(t)); sizes["ws"] != 0 {
		t.Fatalf("the projection still has %d events after clearing", sizes["ws"])
	}
	raw.Close()

	s = open(t, dir)
	defer s.Close()
	after, err := s.Events(ctx(t), vigil.Query{Workspace: "ws", Before: -1, Limit: vigil.MaxQueryLimit})
	if err != nil {
		t.Fatal(err)
	}
	if after.Total != n || fmt.Sprint(after.Events) != fmt.Sprint(before.Events) {
		t.Fatalf("rebuilt projection: %d events, want %d, same as before: %v", after.Total, n, fmt.Sprint(after.Events) == fmt.Sprint(before.Events))
	}
	termsAfter, err := s.Events(ctx(t), terms)
	if err != nil || termsAfter.Total != termsBefore.Total {
		t.Fatalf("search by term after: %d, want %d (%v)", termsAfter.Total, termsBefore.Total, err)
	}
	res, err := s.Append(ctx(t), "ws", []vigil.Event{event(7)})
	if err != nil || !res[0].Duplicate || res[0].Sequence != 7 {
		t.Fatalf("a retry after reindex: %+v %v", res, err)
	}
	verified(t, s, "ws")
	if _, err := s.ConsistencyProof(ctx(t), "ws", cp.Size, s.Engine.Head("ws")); err != nil {
		t.Fatal(err)
	}
}

// TestRewrittenLogIsCaught: an intruder who rewrites an event in the log
// itself, with a valid frame checksum, and rebuilds the projection from
// it, is caught by the checkpoints signed before.
func TestRewrittenLogIsCaught(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := s.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := s.Append(ctx(t), "ws", []vigil.Event{event(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Checkpoint(ctx(t), "ws", -1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Same length, so the frame stays in place: dr_5 becomes dr_X.
	segs, _ := filepath.Glob(filepath.Join(dir, "log", "*.seg"))
	if len(segs) == 0 {
		t.Fatal("no segment")
	}
	b, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), `"actor_id":"dr_5"`)
	if i < 0 {
		t.Fatal("no event of dr_5 in the segment")
	}
	copy(b[i:], `"actor_id":"dr_X"`)
	if err := os.WriteFile(segs[0], b, 0o600); err != nil {
		t.Fatal(err)
	}
	// The frame's checksum no longer matches: the log refuses to open.
	if _, err := embedded.Open(ctx(t), config(dir)); err == nil {
		t.Fatal("a log with an edited record opened")
	}
	refreshChecksums(t, segs[0])
	if _, err := sqlite.ClearProjection(ctx(t), sqlite.Config{Path: filepath.Join(dir, "vigil.db")}); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	rep, err := s.Verify(ctx(t), "ws", vigil.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid {
		t.Fatal("a rewritten log verified")
	}
	found := false
	for _, br := range rep.Breaks {
		found = found || br.Type == vigil.BreakModified || br.Type == vigil.BreakCheckpointMismatch || br.Type == vigil.BreakHashMismatch
	}
	if !found {
		t.Fatalf("breaks %+v name no modification", rep.Breaks)
	}
}

// TestKillBetweenAppendAndProjection runs a store in a child process that
// ingests as fast as it can (so the projection is behind the log) and is
// killed with SIGKILL at a random moment, several times over one data
// directory: every acknowledged event is there after each restart, once,
// and the log verifies.
func TestKillBetweenAppendAndProjection(t *testing.T) {
	if os.Getenv("VIGIL_EMBEDDED_CHILD") != "" {
		child()
		return
	}
	dir := t.TempDir()
	acked := map[string]int64{}
	lagged := 0
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillBetweenAppendAndProjection$")
		cmd.Env = append(os.Environ(), "VIGIL_EMBEDDED_CHILD="+dir, "VIGIL_EMBEDDED_ROUND="+strconv.Itoa(round), "VIGIL_EMBEDDED_KEY="+testKey)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		timer := time.AfterFunc(time.Duration(400+rand.IntN(800))*time.Millisecond, func() { cmd.Process.Signal(syscall.SIGKILL) })
		sc := bufio.NewScanner(out)
		maxLag := int64(0)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 4 || f[0] != "ack" {
				continue
			}
			seq, _ := strconv.ParseInt(f[2], 10, 64)
			lag, _ := strconv.ParseInt(f[3], 10, 64)
			acked[f[1]] = seq
			maxLag = max(maxLag, lag)
		}
		cmd.Wait()
		timer.Stop()
		if maxLag > 0 {
			lagged++
		}
		s := open(t, dir)
		for id, seq := range acked {
			e, err := s.Event(ctx(t), "ws", "", id)
			if err != nil || e.Sequence != seq {
				s.Close()
				t.Fatalf("round %d: acknowledged event %s (sequence %d) after the kill: %+v %v", round, id, seq, e, err)
			}
		}
		page, err := s.Events(ctx(t), vigil.Query{Workspace: "ws", Before: -1, Limit: 1})
		if err != nil || page.Total < int64(len(acked)) {
			s.Close()
			t.Fatalf("round %d: %d events stored, %d acknowledged (%v)", round, page.Total, len(acked), err)
		}
		verified(t, s, "ws")
		s.Close()
		t.Logf("round %d: %d acknowledged so far, %d stored, projection up to %d behind before the kill", round, len(acked), page.Total, maxLag)
	}
	if lagged == 0 {
		t.Fatal("the projection was never behind the log when the child was killed: the test did not test the window")
	}
}

// child ingests into the store at VIGIL_EMBEDDED_CHILD until killed,
// printing each acknowledged event with the projection's lag then.
func child() {
	dir := os.Getenv("VIGIL_EMBEDDED_CHILD")
	round, _ := strconv.Atoi(os.Getenv("VIGIL_EMBEDDED_ROUND"))
	s, err := embedded.Open(context.Background(), config(dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s.EnsureWorkspace(context.Background(), "ws")
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				batch := make([]vigil.Event, 50)
				for j := range batch {
					batch[j] = event(round*10_000_000 + g*100_000 + i*50 + j)
				}
				res, err := s.Append(context.Background(), "ws", batch)
				if err != nil {
					continue
				}
				lag := s.Engine.Lag("ws")
				mu.Lock()
				for _, r := range res {
					fmt.Fprintf(w, "ack %s %d %d\n", r.ID, r.Sequence, lag)
				}
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// refreshChecksums recomputes every frame's CRC of a segment, as an
// intruder who knows the format would.
func refreshChecksums(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// docs/filelog.md: an 8-byte header, then frames of a little-endian
	// uint32 length, a CRC-32C of those four bytes and the payload, and
	// the payload.
	table := crc32.MakeTable(crc32.Castagnoli)
	for off := 8; off+8 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off:]))
		c := crc32.Update(crc32.Checksum(b[off:off+4], table), table, b[off+8:off+8+n])
		binary.LittleEndian.PutUint32(b[off+4:], c)
		off += 8 + n
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// rawSQL opens a database file behind the store's back, as an intruder
// would.
func rawSQL(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}
