package backup_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/backup"
	"github.com/vigilhq/vigil/ledger"
)

// backedUp is a server with two generations in a directory store.
func backedUp(t *testing.T) (*server, *backup.Dir) {
	t.Helper()
	ctx := context.Background()
	s := newServer(t)
	to, err := backup.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.add(t, "default", 700)
	if _, err := backup.Backup(ctx, s.source(), to, backup.Options{ChunkRecords: 300}); err != nil {
		t.Fatal(err)
	}
	s.add(t, "default", 50)
	if _, err := backup.Backup(ctx, s.source(), to, backup.Options{ChunkRecords: 300}); err != nil {
		t.Fatal(err)
	}
	return s, to
}

func TestRestoreRefusesTamperedBackups(t *testing.T) {
	const chunk = "log/00000000000000000001/000001.chunk"
	const manifest = "manifests/00000000000000000002.manifest"
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, root string)
		object string
		says   string
	}{
		{"chunk edited", func(t *testing.T, root string) { flip(t, filepath.Join(root, chunk)) }, chunk, "altered"},
		{"chunk missing", func(t *testing.T, root string) { rm(t, filepath.Join(root, chunk)) }, chunk, "missing"},
		{"manifest edited", func(t *testing.T, root string) { flip(t, filepath.Join(root, manifest)) }, manifest, "decrypt"},
		{"manifest missing", func(t *testing.T, root string) {
			// The latest generation's manifest gone: restore then takes the
			// previous one, which still verifies; this case asks for it.
			rm(t, filepath.Join(root, manifest))
		}, manifest, "missing"},
		{"state edited", func(t *testing.T, root string) { flip(t, filepath.Join(root, "state/00000000000000000002.state")) }, "state/00000000000000000002.state", "altered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, to := backedUp(t)
			tc.tamper(t, to.String())
			r := newTarget(t)
			_, err := backup.Restore(context.Background(), to, s.key, r.target(), backup.RestoreOptions{VerifierKey: s.vkey, Generation: 2})
			var ie *backup.IntegrityError
			if !errors.As(err, &ie) || ie.Object != tc.object || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Restore = %v, want an IntegrityError naming %s saying %q", err, tc.object, tc.says)
			}
			nothingWritten(t, r)
		})
	}
}

func TestRestoreRefusesAManifestSignedByAnotherKey(t *testing.T) {
	s, to := backedUp(t)
	_, other, err := ledger.GenerateKey(logName)
	if err != nil {
		t.Fatal(err)
	}
	r := newTarget(t)
	_, err = backup.Restore(context.Background(), to, s.key, r.target(), backup.RestoreOptions{VerifierKey: other})
	var ie *backup.IntegrityError
	if !errors.As(err, &ie) || !strings.HasPrefix(ie.Object, "manifests/") || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("Restore = %v, want the manifest's signature refused", err)
	}
	nothingWritten(t, r)
}

