package main

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/note"
)

// tesseraSystem is Tessera with its POSIX driver, sequencing batches of
// 256 entries or 10 ms, checkpoints signed every second (as Vigil's).
// An Add's future resolves once the entry is sequenced and integrated:
// the batch's entry bundles, the tiles and the tree state are each
// written to a temporary file opened O_SYNC, renamed or linked into
// place, and the directory fsync'd (storage/posix/file_ops.go). The
// signed checkpoint is published asynchronously after that, as Vigil's.
var tesseraSystem = system{
	name:       "tessera",
	durability: "storage/posix, batches of 256 or 10 ms: the future resolves after the bundles, tiles and tree state are written O_SYNC and their directories fsync'd",
	open:       openTessera,
}

type tesseraLog struct {
	appender *tessera.Appender
	shutdown func(context.Context) error
	cancel   context.CancelFunc
}

func openTessera(ctx context.Context, dir string, _ int) (appender, error) {
	skey, _, err := note.GenerateKey(rand.Reader, "bench.tessera")
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, err
	}
	driver, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return nil, err
	}
	// The appender's background work lives until Close.
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a, shutdown, _, err := tessera.NewAppender(bg, driver, tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithBatching(256, 10*time.Millisecond).
		WithCheckpointInterval(time.Second))
	if err != nil {
		cancel()
		return nil, err
	}
	return tesseraLog{appender: a, shutdown: shutdown, cancel: cancel}, nil
}

func (t tesseraLog) Append(ctx context.Context, e vigil.Event) error {
	rec, _, err := record(e)
	if err != nil {
		return err
	}
	_, err = t.appender.Add(ctx, tessera.NewEntry(rec))()
	return err
}

// Close waits until a checkpoint commits to every entry added, then
// stops the appender.
func (t tesseraLog) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := t.shutdown(ctx)
	t.cancel()
	return err
}
