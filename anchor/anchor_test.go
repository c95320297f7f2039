package anchor_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/anchor"
	"github.com/vigilhq/vigil/anchor/anchortest"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
)

const logName = "anchor.test"

var skey, vkey = func() (string, string) {
	s, v, err := ledger.GenerateKey(logName)
	if err != nil {
		panic(err)
	}
	return s, v
}()

var origin = ledger.Origin(logName, "ws")

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// openStore opens a store in dir whose checkpoints are signed after every
// commit.
func openStore(t testing.TB, dir string) *embedded.Store { return openLog(t, dir, logName) }

// openLog opens a store whose logs have origins name/<workspace>.
func openLog(t testing.TB, dir, name string) *embedded.Store {
	t.Helper()
	db, err := embedded.Open(context.Background(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(dir, "vigil.db"), LogName: name, SigningKey: skey,
		WitnessPath: filepath.Join(dir, "ledger.witness")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	return db
}

// appendEvents appends n events and waits for the checkpoint over them.
func appendEvents(t testing.TB, db *embedded.Store, n int, actor string) vigil.Checkpoint {
	t.Helper()
	for i := range n {
		if _, err := db.Append(ctx(t), "ws", []vigil.Event{{ActorID: fmt.Sprintf("%s-%d", actor, i), Action: "record.read"}}); err != nil {
			t.Fatal(err)
		}
	}
	size, err := db.LogSize(ctx(t), "ws")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, err := db.Checkpoint(ctx(t), "ws", -1)
		if err == nil && cp.Size == size {
			return cp
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size %d (%v)", size, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// clock is a settable time for retries.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func latest(t *testing.T, db *embedded.Store, chain string) vigil.Anchor {
	t.Helper()
	a, err := db.LatestAnchor(ctx(t), "ws", chain, false)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestTimestampAnchors(t *testing.T) {
	tsa := anchortest.StartTSA(t)
	db := openStore(t, t.TempDir())
	w, err := anchor.NewTSA(tsa.URL, http.DefaultClient, tsa.Roots)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Now()}
	an := anchor.New(anchor.Config{Log: db, Store: db, Witnesses: []anchor.Witness{w}, Verifier: &anchor.Verifier{TSARoots: tsa.Roots}, Now: clk.Now})

	cp := appendEvents(t, db, 5, "a")
	if err := an.Pass(ctx(t)); err != nil {
		t.Fatal(err)
	}
	first := latest(t, db, w.Chain())
	if first.Status != vigil.AnchorConfirmed || first.TreeSize != 5 || first.Root != cp.Root || first.EventsCount() != 5 ||
		first.PreviousID != "" || first.FirstEventHash == nil || first.PeriodStart.IsZero() || first.PeriodEnd.Before(first.PeriodStart) {
		t.Fatalf("first anchor %+v", first)
	}
	if d := time.Since(first.EvidenceTime); d < -2*time.Second || d > time.Minute {
		t.Fatalf("the token's time %s is not now", first.EvidenceTime)
	}
	// Nothing new: no new anchor.
	if err := an.Pass(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := latest(t, db, w.Chain()); got.ID != first.ID {
		t.Fatalf("a second anchor of the same checkpoint: %+v", got)
	}

	// An outage: the anchor waits, then is sent again once due.
	cp = appendEvents(t, db, 3, "b")
	tsa.Down.Store(true)
	if err := an.Pass(ctx(t)); err != nil {
		t.Fatal(err)
	}
	pending := latest(t, db, w.Chain())
	if pending.Status != vigil.AnchorPending || pending.Attempts != 1 || !strings.Contains(pending.LastError, "503") || !pending.NextTry.After(clk.Now()) {
		t.Fatalf("anchor during an outage %+v", pending)
	}
	tsa.Down.Store(false)
	if err := an.Pass(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if got := latest(t, db, w.Chain()); got.Status != vigil.AnchorPending || got.Attempts != 1 {
		t.Fatalf("an anchor was retried before it was due: %+v", got)
	}
	clk.Add(time.Hour)
	if err := an.Pass(ctx(t)); err != nil {
		t.Fatal(err)
	}
	second := latest(t, db, w.Chain())
	if second.ID != pending.ID || second.Status != vigil.AnchorConfirmed || second.Attempts != 2 || second.TreeSize != cp.Size ||
		second.FromSequence != 5 || second.EventsCount() != 3 || second.PreviousID != first.ID {
		t.Fatalf("anchor after the outage %+v", second)
	}
	v, err := an.VerifyAnchor(ctx(t), "ws", second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Valid || !v.ChainValid || v.Actual == nil || *v.Actual != second.Root || v.Expected != second.Root || v.EventsCount != 3 {
		t.Fatalf("verification %+v", v)
	}

	// The token is over this checkpoint and no other, and chains to the
	// TSA's CA and no other.
	body := anchor.Body(second.Checkpoint)
	if _, err := anchor.CheckTimestamp(second.Evidence, anchor.Body(first.Checkpoint), tsa.Roots); err == nil {
		t.Error("a token verified over another checkpoint")
	}
	other := anchortest.StartTSA(t)
	if _, err := anchor.CheckTimestamp(second.Evidence, body, other.Roots); err == nil {
		t.Error("a token verified against another TSA's CA")
	}
	if c, err := anchor.CheckTimestamp(second.Evidence, body, nil); err != nil || c.Trusted {
		t.Errorf("without a CA: %+v %v, want verified against its own certificate only", c, err)
	}
	forged := append([]byte(nil), second.Evidence...)
	forged[len(forged)-10] ^= 1
	if _, err := anchor.CheckTimestamp(forged, body, tsa.Roots); err == nil {
		t.Error("a token with a flipped signature byte verified")
	}
}

func TestWitnessAnchors(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, dir)
	wit := anchortest.StartWitness(t, vkey, origin)
	w, err := anchor.NewCosigner(wit.URL, wit.VKey, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	v, err := anchor.NewVerifier(nil, wit.VKey)
	if err != nil {
		t.Fatal(err)
	}
	an := anchor.New(anchor.Config{Log: db, Store: db, Witnesses: []anchor.Witness{w}, Verifier: v})

	appendEvents(t, db, 4, "a")
	made, err := an.AnchorNow(ctx(t), "ws")
	if err != nil || len(made) != 1 || made[0].Status != vigil.AnchorConfirmed {
		t.Fatalf("first anchor %+v (%v)", made, err)
	}
	// The next checkpoint reaches the witness with a consistency proof
	// from the last one it cosigned.
	cp := appendEvents(t, db, 9, "b")
	made, err = an.AnchorNow(ctx(t), "ws")
	if err != nil || len(made) != 1 || made[0].Status != vigil.AnchorConfirmed || made[0].TreeSize != cp.Size || made[0].FromSequence != 4 {
		t.Fatalf("second anchor %+v (%v)", made, err)
	}
	second := made[0]
	if c, err := v.Check(second.Kind, anchor.Body(second.Checkpoint), second.Evidence, second.WitnessKey); err != nil || !c.Trusted {
		t.Fatalf("the cosignature: %+v %v", c, err)
	}
	if made, err := an.AnchorNow(ctx(t), "ws"); err != nil || len(made) != 0 {
		t.Fatalf("anchoring an anchored checkpoint again made %+v (%v)", made, err)
	}
	res, err := an.VerifyAnchor(ctx(t), "ws", second.ID)
	if err != nil || !res.Valid || !res.ChainValid {
		t.Fatalf("verification %+v (%v)", res, err)
	}

	// A record altered in the store breaks the chain after it.
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "vigil.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, stmt := range []string{"DROP TRIGGER anchors_settled", "DROP TRIGGER anchors_fixed",
		"UPDATE anchors SET evidence = randomblob(16) WHERE id = '" + second.PreviousID + "'"} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	res, err = an.VerifyAnchor(ctx(t), "ws", second.ID)
	if err != nil || !res.Valid || res.ChainValid {
		t.Fatalf("verification after the predecessor was altered %+v (%v), want a broken chain", res, err)
	}
	res, err = an.VerifyAnchor(ctx(t), "ws", second.PreviousID)
	if err != nil || res.Valid {
		t.Fatalf("the altered anchor verifies: %+v (%v)", res, err)
	}
}

// TestWitnessRefusesRewrites: a log with the same key and origin but
// other contents (a rewrite) or fewer events (a rollback) gets no
// cosignature from a witness that cosigned the original.
func TestWitnessRefusesRewrites(t *testing.T) {
	wit := anchortest.StartWitness(t, vkey, origin)
	w, err := anchor.NewCosigner(wit.URL, wit.VKey, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	db := openStore(t, t.TempDir())
	appendEvents(t, db, 10, "a")
	if made, err := anchor.New(anchor.Config{Log: db, Store: db, Witnesses: []anchor.Witness{w}}).AnchorNow(ctx(t), "ws"); err != nil ||
		made[0].Status != vigil.AnchorConfirmed {
		t.Fatalf("anchoring the original: %+v (%v)", made, err)
	}
	for _, c := range []struct {
		name string
		n    int
		want string
	}{{"rewritten", 12, "inconsistent"}, {"rolled back", 6, "rolled back"}} {
		t.Run(c.name, func(t *testing.T) {
			forged := openStore(t, t.TempDir())
			appendEvents(t, forged, c.n, "forged")
			made, err := anchor.New(anchor.Config{Log: forged, Store: forged, Witnesses: []anchor.Witness{w}}).AnchorNow(ctx(t), "ws")
			if err != nil || len(made) != 1 {
				t.Fatalf("%+v (%v)", made, err)
			}
			if made[0].Status != vigil.AnchorFailed || !strings.Contains(made[0].LastError, c.want) {
				t.Fatalf("the witness's answer to a %s log: %s %q, want failed with %q", c.name, made[0].Status, made[0].LastError, c.want)
			}
		})
	}
}

func TestAnchorNowUnconfigured(t *testing.T) {
	db := openStore(t, t.TempDir())
	if _, err := anchor.New(anchor.Config{Log: db, Store: db}).AnchorNow(ctx(t), "ws"); vigil.ErrorCode(err) != vigil.EUNAVAILABLE {
		t.Fatalf("anchoring with no witness: %v, want unavailable", err)
	}
}