func TestRestoreRefusesAnotherBackupKey(t *testing.T) {
	s, to := backedUp(t)
	other, _, err := backup.LoadOrCreateKey(filepath.Join(t.TempDir(), backup.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	_, err = backup.Restore(context.Background(), to, other, newTarget(t).target(), backup.RestoreOptions{VerifierKey: s.vkey})
	if err == nil || !strings.Contains(err.Error(), "not encrypted to this backup key") {
		t.Fatalf("Restore with another key = %v", err)
	}
}

// A chunk swapped for another valid chunk of the same backup (same key,
// intact encryption) is caught by the manifest's hash.
func TestRestoreRefusesASwappedChunk(t *testing.T) {
	s, to := backedUp(t)
	a := filepath.Join(to.String(), "log/00000000000000000001/000000.chunk")
	b := filepath.Join(to.String(), "log/00000000000000000001/000001.chunk")
	ab, _ := os.ReadFile(a)
	if err := os.WriteFile(b, ab, 0o600); err != nil {
		t.Fatal(err)
	}
	r := newTarget(t)
	_, err := backup.Restore(context.Background(), to, s.key, r.target(), backup.RestoreOptions{VerifierKey: s.vkey})
	var ie *backup.IntegrityError
	if !errors.As(err, &ie) || ie.Object != "log/00000000000000000001/000001.chunk" {
		t.Fatalf("Restore = %v, want the swapped chunk named", err)
	}
	nothingWritten(t, r)
}

func TestRestoreReportsLostEvents(t *testing.T) {
	ctx := context.Background()
	s, to := backedUp(t) // 750 events backed up
	s.add(t, "default", 42)
	s.add(t, "late-ws", 5)
	// The witness file, kept outside the data directory, saw the later
	// checkpoints; the anchor saw one within the backup.
	witness := filepath.Join(t.TempDir(), "ledger.witness")
	notes := map[string]string{"default": string(s.checkpoint(t, "default", 792).Note), "late-ws": string(s.checkpoint(t, "late-ws", 5).Note)}
	b, _ := json.Marshal(notes)
	if err := os.WriteFile(witness, b, 0o600); err != nil {
		t.Fatal(err)
	}
	known, err := backup.ReadWitness(witness)
	if err != nil {
		t.Fatal(err)
	}
	known = append(known, backup.Known{Note: s.checkpoint(t, "default", 600).Note, From: "the latest anchor"})
	known = append(known, backup.Known{Note: []byte("not a checkpoint\n"), From: "a garbled file"})
	r := newTarget(t)
	res, err := backup.Restore(ctx, to, s.key, r.target(), backup.RestoreOptions{VerifierKey: s.vkey, Known: known})
	if err != nil {
		t.Fatal(err)
	}
	want := []backup.Loss{
		{Workspace: "default", Events: 42, First: 750, Last: 791, KnownSize: 792, Known: "the witness file " + witness},
		{Workspace: "late-ws", Events: 5, First: 0, Last: 4, KnownSize: 5, Known: "the witness file " + witness},
	}
	if len(res.Lost) != 2 || res.Lost[0] != want[0] || res.Lost[1] != want[1] {
		t.Fatalf("lost = %+v, want %+v", res.Lost, want)
	}
	if got := res.Lost[0].String(); !strings.Contains(got, "lost 42 events, sequences 750 to 791") {
		t.Fatalf("loss reads %q", got)
	}
	if len(res.Unverified) != 1 || !strings.Contains(res.Unverified[0], "a garbled file") {
		t.Fatalf("unverified = %v", res.Unverified)
	}
}

// A known checkpoint within the backup's range whose tree the restored log
// does not have means the backup is of another log: refused.
func TestRestoreRefusesABackupOfAnotherLog(t *testing.T) {
	s, to := backedUp(t)
	// A checkpoint of "default" at 500, signed with the ledger key, over
	// a tree that is not the backed-up one.
	cp, err := ledger.Sign(s.skey, ledger.Origin(logName, "default"), 500, vigil.Hash{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	r := newTarget(t)
	_, err = backup.Restore(context.Background(), to, s.key, r.target(), backup.RestoreOptions{VerifierKey: s.vkey, Known: []backup.Known{{Note: cp, From: "the latest anchor"}}})
	if err == nil || !strings.Contains(err.Error(), "size 500 from the latest anchor") {
		t.Fatalf("Restore = %v, want the anchor's tree refused", err)
	}
	nothingWritten(t, r)
}

func nothingWritten(t *testing.T, r restored) {
	t.Helper()
	if h, _ := r.log.Heads(context.Background()); len(h) != 0 {
		t.Fatalf("the refused restore wrote to the log: %v", h)
	}
	entries, _ := os.ReadDir(r.dir)
	for _, e := range entries {
		if e.Name() == "log" { // the target log's own directory
			continue
		}
		t.Fatalf("the refused restore left %s in the data directory", e.Name())
	}
}

func flip(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func rm(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}
