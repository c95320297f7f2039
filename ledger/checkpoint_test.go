package ledger_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

func TestCheckpointSignOpen(t *testing.T) {
	skey, vkey, err := ledger.GenerateKey("vigil.example")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ledger.VerifierKey(skey); err != nil || got != vkey {
		t.Fatalf("VerifierKey = %q %v, want %q", got, err, vkey)
	}
	root := vigil.Hash{1, 2, 3}
	note, err := ledger.Sign(skey, "vigil.example/default", 42, root)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(note), "vigil.example/default\n42\nAQID") {
		t.Fatalf("note %q", note)
	}
	cp, err := ledger.Open(note, vkey)
	if err != nil || cp.Size != 42 || cp.Root != root || cp.Origin != "vigil.example/default" {
		t.Fatalf("Open = %+v %v", cp, err)
	}
	_, other, _ := ledger.GenerateKey("vigil.example")
	var se *ledger.SignatureError
	if _, err := ledger.Open(note, other); !errors.As(err, &se) {
		t.Fatalf("another key: %v", err)
	}
	forged := strings.Replace(string(note), "\n42\n", "\n43\n", 1)
	if _, err := ledger.Open([]byte(forged), vkey); !errors.As(err, &se) {
		t.Fatalf("forged size: %v", err)
	}
}

func TestParseCheckpoint(t *testing.T) {
	good := "log/ws\n7\n" + strings.Repeat("A", 43) + "=\n"
	if _, n, _, err := ledger.ParseCheckpoint([]byte(good)); err != nil || n != 7 {
		t.Fatalf("good: %d %v", n, err)
	}
	if _, _, _, err := ledger.ParseCheckpoint([]byte(good + "extension line\n")); err != nil {
		t.Fatalf("extension lines are allowed: %v", err)
	}
	var fe *ledger.CheckpointFormatError
	for _, bad := range []string{"", "log\n7\n", "log\n07\n" + strings.Repeat("A", 43) + "=\n", "log\n-1\nAAAA\n",
		"\n7\n" + strings.Repeat("A", 43) + "=\n", "log\n7\nnot base64\n", good[:len(good)-1], "log\n7\nAAAA\n"} {
		if _, _, _, err := ledger.ParseCheckpoint([]byte(bad)); !errors.As(err, &fe) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	skey, vkey, _ := ledger.GenerateKey("fuzz")
	note, _ := ledger.Sign(skey, "fuzz/ws", 3, vigil.Hash{9})
	f.Add(note)
	f.Add([]byte("fuzz/ws\n3\nAAAA\n\n— fuzz abcd\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		ledger.ParseCheckpoint(in)
		if cp, err := ledger.Open(in, vkey); err == nil && cp.Origin != "fuzz/ws" {
			t.Fatalf("a forged note opened: %q", in)
		}
	})
}
