package ledger_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/note"
)

func TestCheckpointSignOpen(t *testing.T) {
	skey, vkey, err := ledger.GenerateKey("vigil.example")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ledger.VerifierKey(skey); err != nil || got != vkey {
		t.Fatalf("VerifierKey = %q %v, want %q", got, err, vkey)
	}
	if !strings.HasPrefix(vkey, "vigil.example+") {
		t.Fatalf("the key is not named after the log: %s", vkey)
	}
	root := vigil.Hash{1, 2, 3}
	origin := ledger.Origin("vigil.example", "default")
	note, err := ledger.Sign(skey, origin, 42, root)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(note), "vigil.example/default\n42\nAQID") {
		t.Fatalf("note %q", note)
	}
	cp, err := ledger.Open(note, vkey)
	if err != nil || cp.Size != 42 || cp.Root != root || cp.Origin != origin || !bytes.Equal(cp.Note, note) {
		t.Fatalf("Open = %+v %v", cp, err)
	}
	var se *ledger.SignatureError
	_, other, _ := ledger.GenerateKey("vigil.example")
	if _, err := ledger.Open(note, other); !errors.As(err, &se) {
		t.Fatalf("another key of the same name: %v", err)
	}
	forged := strings.Replace(string(note), "\n42\n", "\n43\n", 1)
	if _, err := ledger.Open([]byte(forged), vkey); !errors.As(err, &se) {
		t.Fatalf("forged size: %v", err)
	}
	if _, err := ledger.Open(note, "not a key"); !errors.As(err, &se) {
		t.Fatalf("malformed verifier key: %v", err)
	}
	var fe *ledger.CheckpointFormatError
	for _, origin := range []string{"", "a\nb", "tab\there", "\xff"} {
		if _, err := ledger.Sign(skey, origin, 1, root); !errors.As(err, &fe) {
			t.Errorf("Sign with origin %q: %v", origin, err)
		}
	}
	if _, err := ledger.Sign(skey, origin, -1, root); !errors.As(err, &fe) {
		t.Errorf("Sign with size -1: %v", err)
	}
	if _, err := ledger.VerifierKey(vkey); err == nil {
		t.Error("VerifierKey of a verifier key")
	}
}

// TestOpenSignedNonCheckpoint: a valid signature over a body that is not
// a checkpoint opens to a format error, not a checkpoint.
func TestOpenSignedNonCheckpoint(t *testing.T) {
	skey, vkey, _ := ledger.GenerateKey("vigil.example")
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: "vigil.example/ws\n07\n" + strings.Repeat("A", 43) + "=\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	var fe *ledger.CheckpointFormatError
	if _, err := ledger.Open(signed, vkey); !errors.As(err, &fe) {
		t.Fatalf("Open = %v, want a *CheckpointFormatError", err)
	}
}

func TestParseCheckpoint(t *testing.T) {
	root := strings.Repeat("A", 43) + "="
	good := "log/ws\n7\n" + root + "\n"
	origin, n, _, err := ledger.ParseCheckpoint([]byte(good))
	if err != nil || n != 7 || origin != "log/ws" {
		t.Fatalf("good: %q %d %v", origin, n, err)
	}
	if string(ledger.FormatCheckpoint(origin, n, vigil.Hash{})) != good {
		t.Fatal("FormatCheckpoint does not give back the body")
	}
	withExt := good + "extension one\nextension two\n"
	if _, _, _, err := ledger.ParseCheckpoint([]byte(withExt)); err != nil {
		t.Fatalf("extension lines are allowed: %v", err)
	}
	if ext, err := ledger.CheckpointExtensions([]byte(withExt)); err != nil || len(ext) != 2 || ext[1] != "extension two" {
		t.Fatalf("extensions %q %v", ext, err)
	}
	if ext, err := ledger.CheckpointExtensions([]byte(good)); err != nil || len(ext) != 0 {
		t.Fatalf("extensions of a plain body %q %v", ext, err)
	}
	var fe *ledger.CheckpointFormatError
	for name, bad := range map[string]string{
		"empty":             "",
		"two lines":         "log\n7\n",
		"leading zero":      "log\n07\n" + root + "\n",
		"negative":          "log\n-1\n" + root + "\n",
		"plus sign":         "log\n+7\n" + root + "\n",
		"empty origin":      "\n7\n" + root + "\n",
		"not base64":        "log\n7\nnot base64\n",
		"no final newline":  good[:len(good)-1],
		"short root":        "log\n7\nAAAA\n",
		"root with CR":      "log\n7\n" + root[:20] + "\r" + root[20:] + "\n",
		"unpadded root":     "log\n7\n" + root[:43] + "\n",
		"non-zero pad bits": "log\n7\n" + strings.Repeat("A", 42) + "B=\n",
		"empty extension":   good + "\n",
		"control in origin": "lo\x01g\n7\n" + root + "\n",
		"size overflow":     "log\n9223372036854775808\n" + root + "\n",
	} {
		if _, _, _, err := ledger.ParseCheckpoint([]byte(bad)); !errors.As(err, &fe) {
			t.Errorf("%s: %q: %v", name, bad, err)
		}
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte("log/ws\n7\n" + strings.Repeat("A", 43) + "=\n"))
	f.Add([]byte("log/ws\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		origin, size, root, err := ledger.ParseCheckpoint(in)
		if err != nil {
			return
		}
		ext, err := ledger.CheckpointExtensions(in)
		if err != nil {
			t.Fatalf("parsed but no extensions: %v", err)
		}
		// A body has one spelling: it is what FormatCheckpoint writes,
		// followed by its extension lines.
		want := string(ledger.FormatCheckpoint(origin, size, root))
		for _, e := range ext {
			want += e + "\n"
		}
		if want != string(in) {
			t.Fatalf("%q parsed as %q", in, want)
		}
	})
}

func FuzzOpen(f *testing.F) {
	skey, vkey := goldenKey(f)
	note, _ := ledger.Sign(skey, "test.vigil/default", 3, vigil.Hash{9})
	f.Add(note)
	f.Add(readTestdata(f, "golden.checkpoint"))
	f.Add([]byte("test.vigil/default\n3\nAAAA\n\n— test.vigil abcd\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		cp, err := ledger.Open(in, vkey)
		if err != nil {
			var se *ledger.SignatureError
			var fe *ledger.CheckpointFormatError
			if !errors.As(err, &se) && !errors.As(err, &fe) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Only the golden key's own notes open, and they say what was signed.
		if cp.Origin != "test.vigil/default" {
			t.Fatalf("a note of origin %q opened", cp.Origin)
		}
		if !bytes.HasPrefix(in, ledger.FormatCheckpoint(cp.Origin, cp.Size, cp.Root)) {
			t.Fatalf("opened %q as %+v", in, cp)
		}
	})
}
