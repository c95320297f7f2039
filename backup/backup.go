package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpointer gives the latest signed checkpoint of a workspace
// (size < 0): the one a backup covers. vigil.Ledger has this method.
type Checkpointer interface {
	Checkpoint(ctx context.Context, workspace string, size int64) (vigil.Checkpoint, error)
}

// Snapshotter writes a consistent copy of the state database to a new
// file at path (sqlite.DB.Snapshot: VACUUM INTO), and says how many
// events of each workspace the state holds (sqlite.DB.Cursors, the
// projection's cursors). Read after the snapshot, the cursors bound the
// snapshot's events from above: the backup copies the log at least that
// far, so a restored state is never ahead of its restored log.
type Snapshotter interface {
	Snapshot(ctx context.Context, path string) error
	Cursors(ctx context.Context) (map[string]int64, error)
}

// Source is what a backup copies and the keys it uses.
type Source struct {
	Log         vigil.LogStorage
	Checkpoints Checkpointer
	// State, when set, is snapshotted into each generation as StateName
	// (the database's file name in the data directory).
	State     Snapshotter
	StateName string
	// Files are other files of the data directory copied into each
	// generation under their base names (the ledger key: without it a
	// restored server would sign with a new key).
	Files []string
	// SigningKey is the ledger's note signing key: it signs the manifest,
	// and its verifier key checks the checkpoints and the previous
	// manifest.
	SigningKey string
	// Key encrypts every object.
	Key *Key
}

// Options tune a backup.
type Options struct {
	// ChunkRecords is the most records in one chunk (default 4096).
	ChunkRecords int
	// TempDir holds the state snapshot while it is encrypted (default
	// os.TempDir()); the snapshot is in a private directory there and
	// removed after.
	TempDir string
	Now     func() time.Time
}

// Report says what one backup wrote.
type Report struct {
	Generation int64
	Store      string
	// Lock is how the store keeps the objects; Lock.Missing says why
	// they are not locked.
	Lock       Lock
	Workspaces []WorkspaceReport
	// Skipped are workspaces with events but no checkpoint yet.
	Skipped []string
	// Events is how many events the new chunks hold; LogBytes their
	// leaves' size before encryption.
	Events   int64
	LogBytes int64
	// Objects and Bytes count what was uploaded, encrypted.
	Objects int
	Bytes   int64
	Elapsed time.Duration
}

// WorkspaceReport is one workspace's part of a backup: events [From, To)
// were uploaded in Chunks new chunks; the generation holds To events, of
// which the signed checkpoint it names covers Checkpoint.
type WorkspaceReport struct {
	Name       string
	From, To   int64
	Checkpoint int64
	Chunks     int
}

// Backup writes a new generation to the store: the log's events past the
// previous generation, up to each workspace's latest checkpoint, after
// checking the log's tree against that checkpoint, then the state, the
// files and the signed manifest. The manifest is written last: a backup
// cut short leaves objects no manifest names, never a manifest naming
// missing objects.
func Backup(ctx context.Context, src Source, to Store, opt Options) (*Report, error) {
	start := time.Now()
	if src.Log == nil || src.Checkpoints == nil || src.Key == nil || src.SigningKey == "" {
		return nil, errors.New("backup: a source needs a log, a checkpointer, a backup key and the signing key")
	}
	if opt.ChunkRecords <= 0 {
		opt.ChunkRecords = 4096
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	vkey, err := ledger.VerifierKey(src.SigningKey)
	if err != nil {
		return nil, err
	}
	prev, prevSum, err := latestManifest(ctx, to, src.Key, vkey)
	if err != nil {
		return nil, err
	}
	b := &run{ctx: ctx, src: src, to: to, opt: opt, vkey: vkey, prev: prev}
	b.m = Manifest{Generation: prev.Generation + 1, Created: opt.Now().UTC(), Previous: prevSum}
	b.rep = Report{Generation: b.m.Generation, Store: to.String(), Lock: to.Lock()}
	// The state first, then the checkpoints, then the log's heads: the
	// state's checkpoints are then none newer than the one the generation
	// covers, and the log holds every event either of them names.
	if err := b.state(); err != nil {
		return nil, err
	}
	if err := b.log(); err != nil {
		return nil, err
	}
	for _, f := range src.Files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		o, err := b.put(fileName(b.m.Generation, filepath.Base(f)), data)
		if err != nil {
			return nil, err
		}
		o.Name = filepath.Base(f)
		b.m.Files = append(b.m.Files, o)
	}
	signed, err := signManifest(&b.m, src.SigningKey)
	if err != nil {
		return nil, err
	}
	if _, err := b.put(manifestName(b.m.Generation), signed); err != nil {
		return nil, err
	}
	b.rep.Elapsed = time.Since(start)
	return &b.rep, nil
}

