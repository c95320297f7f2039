package filelog_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/filelog"
	"github.com/vigilhq/vigil/storetest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// open opens the log in dir, closed when the test ends.
func open(t *testing.T, dir string, opts filelog.Options) *filelog.Log {
	t.Helper()
	l, err := filelog.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestLogStorage(t *testing.T) {
	for _, seg := range []int64{0, 4096} {
		t.Run(map[int64]string{0: "DefaultSegments", 4096: "SmallSegments"}[seg], func(t *testing.T) {
			storetest.RunLogStorage(t, func(t *testing.T) func() vigil.LogStorage {
				dir := t.TempDir()
				return func() vigil.LogStorage {
					l, err := filelog.Open(dir, filelog.Options{SegmentBytes: seg})
					if err != nil {
						t.Fatal(err)
					}
					return l
				}
			})
		})
	}
}
