//go:build unix

package client_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilhq/vigil/client"
)

// lockedBuffer is a bytes.Buffer safe for one writer and one reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSpoolFilesPrivate: the spool holds events that name patients, so
// under a permissive umask its directory is 0700 and its files 0600, and
// a spool left open to other users is tightened when it is opened, with a
// warning.
func TestSpoolFilesPrivate(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	s := newServer(t)
	dir := filepath.Join(t.TempDir(), "spool")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer // the spool's sender logs while the test reads
	logger := slog.New(slog.NewTextHandler(&log, nil))
	s.setDown(true)
	c := mustNew(t, s.url, s.ingest, client.WithSpool(dir), client.WithLogger(logger), fastRetry())
	for i := range 5 {
		e := client.Event{ActorID: "a", Action: "spool.private"}
		if i == 2 {
			e.IPAddress = "not-an-address" // refused: rejected.jsonl is written
		}
		if _, err := c.Track(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	wantSpoolPrivate := func() []string {
		t.Helper()
		var names []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := d.Info()
			want := os.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if fi.Mode().Perm() != want {
				t.Errorf("%s: mode %04o, want %04o", p, fi.Mode().Perm(), want)
			}
			names = append(names, d.Name())
			return nil
		})
		return names
	}
	if !strings.Contains(log.String(), "made the directory private") {
		t.Errorf("no warning for the open spool directory:\n%s", log.String())
	}
	wantSpoolPrivate()
	s.setDown(false)
	if err := c.Close(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	names := wantSpoolPrivate()
	for _, want := range []string{"LOCK", "cursor", "rejected.jsonl"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s in the spool: %v", want, names)
		}
	}
	// Files left open to others are tightened at the next open.
	for _, n := range names {
		os.Chmod(filepath.Join(dir, n), 0o644)
	}
	os.Chmod(dir, 0o755)
	log.Reset()
	c = mustNew(t, s.url, s.ingest, client.WithSpool(dir), client.WithLogger(logger), fastRetry())
	if err := c.Close(ctxT(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	wantSpoolPrivate()
	if !strings.Contains(log.String(), "made a file private") || !strings.Contains(log.String(), "file=cursor") {
		t.Errorf("no warning for the open spool files:\n%s", log.String())
	}
}
