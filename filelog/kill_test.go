package filelog_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/filelog"
	"github.com/vigilhq/vigil/storetest"
)

// killOpts are the options of the killed child and of the parent: small
// segments, so that kills also land around a segment's creation.
var killOpts = filelog.Options{SegmentBytes: 512 << 10}

var killWorkspaces = []string{"a", "b", "c"}

// TestAcknowledgedRecordsSurviveKill runs a child process (this test
// binary again) that appends groups of up to 300 records of three
// workspaces in a loop and prints each workspace's head after each
// Append returns. The parent kills it with SIGKILL at a random moment
// (often in the middle of a write: a large one is not atomic), reopens
// the log and checks that every acknowledged record is there and intact,
// and that what is there beyond is whole records in order. Five rounds
// on one directory: each child continues the log the last one left.
func TestAcknowledgedRecordsSurviveKill(t *testing.T) {
	if dir := os.Getenv("VIGIL_FILELOG_CHILD"); dir != "" {
		killChild(dir)
		return
	}
	dir := t.TempDir()
	acked := map[string]int64{}
	for round := range 5 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAcknowledgedRecordsSurviveKill$")
		cmd.Env = append(os.Environ(), "VIGIL_FILELOG_CHILD="+dir)
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		killAfter := 20 + rand.IntN(150)
		n := 0
		for n < killAfter && lines.Scan() {
			for _, f := range strings.Fields(lines.Text()) {
				ws, head, _ := strings.Cut(f, "=")
				h, err := strconv.ParseInt(head, 10, 64)
				if err != nil {
					cmd.Process.Kill()
					t.Fatalf("child said %q", lines.Text())
				}
				acked[ws] = max(acked[ws], h)
			}
			n++
		}
		cmd.Process.Kill()
		cmd.Wait()
		if n < killAfter {
			t.Fatalf("round %d: the child stopped after %d acknowledgements: %v", round, n, lines.Err())
		}

		var logged strings.Builder
		opts := killOpts
		opts.Logger = slog.New(slog.NewTextHandler(&logged, nil))
		l, err := filelog.Open(dir, opts)
		if err != nil {
			t.Fatalf("round %d: reopening after the kill: %v", round, err)
		}
		heads, err := l.Heads(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, ws := range killWorkspaces {
			if heads[ws] < acked[ws] {
				t.Fatalf("round %d: %s has %d records, %d were acknowledged", round, ws, heads[ws], acked[ws])
			}
			got, err := l.Read(ctxT(t), ws, 0, int(heads[ws]))
			if err != nil {
				t.Fatal(err)
			}
			same(t, got, storetest.NewLogBuilder(ws).Next(int(heads[ws])))
		}
		t.Logf("round %d: killed after %d acknowledgements; heads %v, acknowledged %v, %+v; torn tail cut: %v",
			round, n, heads, acked, l.Stats(), strings.Contains(logged.String(), "cut a torn tail"))
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// killChild appends until it is killed, continuing the log in dir.
func killChild(dir string) {
	l, err := filelog.Open(dir, killOpts)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	heads, err := l.Heads(ctx)
	if err != nil {
		panic(err)
	}
	builders := map[string]*storetest.LogBuilder{}
	for _, ws := range killWorkspaces {
		builders[ws] = storetest.NewLogBuilder(ws)
		builders[ws].Next(int(heads[ws]))
	}
	for {
		var group []vigil.LogRecord
		touched := map[string]bool{}
		for range 1 + rand.IntN(300) {
			ws := killWorkspaces[rand.IntN(len(killWorkspaces))]
			group = append(group, builders[ws].Next(1)...)
			touched[ws] = true
		}
		if err := l.Append(ctx, group); err != nil {
			panic(err)
		}
		var line strings.Builder
		for _, ws := range killWorkspaces {
			if touched[ws] {
				fmt.Fprintf(&line, "%s=%d ", ws, builders[ws].Size())
			}
		}
		fmt.Println(line.String())
	}
}
