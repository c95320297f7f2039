package ledger_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// The golden bundles in testdata were written once, by the first version
// of the format, from goldenLog: golden.bundle holds all 50 events,
// golden-range.bundle events [13, 41) with the subtrees around them, and
// golden.checkpoint is the checkpoint of size 30, saved as a user would.
// Every later version must keep verifying them as they are.
const (
	goldenFull  = "golden.bundle"
	goldenRange = "golden-range.bundle"
	goldenSaved = "golden.checkpoint"
)

// writeGolden rewrites the golden files; TestGoldenBundles calls it under
// -update before checking them.
func writeGolden(t *testing.T) {
	l := goldenLog(t)
	for name, data := range map[string][]byte{
		goldenFull:  l.bundle(t, 0, 50),
		goldenRange: l.bundle(t, 13, 41),
		goldenSaved: l.checkpoints[30],
	} {
		if err := os.WriteFile("testdata/"+name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGoldenBundles(t *testing.T) {
	if *update {
		writeGolden(t)
	}
	_, vkey := goldenKey(t)
	saved := readTestdata(t, goldenSaved)
	for _, c := range []struct {
		name     string
		from, to int64
	}{{goldenFull, 0, 50}, {goldenRange, 13, 41}} {
		golden := readTestdata(t, c.name)
		rep := verify(t, golden, ledger.VerifyOptions{Key: vkey, Saved: saved})
		if !rep.Valid || len(rep.Breaks) != 0 || rep.EventsChecked != c.to-c.from || rep.TreeSize != 50 ||
			rep.From != c.from || rep.To != c.to || rep.Origin != testOrigin || rep.KeyFromBundle {
			t.Fatalf("%s: %+v", c.name, rep)
		}
		if rep := verify(t, golden, ledger.VerifyOptions{}); !rep.Valid || !rep.KeyFromBundle {
			t.Fatalf("%s with the bundle's own key: %+v", c.name, rep)
		}
		// Reading and writing a bundle gives it back byte for byte: the
		// writer still writes the format the golden files have.
		b, err := ledger.ReadBundle(bytes.NewReader(golden))
		if err != nil {
			t.Fatal(err)
		}
		if again := writeBundle(t, b); !bytes.Equal(again, golden) {
			t.Fatalf("%s: read and written again, it differs:\n%s", c.name, again)
		}
	}
}

// goldenLines splits a golden bundle into lines and says where its events
// start.
func goldenLines(t *testing.T, name string) (lines []string, firstEvent int) {
	lines = strings.Split(strings.TrimSuffix(string(readTestdata(t, name)), "\n"), "\n")
	for i, l := range lines[1:] {
		if strings.HasPrefix(l, `{"action"`) {
			return lines, i + 1
		}
	}
	t.Fatal("no event lines")
	return nil, 0
}

// flipHexAfter changes the hex digit that follows marker in line.
func flipHexAfter(t *testing.T, line, marker string) string {
	i := strings.Index(line, marker)
	if i < 0 {
		t.Fatalf("no %q in %s", marker, line)
	}
	i += len(marker)
	c := byte('0')
	if line[i] == '0' {
		c = '1'
	}
	return line[:i] + string(c) + line[i+1:]
}

func join(ls []string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

// TestBundleTamperSuite changes the golden bundles the ways an intruder
// might, and checks that each is caught with the break type that names it.
func TestBundleTamperSuite(t *testing.T) {
	skey, vkey := goldenKey(t)
	full, ev := goldenLines(t, goldenFull)
	ranged, rev := goldenLines(t, goldenRange)
	longer := newTestLog(t, skey, vkey, 60, 10, 30, 50)
	otherSkey, otherVkey, _ := ledger.GenerateKey("test.vigil")
	trusted := ledger.VerifyOptions{Key: vkey}
	lineOf := func(ls []string, prefix string, nth int) int {
		for i, l := range ls {
			if strings.HasPrefix(l, prefix) {
				if nth == 0 {
					return i
				}
				nth--
			}
		}
		t.Fatalf("no line %q", prefix)
		return -1
	}
	checkpointLine := func(note []byte) string {
		j, _ := json.Marshal(string(note))
		return `{"checkpoint":` + string(j) + `}`
	}
	cases := []struct {
		name    string
		lines   []string
		mutate  func([]string) []string
		opts    ledger.VerifyOptions
		want    string   // a break of this type must be reported
		allowed []string // and no other types than these
	}{
		{"change one byte of a field", full, func(ls []string) []string {
			ls[ev+5] = strings.Replace(ls[ev+5], `"actor_id":"nurse_a91"`, `"actor_id":"nurse_a92"`, 1)
			return ls
		}, trusted, vigil.BreakCheckpointMismatch, nil},
		{"change one byte of a member name", full, func(ls []string) []string {
			ls[ev+5] = strings.Replace(ls[ev+5], `"actor_id"`, `"actor_iD"`, 1)
			return ls
		}, trusted, vigil.BreakModified, []string{vigil.BreakCheckpointMismatch}},
		{"delete an event line", full, func(ls []string) []string {
			return slices.Delete(ls, ev+7, ev+8)
		}, trusted, vigil.BreakMissing, []string{vigil.BreakCheckpointMismatch}},
		{"swap two event lines", full, func(ls []string) []string {
			ls[ev+3], ls[ev+4] = ls[ev+4], ls[ev+3]
			return ls
		}, trusted, vigil.BreakReordered, []string{vigil.BreakCheckpointMismatch}},
		{"duplicate an event line over another", full, func(ls []string) []string {
			ls[ev+8] = ls[ev+7]
			return ls
		}, trusted, vigil.BreakReordered, []string{vigil.BreakMissing, vigil.BreakCheckpointMismatch}},
		{"truncate", full, func(ls []string) []string { return ls[:len(ls)-10] },
			trusted, vigil.BreakTruncated, nil},
		{"truncate in the middle of a line", full, func(ls []string) []string {
			ls = ls[:len(ls)-10]
			ls[len(ls)-1] = ls[len(ls)-1][:40]
			return ls
		}, trusted, vigil.BreakTruncated, []string{vigil.BreakModified, vigil.BreakCheckpointMismatch}},
		{"a line that is not canonical", full, func(ls []string) []string {
			ls[ev+2] = strings.Replace(ls[ev+2], `{"action"`, `{ "action"`, 1)
			return ls
		}, trusted, vigil.BreakModified, []string{vigil.BreakCheckpointMismatch}},
		{"a line after the events", full, func(ls []string) []string { return append(ls, ls[len(ls)-1]) },
			trusted, vigil.BreakModified, nil},
		{"replace a subtree hash", ranged, func(ls []string) []string {
			i := lineOf(ls, `{"subtree"`, 1)
			ls[i] = flipHexAfter(t, ls[i], `"hash":"`)
			return ls
		}, trusted, vigil.BreakCheckpointMismatch, nil},
		{"drop a subtree line", ranged, func(ls []string) []string {
			return slices.Delete(ls, lineOf(ls, `{"subtree"`, 0), lineOf(ls, `{"subtree"`, 0)+1)
		}, trusted, vigil.BreakHashMismatch, nil},
		{"change an event of a range", ranged, func(ls []string) []string {
			ls[rev+1] = strings.Replace(ls[rev+1], `"outcome":"success"`, `"outcome":"failure"`, 1)
			return ls
		}, trusted, vigil.BreakCheckpointMismatch, nil},
		{"forge a checkpoint signature", full, func(ls []string) []string {
			ls[3] = strings.Replace(ls[3], `\n50\n`, `\n49\n`, 1)
			return ls
		}, trusted, vigil.BreakSignatureInvalid, []string{vigil.BreakCheckpointMismatch}},
		{"checkpoints signed by another key", full, func(ls []string) []string { return ls },
			ledger.VerifyOptions{Key: otherVkey}, vigil.BreakSignatureInvalid, []string{vigil.BreakCheckpointMismatch}},
		{"re-signed with another key and the header changed", full, func(ls []string) []string {
			ls[0] = strings.Replace(ls[0], vkey, otherVkey, 1)
			ls[3] = checkpointLine(signAs(t, otherSkey, testOrigin, 50, longer.root(50)))
			return ls
		}, trusted, vigil.BreakSignatureInvalid, []string{vigil.BreakCheckpointMismatch}},
		{"a fork: another checkpoint of size 30", full, func(ls []string) []string {
			ls[2] = checkpointLine(signAs(t, skey, testOrigin, 30, vigil.Hash{30}))
			return ls
		}, trusted, vigil.BreakInconsistent, []string{vigil.BreakCheckpointMismatch}},
		{"a checkpoint of another log", full, func(ls []string) []string {
			ls[2] = checkpointLine(signAs(t, skey, "test.vigil/other", 30, longer.root(30)))
			return ls
		}, trusted, vigil.BreakCheckpointMismatch, []string{vigil.BreakInconsistent}},
		{"a consistency proof changed", full, func(ls []string) []string {
			i := lineOf(ls, `{"consistency"`, 1)
			ls[i] = flipHexAfter(t, ls[i], `"hashes":["`)
			return ls
		}, trusted, vigil.BreakInconsistent, nil},
		{"a consistency proof dropped", full, func(ls []string) []string {
			return slices.Delete(ls, lineOf(ls, `{"consistency"`, 0), lineOf(ls, `{"consistency"`, 0)+1)
		}, trusted, vigil.BreakInconsistent, nil},
		{"the last checkpoint dropped", full, func(ls []string) []string { return slices.Delete(ls, 3, 4) },
			trusted, vigil.BreakCheckpointMismatch, []string{vigil.BreakInconsistent}},
		{"rolled back behind a saved checkpoint", full, func(ls []string) []string { return ls },
			ledger.VerifyOptions{Key: vkey, Saved: longer.checkpoints[60]}, vigil.BreakRollback, nil},
		{"rewritten under a saved checkpoint", full, func(ls []string) []string { return ls },
			ledger.VerifyOptions{Key: vkey, Saved: signAs(t, skey, testOrigin, 40, vigil.Hash{7})}, vigil.BreakRollback, nil},
		{"rewritten under a saved checkpoint it carries", full, func(ls []string) []string { return ls },
			ledger.VerifyOptions{Key: vkey, Saved: signAs(t, skey, testOrigin, 30, vigil.Hash{7})}, vigil.BreakRollback, nil},
		{"a saved checkpoint the range cannot reach", ranged, func(ls []string) []string { return ls },
			ledger.VerifyOptions{Key: vkey, Saved: longer.checkpoints[10]}, vigil.BreakInconsistent, nil},
		{"a saved checkpoint forged", full, func(ls []string) []string { return ls },
			ledger.VerifyOptions{Key: vkey, Saved: longer.checkpoints[60][:40]}, vigil.BreakSignatureInvalid, nil},
		{"behind its own witness", full, func(ls []string) []string {
			ls[lineOf(ls, `{"witness"`, 0)] = strings.Replace(checkpointLine(longer.checkpoints[60]), "checkpoint", "witness", 1)
			return ls
		}, trusted, vigil.BreakRollback, nil},
		{"the exporter found a corrupted node", full, func(ls []string) []string {
			return slices.Insert(ls, ev, `{"finding":{"detail":"stored tree node 7 disagrees with its children","sequence":3,"type":"hash_mismatch"}}`)
		}, trusted, vigil.BreakHashMismatch, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := verify(t, join(c.mutate(slices.Clone(c.lines))), c.opts)
			if rep.Valid || !hasBreak(rep.Breaks, c.want) {
				t.Fatalf("breaks %+v, want a %q break", rep.Breaks, c.want)
			}
			for _, b := range rep.Breaks {
				if b.Type != c.want && !slices.Contains(c.allowed, b.Type) {
					t.Errorf("unexpected %q break: %+v", b.Type, b)
				}
			}
		})
	}
}

// TestBreaksNameTheEvent: breaks about one event carry its id and place.
func TestBreaksNameTheEvent(t *testing.T) {
	_, vkey := goldenKey(t)
	ls, ev := goldenLines(t, goldenFull)
	ls[ev+5] = strings.Replace(ls[ev+5], `"actor_id"`, `"actor_iD"`, 1)
	ls[ev+20], ls[ev+21] = ls[ev+21], ls[ev+20]
	rep := verify(t, join(ls), ledger.VerifyOptions{Key: vkey})
	var modified, reordered bool
	for _, b := range rep.Breaks {
		switch b.Type {
		case vigil.BreakModified:
			modified = modified || b.Sequence == 5 && b.EventID == testEvent(5).ID
		case vigil.BreakReordered:
			reordered = reordered || b.Sequence == 21 && b.EventID == testEvent(20).ID
		case vigil.BreakCheckpointMismatch:
			if strings.Contains(b.Detail, "tree of 10 events") && !strings.Contains(b.Detail, "in sequences [0, 10)") {
				t.Errorf("the mismatch does not say where: %s", b.Detail)
			}
		}
	}
	if !modified || !reordered {
		t.Fatalf("breaks %+v", rep.Breaks)
	}
}

// TestRangeBundles: every range of a log verifies, with and without
// checkpoints inside it.
func TestRangeBundles(t *testing.T) {
	skey, vkey := goldenKey(t)
	l := newTestLog(t, skey, vkey, 77, 0, 1, 20, 40, 64)
	saved := l.checkpoints[40]
	for from := int64(0); from <= 77; from += 7 {
		for to := from; to <= 77; to += 11 {
			opts := ledger.VerifyOptions{Key: vkey}
			if from <= 40 {
				opts.Saved = saved // reachable: 40 is among the checkpoints of size >= from
			}
			rep := verify(t, l.bundle(t, from, to), opts)
			if !rep.Valid || rep.EventsChecked != to-from || rep.CheckpointsChecked == 0 {
				t.Fatalf("range [%d, %d): %+v", from, to, rep)
			}
		}
	}
	// A saved checkpoint inside the range but not among the bundle's is
	// compared with the root as the events pass its size.
	extra := l.sign(t, 33, l.root(33))
	if rep := verify(t, l.bundle(t, 30, 70), ledger.VerifyOptions{Key: vkey, Saved: extra}); !rep.Valid {
		t.Fatalf("saved checkpoint within the range: %+v", rep.Breaks)
	}
	wrong := l.sign(t, 33, l.root(34))
	if rep := verify(t, l.bundle(t, 30, 70), ledger.VerifyOptions{Key: vkey, Saved: wrong}); !hasBreak(rep.Breaks, vigil.BreakRollback) {
		t.Fatalf("rewritten under a saved checkpoint within the range: %+v", rep.Breaks)
	}
}

func TestWriteBundleErrors(t *testing.T) {
	l := goldenLog(t)
	b := l.bundleOf(t, 0, 50)
	b.Events = func(yield func([]byte, error) bool) { yield(l.leaves[0], nil) }
	var buf bytes.Buffer
	var ce *ledger.CountError
	if err := ledger.WriteBundle(&buf, b); !errors.As(err, &ce) || ce.Written != 1 || ce.Want != 50 {
		t.Fatalf("short events: %v", err)
	}
	if rep := verify(t, buf.Bytes(), ledger.VerifyOptions{Key: l.vkey}); rep.Valid || !hasBreak(rep.Breaks, vigil.BreakTruncated) {
		t.Fatalf("a short bundle: %+v", rep.Breaks)
	}
	b.Events = func(yield func([]byte, error) bool) { yield([]byte("{\n}"), nil) }
	if err := ledger.WriteBundle(&bytes.Buffer{}, b); err == nil {
		t.Fatal("an event with a newline was written")
	}
	b.Events = func(yield func([]byte, error) bool) { yield(nil, errors.New("disk on fire")) }
	if err := ledger.WriteBundle(&bytes.Buffer{}, b); err == nil || err.Error() != "disk on fire" {
		t.Fatalf("the iterator's error: %v", err)
	}
	b.From, b.To = 5, 4
	if err := ledger.WriteBundle(&bytes.Buffer{}, b); err == nil {
		t.Fatal("an impossible range was written")
	}
}

func TestReadBundle(t *testing.T) {
	golden := readTestdata(t, goldenRange)
	b, err := ledger.ReadBundle(bytes.NewReader(golden))
	if err != nil {
		t.Fatal(err)
	}
	if b.From != 13 || b.To != 41 || b.TreeSize != 50 || len(b.Checkpoints) != 2 || len(b.Proofs) != 1 ||
		len(b.Subtrees) != len(ledger.SubtreesOutside(13, 41, 50)) || b.Witness == nil {
		t.Fatalf("%+v", b)
	}
	seq := int64(13)
	for line, err := range b.Events {
		if err != nil {
			t.Fatal(err)
		}
		e, err := ledger.ParseEvent(line)
		if err != nil || e.Sequence != seq || e.ID != testEvent(int(seq)).ID {
			t.Fatalf("event %d: %+v %v", seq, e, err)
		}
		seq++
	}
	if seq != 41 {
		t.Fatalf("%d events", seq-13)
	}
	b, _ = ledger.ReadBundle(bytes.NewReader(golden[:len(golden)-2000]))
	var last error
	for _, err := range b.Events {
		last = err
	}
	var be *ledger.BundleError
	if !errors.As(last, &be) {
		t.Fatalf("a short bundle read without error: %v", last)
	}
}

func TestVerifyBundleRefusesNonBundles(t *testing.T) {
	_, vkey := goldenKey(t)
	golden := string(readTestdata(t, goldenFull))
	header, rest, _ := strings.Cut(golden, "\n")
	cp, rest2, _ := strings.Cut(rest, "\n")
	for name, in := range map[string]string{
		"empty":                  "",
		"empty object":           "{}\n",
		"another format":         strings.Replace(golden, ledger.BundleFormat, "vigil.bundle.v9", 1),
		"from after to":          `{"bundle":"vigil.bundle.v1","events":0,"from":5,"origin":"o","to":1,"tree_size":9,"verifier_key":"k"}` + "\n",
		"count not the range":    strings.Replace(golden, `"events":50`, `"events":49`, 1),
		"unknown header member":  strings.Replace(golden, `"events":50`, `"events":50,"extra":1`, 1),
		"missing header member":  strings.Replace(golden, `"events":50,`, ``, 1),
		"duplicate member":       strings.Replace(golden, `"events":50`, `"events":50,"events":50`, 1),
		"typed lines reordered":  header + "\n" + strings.Replace(rest2, "\n", "\n"+cp+"\n", 3),
		"a malformed typed line": strings.Replace(golden, `{"consistency":{"first":10,`, `{"consistency":{"first":"10",`, 1),
		"two members":            strings.Replace(golden, `{"witness":"`, `{"checkpoint":"x","witness":"`, 1),
		"a line too long":        header + "\n" + `{"checkpoint":"` + strings.Repeat("a", 3<<20) + `"}` + "\n",
	} {
		if _, err := ledger.VerifyBundle(strings.NewReader(in), ledger.VerifyOptions{Key: vkey}); err == nil {
			t.Errorf("%s: accepted as a bundle", name)
		} else if be := (*ledger.BundleError)(nil); !errors.As(err, &be) {
			t.Errorf("%s: %v, want a *BundleError", name, err)
		}
	}
}

// TestVerifyBoundsBreaks: a bundle of nothing but garbage events reports a
// bounded number of breaks.
func TestVerifyBoundsBreaks(t *testing.T) {
	_, vkey := goldenKey(t)
	header := `{"bundle":"vigil.bundle.v1","events":5000,"from":0,"origin":"test.vigil/default","to":5000,"tree_size":5000,"verifier_key":"x"}` + "\n"
	rep := verify(t, []byte(header+strings.Repeat("garbage\n", 5000)), ledger.VerifyOptions{Key: vkey})
	if rep.Valid || len(rep.Breaks) > 1000 || rep.BreaksOmitted == 0 || rep.EventsChecked != 5000 {
		t.Fatalf("%d breaks, %d omitted, %d events", len(rep.Breaks), rep.BreaksOmitted, rep.EventsChecked)
	}
}

func hasBreak(bs []vigil.Break, typ string) bool {
	return slices.ContainsFunc(bs, func(b vigil.Break) bool { return b.Type == typ })
}

// BenchmarkVerifyBundle verifies a bundle of 100,000 varied events with a
// checkpoint every 10,000, and reports events per second.
func BenchmarkVerifyBundle(b *testing.B) {
	skey, vkey, _ := ledger.GenerateKey("bench")
	const n = 100_000
	var cps []int64
	for s := int64(10_000); s < n; s += 10_000 {
		cps = append(cps, s)
	}
	l := newTestLog(b, skey, vkey, n, cps...)
	bundle := l.bundle(b, 0, n)
	b.SetBytes(int64(len(bundle)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := ledger.VerifyBundle(bytes.NewReader(bundle), ledger.VerifyOptions{Key: vkey})
		if err != nil || !rep.Valid {
			b.Fatal(err, rep)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}

// FuzzVerifyBundle: no input makes the verifier panic, and what it finds
// valid is a well-formed bundle whose checkpoint of its size the golden
// key signed.
func FuzzVerifyBundle(f *testing.F) {
	skey, vkey := goldenKey(f)
	// Small seeds: the fuzzer minimizes every input that finds new
	// coverage, which takes minutes for a bundle the golden ones' size.
	l := newTestLog(f, skey, vkey, 6, 0, 2, 5)
	for _, r := range [][2]int64{{0, 6}, {1, 4}, {6, 6}} {
		b := l.bundle(f, r[0], r[1])
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rep, err := ledger.VerifyBundle(bytes.NewReader(in), ledger.VerifyOptions{Key: vkey})
		if err != nil || !rep.Valid {
			return
		}
		b, err := ledger.ReadBundle(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("verified, but does not read: %v", err)
		}
		signed := false
		for _, note := range b.Checkpoints {
			if cp, err := ledger.Open(note, vkey); err == nil && cp.Size == b.TreeSize {
				signed = true
			}
		}
		n := int64(0)
		for line, err := range b.Events {
			if err != nil {
				t.Fatalf("verified, but its events do not read: %v", err)
			}
			if _, err := ledger.ParseEvent(line); err != nil {
				t.Fatalf("verified an event that does not parse: %v", err)
			}
			n++
		}
		if !signed || n != b.To-b.From {
			t.Fatalf("verified without a signed checkpoint of its size, or with %d events", n)
		}
	})
}