// run is one backup in progress.
type run struct {
	ctx  context.Context
	src  Source
	to   Store
	opt  Options
	vkey string
	prev *Manifest
	m    Manifest
	rep  Report
	// chunks numbers the generation's chunks.
	chunks int
	// applied is how many events of each workspace the state snapshot
	// may hold.
	applied map[string]int64
}

func (b *run) log() error {
	heads, err := b.src.Log.Heads(b.ctx)
	if err != nil {
		return fmt.Errorf("backup: reading the log's heads: %w", err)
	}
	before := map[string]WorkspaceManifest{}
	for _, w := range b.prev.Workspaces {
		before[w.Name] = w
		if _, ok := heads[w.Name]; !ok {
			return fmt.Errorf("backup: workspace %q has %d events in generation %d, and none in the log", w.Name, w.events(), b.prev.Generation)
		}
	}
	names := make([]string, 0, len(heads))
	for ws := range heads {
		names = append(names, ws)
	}
	slices.Sort(names)
	cps := map[string]vigil.Checkpoint{}
	for _, ws := range names {
		cp, err := b.src.Checkpoints.Checkpoint(b.ctx, ws, -1)
		if vigil.ErrorCode(err) == vigil.ENOTFOUND && before[ws].Name == "" {
			if b.applied[ws] > 0 {
				return fmt.Errorf("backup: workspace %q has %d events in the state and no checkpoint yet; retry after the first checkpoint", ws, b.applied[ws])
			}
			b.rep.Skipped = append(b.rep.Skipped, ws)
			continue
		} else if err != nil {
			return fmt.Errorf("backup: the latest checkpoint of %q: %w", ws, err)
		}
		cps[ws] = cp
	}
	// Read again: a live log has grown past every checkpoint read above.
	if heads, err = b.src.Log.Heads(b.ctx); err != nil {
		return fmt.Errorf("backup: reading the log's heads: %w", err)
	}
	for _, ws := range names {
		cp, ok := cps[ws]
		if !ok {
			continue
		}
		w, err := b.workspace(ws, heads[ws], cp, before[ws])
		if err != nil {
			return err
		}
		b.m.Workspaces = append(b.m.Workspaces, *w)
	}
	return nil
}

// workspace backs up one workspace's events past the previous
// generation, up to its checkpoint cp or to the events the state
// snapshot holds, whichever is further.
func (b *run) workspace(ws string, head int64, cp vigil.Checkpoint, prev WorkspaceManifest) (*WorkspaceManifest, error) {
	opened, err := ledger.Open(cp.Note, b.vkey)
	if err != nil {
		return nil, fmt.Errorf("backup: the latest checkpoint of %q: %w", ws, err)
	}
	if want := ledger.Origin(keyName(b.vkey), ws); opened.Origin != want || opened.Size != cp.Size || opened.Root != cp.Root {
		return nil, fmt.Errorf("backup: the latest checkpoint of %q signs %s size %d, not %s size %d", ws, opened.Origin, opened.Size, want, cp.Size)
	}
	events := max(cp.Size, b.applied[ws])
	switch {
	case events > head:
		return nil, fmt.Errorf("backup: the checkpoint and the state of %q cover %d events, the log holds %d", ws, events, head)
	case cp.Size < prev.Size:
		return nil, fmt.Errorf("backup: the checkpoint of %q covers %d events, generation %d already held %d", ws, cp.Size, b.prev.Generation, prev.Size)
	}
	// The log must be the tree the checkpoint signs, and still extend the
	// tree the previous generation backed up: a backup never copies a log
	// that was changed under its checkpoints.
	hashes := logHashes(b.ctx, b.src.Log, ws)
	if root, err := tlog.TreeHash(cp.Size, hashes); err != nil {
		return nil, fmt.Errorf("backup: the tree of %q at %d: %w", ws, cp.Size, err)
	} else if vigil.Hash(root) != cp.Root {
		return nil, fmt.Errorf("backup: the log of %q does not match its checkpoint at %d", ws, cp.Size)
	}
	from := prev.events()
	if prev.Name != "" {
		root, err := tlog.TreeHash(from, hashes)
		if err != nil || base64.StdEncoding.EncodeToString(root[:]) != prev.treeRoot() {
			return nil, fmt.Errorf("backup: the log of %q no longer has the tree of size %d backed up in generation %d", ws, from, b.prev.Generation)
		}
	}
	// A generation never holds fewer events than the one before.
	events = max(events, from)
	w := &WorkspaceManifest{Name: ws, Size: cp.Size, Root: base64.StdEncoding.EncodeToString(cp.Root[:]),
		Checkpoint: string(cp.Note), Chunks: slices.Clone(prev.Chunks)}
	if events > cp.Size {
		root, err := tlog.TreeHash(events, hashes)
		if err != nil {
			return nil, fmt.Errorf("backup: the tree of %q at %d: %w", ws, events, err)
		}
		w.Events, w.Tree = events, base64.StdEncoding.EncodeToString(root[:])
	}
	rep := WorkspaceReport{Name: ws, From: from, To: events, Checkpoint: cp.Size}
	for from < events {
		n := min(int64(b.opt.ChunkRecords), events-from)
		recs, err := b.src.Log.Read(b.ctx, ws, from, int(n))
		if err != nil {
			return nil, fmt.Errorf("backup: reading %q from %d: %w", ws, from, err)
		}
		if int64(len(recs)) != n {
			return nil, fmt.Errorf("backup: the log of %q ends at %d, before %d", ws, from+int64(len(recs)), events)
		}
		leaves := make([]chunkRecord, len(recs))
		for i, r := range recs {
			if r.Sequence != from+int64(i) || len(r.Hashes) == 0 || ledger.LeafHash(r.Leaf) != r.Hashes[0] {
				return nil, fmt.Errorf("backup: record %d of %q does not match its leaf hash", from+int64(i), ws)
			}
			leaves[i] = chunkRecord{Leaf: r.Leaf, Sealed: r.Sealed, IPFromConnection: r.IPFromConnection}
			b.rep.LogBytes += int64(len(r.Leaf) + len(r.Sealed))
		}
		var plain bytes.Buffer
		if err := writeChunk(&plain, ws, from, leaves); err != nil {
			return nil, err
		}
		name := chunkName(b.m.Generation, b.chunks)
		b.chunks++
		o, err := b.put(name, plain.Bytes())
		if err != nil {
			return nil, err
		}
		w.Chunks = append(w.Chunks, Chunk{Object: name, First: from, Count: n, SHA256: o.SHA256, Bytes: o.Bytes})
		rep.Chunks++
		b.rep.Events += n
		from += n
	}
	b.rep.Workspaces = append(b.rep.Workspaces, rep)
	return w, nil
}

