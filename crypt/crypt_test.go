package crypt_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/crypt"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
)

func openStore(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, "vigil.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openKEK(t *testing.T, path string) *crypt.FileKEK {
	t.Helper()
	k, err := crypt.OpenKEKFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sampleEvent() vigil.Event {
	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	return vigil.Event{ID: "0190b5a0-0000-7000-8000-000000000001", Workspace: "default", Sequence: 7, CreatedAt: t0, OccurredAt: t0,
		ActorID: "dr_smith", ActorName: "Dr. Smith", Action: "patient.record.viewed", Outcome: vigil.OutcomeSuccess,
		PatientID: "pt_42", IPAddress: "203.0.113.9", Targets: []vigil.Target{{Type: "Document", ID: "doc_1"}}}
}

func TestKEKIsCreatedOnlyForAStoreWithoutKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	path := filepath.Join(dir, "kek.key")
	ring, err := crypt.NewKeyring(ctx, openKEK(t, path), db)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the KEK file was not created 0600: %v %v", fi, err)
	}
	if _, _, err := ring.SealKey(ctx, "default", time.Now()); err != nil {
		t.Fatal(err)
	}
	os.Rename(path, path+".away")
	_, err = crypt.NewKeyring(ctx, openKEK(t, path), db)
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("a store with keys opened without its KEK: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a new KEK was created beside keys wrapped by another")
	}
	other := filepath.Join(dir, "other.key")
	key, _ := crypt.NewKey()
	if err := crypt.WriteKEKFile(other, key); err != nil {
		t.Fatal(err)
	}
	if _, err := crypt.NewKeyring(ctx, openKEK(t, other), db); err == nil || !strings.Contains(err.Error(), "not by the configured") {
		t.Fatalf("a store opened with a wrong KEK: %v", err)
	}
}

func TestSealedEventOpensOnlyBesideItsLeaf(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ring, err := crypt.NewKeyring(ctx, openKEK(t, filepath.Join(dir, "kek.key")), openStore(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	e := sampleEvent()
	leaf, sealed, err := crypt.SealEvent(ctx, ring, &e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Seal.KeyID != "dk1/default/2026-05" {
		t.Errorf("key id %q", e.Seal.KeyID)
	}
	for _, v := range []string{"dr_smith", "Dr. Smith", "pt_42", "203.0.113.9", "doc_1"} {
		if strings.Contains(string(leaf), v) || strings.Contains(string(sealed), v) {
			t.Errorf("%q is in the leaf or the sealed payload", v)
		}
	}
	rec := vigil.LogRecord{Workspace: "default", Sequence: 7, Leaf: leaf, Sealed: sealed}
	got, err := crypt.OpenRecord(ctx, ring, &rec)
	if err != nil {
		t.Fatal(err)
	}
	if got.PatientID != "pt_42" || got.ActorName != "Dr. Smith" || got.Targets[0].ID != "doc_1" || got.IPAddress != "203.0.113.9" {
		t.Errorf("opened as %+v", got)
	}
	if string(ledger.AppendEvent(nil, &got)) != string(leaf) {
		t.Error("the opened event does not write its leaf again")
	}
	// Another event's payload, an altered one, or an altered leaf: refused.
	other := sampleEvent()
	other.Sequence = 8
	_, otherSealed, _ := crypt.SealEvent(ctx, ring, &other, nil)
	flipped := append([]byte(nil), sealed...)
	flipped[len(flipped)-1] ^= 1
	for name, r := range map[string]vigil.LogRecord{
		"another's payload": {Leaf: leaf, Sealed: otherSealed},
		"a flipped bit":     {Leaf: leaf, Sealed: flipped},
		"an altered leaf":   {Leaf: []byte(strings.Replace(string(leaf), "patient.record.viewed", "patient.record.edited", 1)), Sealed: sealed},
		"no payload":        {Leaf: leaf},
	} {
		if _, err := crypt.OpenRecord(ctx, ring, &r); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := crypt.OpenRecord(ctx, nil, &rec); err == nil {
		t.Error("a sealed record opened without a keyring")
	}
}

func TestRotateKEKRewrapsEveryKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	old := openKEK(t, filepath.Join(dir, "kek.key"))
	ring, err := crypt.NewKeyring(ctx, old, db)
	if err != nil {
		t.Fatal(err)
	}
	e := sampleEvent()
	leaf, sealed, err := crypt.SealEvent(ctx, ring, &e, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Blinder(ctx, "default"); err != nil {
		t.Fatal(err)
	}
	next := openKEK(t, filepath.Join(dir, "next.key"))
	if err := next.Create(); err != nil {
		t.Fatal(err)
	}
	n, err := crypt.RotateKEK(ctx, db, old, next)
	if err != nil || n != 2 {
		t.Fatalf("rotated %d keys: %v", n, err)
	}
	if _, err := crypt.NewKeyring(ctx, old, db); err == nil {
		t.Error("the old KEK still opens the store")
	}
	ring2, err := crypt.NewKeyring(ctx, next, db)
	if err != nil {
		t.Fatal(err)
	}
	got, err := crypt.OpenRecord(ctx, ring2, &vigil.LogRecord{Leaf: leaf, Sealed: sealed})
	if err != nil || got.PatientID != "pt_42" {
		t.Fatalf("after rotation: %+v %v", got, err)
	}
	b1, _ := ring.Blinder(ctx, "default")
	b2, _ := ring2.Blinder(ctx, "default")
	if b1.Index("patient_id", "pt_42") != b2.Index("patient_id", "pt_42") {
		t.Error("the blind index changed with the KEK")
	}
	if _, err := crypt.RotateKEK(ctx, db, next, next); err == nil {
		t.Error("a rotation to the same KEK was accepted")
	}
}
