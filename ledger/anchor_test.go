package ledger_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// attestedAt is the time the test witness attests.
var attestedAt = time.Date(2024, 6, 2, 0, 0, 0, 0, time.UTC)

// testEvidence is what the test witness gives for a checkpoint body; the
// real kinds (RFC 3161, cosignatures) are package anchor's, tested there.
func testEvidence(body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte("attest:" + hex.EncodeToString(sum[:]))
}

func checkTestEvidence(kind string, body, evidence []byte, _ string) (time.Time, bool, error) {
	if kind != "test" || !bytes.Equal(evidence, testEvidence(body)) {
		return time.Time{}, false, errors.New("not the test witness's evidence over this checkpoint")
	}
	return attestedAt, true, nil
}

func (l *testLog) anchorOf(size int64) ledger.BundleAnchor {
	cp := l.checkpoints[size]
	return ledger.BundleAnchor{Chain: "test:w", Kind: "test", Checkpoint: cp, Evidence: testEvidence(ledger.CheckpointBody(cp))}
}

// rewritten is the log l with event at altered, every checkpoint signed
// again with l's key: what an intruder holding the key can make.
func rewritten(t *testing.T, l *testLog, at int, cpAt ...int64) *testLog {
	events := append([]vigil.Event(nil), l.events...)
	events[at].ActorID = "forger"
	return buildTestLog(t, l.skey, l.vkey, events, cpAt...)
}

func TestBundleAnchors(t *testing.T) {
	skey, vkey := goldenKey(t)
	l := newTestLog(t, skey, vkey, 40, 10, 25)
	opts := ledger.VerifyOptions{Key: vkey, CheckAnchor: checkTestEvidence}
	withAnchors := func(l *testLog, from, to int64, anchors ...ledger.BundleAnchor) []byte {
		b := l.bundleOf(t, from, to)
		b.Anchors = anchors
		return writeBundle(t, b)
	}

	full := withAnchors(l, 0, 40, l.anchorOf(10), l.anchorOf(25))
	if !bytes.HasPrefix(full, []byte(`{"bundle":"vigil.bundle.v2",`)) {
		t.Fatalf("a bundle with anchors is not version 2: %.60s", full)
	}
	if plain := l.bundle(t, 0, 40); !bytes.HasPrefix(plain, []byte(`{"bundle":"vigil.bundle.v1",`)) {
		t.Fatalf("a bundle without anchors is not version 1: %.60s", plain)
	}
	rep := verify(t, full, opts)
	if !rep.Valid || len(rep.Anchors) != 2 {
		t.Fatalf("%+v", rep)
	}
	for _, a := range rep.Anchors {
		if !a.Compared || !a.Trusted || a.Problem != "" || !a.Time.Equal(attestedAt) || a.Chain != "test:w" {
			t.Fatalf("anchor %+v", a)
		}
	}
	b, err := ledger.ReadBundle(bytes.NewReader(full))
	if err != nil || len(b.Anchors) != 2 || !bytes.Equal(b.Anchors[1].Evidence, l.anchorOf(25).Evidence) {
		t.Fatalf("read back %+v (%v)", b, err)
	}
	if rep := verify(t, full, ledger.VerifyOptions{Key: vkey}); !rep.Valid || rep.Anchors[0].Problem == "" || rep.Anchors[0].Compared {
		t.Fatalf("anchors with no evidence checker: %+v", rep.Anchors)
	}

	// The attack anchors exist for: the log rewritten and every checkpoint
	// re-signed with the key. Without anchors it verifies; with the old
	// ones it does not, whether the range reaches the anchored size
	// through the events or only through a checkpoint line.
	forged := rewritten(t, l, 17, 10, 25)
	if rep := verify(t, forged.bundle(t, 0, 40), opts); !rep.Valid {
		t.Fatalf("the rewritten log does not even verify on its own: %+v", rep.Breaks)
	}
	for _, from := range []int64{0, 20} {
		rep := verify(t, withAnchors(forged, from, 40, l.anchorOf(10), l.anchorOf(25)), opts)
		if rep.Valid || !hasBreak(rep.Breaks, vigil.BreakAnchorMismatch) {
			t.Fatalf("from %d: a rewritten log with the old anchors: %+v", from, rep.Breaks)
		}
		for _, b := range rep.Breaks {
			if b.Type != vigil.BreakAnchorMismatch {
				t.Fatalf("from %d: unexpected break %+v", from, b)
			}
		}
	}
	// The anchor before the change still agrees.
	rep = verify(t, withAnchors(forged, 0, 40, l.anchorOf(10)), opts)
	if !rep.Valid {
		t.Fatalf("an anchor before the rewritten event: %+v", rep.Breaks)
	}

	for _, c := range []struct {
		name   string
		anchor ledger.BundleAnchor
		want   string
	}{
		{"forged evidence", ledger.BundleAnchor{Chain: "test:w", Kind: "test", Checkpoint: l.checkpoints[25], Evidence: []byte("attest:00")}, vigil.BreakAnchorInvalid},
		{"evidence of another checkpoint", ledger.BundleAnchor{Chain: "test:w", Kind: "test", Checkpoint: l.checkpoints[25],
			Evidence: l.anchorOf(10).Evidence}, vigil.BreakAnchorInvalid},
		{"a checkpoint of another key", func() ledger.BundleAnchor {
			other, _ := mustKey(t)
			cp := signAs(t, other, testOrigin, 25, l.root(25))
			return ledger.BundleAnchor{Chain: "test:w", Kind: "test", Checkpoint: cp, Evidence: testEvidence(ledger.CheckpointBody(cp))}
		}(), vigil.BreakSignatureInvalid},
		{"beyond the log", func() ledger.BundleAnchor {
			longer := newTestLog(t, skey, vkey, 45)
			return longer.anchorOf(45)
		}(), vigil.BreakRollback},
	} {
		rep := verify(t, withAnchors(l, 0, 40, c.anchor), opts)
		if rep.Valid || !hasBreak(rep.Breaks, c.want) || rep.Anchors[0].Problem == "" && c.want != vigil.BreakRollback {
			t.Errorf("%s: %+v %+v, want %s", c.name, rep.Breaks, rep.Anchors, c.want)
		}
	}

	// Anchor lines need a version 2 header.
	v1 := strings.Replace(string(full), ledger.BundleFormatV2, ledger.BundleFormat, 1)
	var be *ledger.BundleError
	if _, err := ledger.VerifyBundle(strings.NewReader(v1), opts); !errors.As(err, &be) {
		t.Fatalf("anchor lines under a v1 header: %v", err)
	}
}

func mustKey(t *testing.T) (string, string) {
	t.Helper()
	s, v, err := ledger.GenerateKey("test.vigil")
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}