// state uploads a snapshot of the state database, encrypted as it
// streams to a private temporary file.
func (b *run) state() error {
	if b.src.State == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(b.opt.TempDir, "vigil-backup-")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	snap := filepath.Join(tmp, "state")
	if err := b.src.State.Snapshot(b.ctx, snap); err != nil {
		return fmt.Errorf("backup: snapshotting the state: %w", err)
	}
	if b.applied, err = b.src.State.Cursors(b.ctx); err != nil {
		return fmt.Errorf("backup: reading the state's cursors: %w", err)
	}
	in, err := os.Open(snap)
	if err != nil {
		return err
	}
	defer in.Close()
	sealed := filepath.Join(tmp, "state.age")
	out, err := os.OpenFile(sealed, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	h := sha256.New()
	enc, err := b.src.Key.encrypt(io.MultiWriter(out, h))
	if err != nil {
		return err
	}
	if _, err := io.Copy(enc, in); err != nil {
		return fmt.Errorf("backup: encrypting the state: %w", err)
	}
	if err := enc.Close(); err != nil {
		return err
	}
	size, err := out.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return err
	}
	name := stateName(b.m.Generation)
	if err := b.to.Put(b.ctx, name, out, size); err != nil {
		return err
	}
	b.count(size)
	b.m.State = &Object{Name: b.src.StateName, Object: name, SHA256: hex.EncodeToString(h.Sum(nil)), Bytes: size}
	return nil
}

// put encrypts plaintext and writes it as an object.
func (b *run) put(name string, plain []byte) (Object, error) {
	var sealed bytes.Buffer
	enc, err := b.src.Key.encrypt(&sealed)
	if err != nil {
		return Object{}, err
	}
	enc.Write(plain)
	if err := enc.Close(); err != nil {
		return Object{}, err
	}
	sum := sha256.Sum256(sealed.Bytes())
	size := int64(sealed.Len())
	if err := b.to.Put(b.ctx, name, &sealed, size); err != nil {
		return Object{}, err
	}
	b.count(size)
	return Object{Object: name, SHA256: hex.EncodeToString(sum[:]), Bytes: size}, nil
}

func (b *run) count(size int64) {
	b.rep.Objects++
	b.rep.Bytes += size
}

// logHashes reads a workspace's stored tree hashes for tlog.
func logHashes(ctx context.Context, log vigil.LogStorage, ws string) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		hs, err := log.ReadHashes(ctx, ws, indexes)
		if err != nil {
			return nil, err
		}
		out := make([]tlog.Hash, len(hs))
		for i, h := range hs {
			out[i] = tlog.Hash(h)
		}
		return out, nil
	})
}

// keyName is the name of a note verifier key: the log name.
func keyName(vkey string) string {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return ""
	}
	return v.Name()
}
