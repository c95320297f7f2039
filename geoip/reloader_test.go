package geoip_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhq/vigil/geoip"
)

var probe = netip.MustParseAddr("81.2.69.142")

// version returns a GeoLite2-shaped database that places probe in the given
// city, so each version of a file is recognisable by its answer.
func version(tb testing.TB, city string) []byte {
	tb.Helper()
	return buildMMDB(tb, geoLite2, 6, []place{{cidr: london.cidr, country: "GB", region: "England", city: city}})
}

func cityOf(r *geoip.Reloader) string { return r.Lookup(probe).City }

// eventually waits up to five seconds for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// MustNewReloader writes the first version of dir/db.mmdb and serves it.
func MustNewReloader(tb testing.TB, dir string, logger *slog.Logger) (*geoip.Reloader, string) {
	tb.Helper()
	path := filepath.Join(dir, "db.mmdb")
	replaceFile(tb, path, version(tb, "v0"))
	r, err := geoip.NewReloader(logger, path)
	if err != nil {
		tb.Fatal(err)
	}
	return r, path
}

// Lookups running on every core while the DB is swapped, by rename and by
// rewriting in place, must always get an answer from one version or the
// other: never the zero Location, never a fault. Run with -race.
func TestReloadUnderConcurrentLookups(t *testing.T) {
	r, path := MustNewReloader(t, t.TempDir(), nil)
	versions := [][]byte{version(t, "v0"), version(t, "v1")}

	var stop atomic.Bool
	var lookups atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if c := cityOf(r); c != "v0" && c != "v1" {
					t.Errorf("lookup during reload answered %q", c)
					return
				}
				lookups.Add(1)
			}
		})
	}
	for i := range 40 {
		want := i % 2
		if i%4 == 3 {
			if err := os.WriteFile(path, versions[want], 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			replaceFile(t, path, versions[want])
		}
		if err := r.Reload(); err != nil {
			t.Fatal(err)
		}
		if got := cityOf(r); got != []string{"v0", "v1"}[want] {
			t.Fatalf("after reload %d: city %q", i, got)
		}
	}
	stop.Store(true)
	wg.Wait()
	if lookups.Load() == 0 {
		t.Fatal("no concurrent lookup ran")
	}
}

func TestFailedReloadKeepsOldDB(t *testing.T) {
	dir := t.TempDir()
	r, path := MustNewReloader(t, dir, nil)
	before := r.DB()

	for _, bad := range [][]byte{[]byte("not a database"), version(t, "v1")[:100]} {
		replaceFile(t, path, bad)
		err := r.Reload()
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("Reload = %v, want an error naming %s", err, path)
		}
		if r.DB() != before || cityOf(r) != "v0" {
			t.Fatalf("after a failed reload: city %q", cityOf(r))
		}
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err == nil || cityOf(r) != "v0" {
		t.Fatalf("Reload of a removed file = %v, city %q", err, cityOf(r))
	}

	if _, err := geoip.NewReloader(nil, path); err == nil {
		t.Fatal("NewReloader of a missing file succeeded")
	}
}

// logBuffer collects a logger's output for the test to read while Watch
// writes to it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

func TestWatch(t *testing.T) {
	var logs logBuffer
	r, path := MustNewReloader(t, t.TempDir(), slog.New(slog.NewJSONHandler(&logs, nil)))
	const interval = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Watch(ctx, interval)
	}()

	// Unchanged files are not reloaded.
	first := r.DB()
	time.Sleep(10 * interval)
	if r.DB() != first {
		t.Fatal("Watch reloaded unchanged files")
	}

	// Replaced by rename.
	replaceFile(t, path, version(t, "v1"))
	eventually(t, "v1", func() bool { return cityOf(r) == "v1" })

	// Rewritten in place, with the same size: the modification time tells.
	v2 := version(t, "v2")
	if len(v2) != len(version(t, "v1")) {
		t.Fatal("fixture versions differ in size")
	}
	if err := os.WriteFile(path, v2, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, time.Time{}, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "v2", func() bool { return cityOf(r) == "v2" })

	// A bad file is reported once and the old DB stays in service. (The
	// in-place rewrite above may itself have been caught half-written and
	// warned about: updaters that write in place are racy by nature, and
	// the next tick recovers.)
	warned := logs.count("reload failed")
	replaceFile(t, path, []byte("a download cut short"))
	eventually(t, "the warning", func() bool { return logs.count("reload failed") == warned+1 })
	time.Sleep(10 * interval)
	if n := logs.count("reload failed") - warned; n != 1 || cityOf(r) != "v2" {
		t.Fatalf("after a bad file: %d warnings, city %q", n, cityOf(r))
	}

	// Its fix is picked up.
	replaceFile(t, path, version(t, "v3"))
	eventually(t, "v3", func() bool { return cityOf(r) == "v3" })
	// Three changes, three reloads at least: the in-place rewrite may be
	// seen again once its modification time is set.
	if n := logs.count("database reloaded"); n < 3 {
		t.Errorf("%d reloads logged, want 3 or more", n)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after its context ended")
	}
}
