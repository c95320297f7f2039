package backup

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/internal/private"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// Target is where a restore rebuilds a data directory: an empty log and
// the directory the state file and the other files are written to.
type Target struct {
	Log vigil.LogStorage
	Dir string
}

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// VerifierKey is the ledger's note verifier key, known apart from the
	// backup (it is published to whoever verifies the log's checkpoints):
	// the manifest and its checkpoints must be signed by it.
	VerifierKey string
	// Generation is the one restored; 0 means the latest.
	Generation int64
	// Known are checkpoints kept outside the backup (the witness file,
	// the latest anchor): one past the backup says which events the
	// restore lost; one within it must be a tree the restored log has.
	Known []Known
}

// Known is a signed checkpoint kept somewhere else, and where.
type Known struct {
	Note []byte
	From string
}

// RestoreReport says what a restore rebuilt and what it could not.
type RestoreReport struct {
	Generation int64
	Created    time.Time
	Store      string
	Workspaces []RestoredWorkspace
	// State is the state file written, Files the other files.
	State string
	Files []string
	// Lost are the events a known checkpoint proves were acknowledged
	// after the backup.
	Lost []Loss
	// Unverified are known checkpoints that were not taken into account,
	// with why.
	Unverified []string
}

// RestoredWorkspace is one workspace's rebuilt log: Events events whose
// tree has Root, and whose first Checkpoint events are the tree of the
// manifest's signed checkpoint, of CheckpointRoot.
type RestoredWorkspace struct {
	Name           string
	Events         int64
	Root           vigil.Hash
	Checkpoint     int64
	CheckpointRoot vigil.Hash
	Chunks         int
}

// Loss is a range of acknowledged events the backup does not hold: the
// sequences [First, Last] of Workspace, which a checkpoint of KnownSize
// from Known covers.
type Loss struct {
	Workspace   string
	Events      int64
	First, Last int64
	KnownSize   int64
	Known       string
}

func (l Loss) String() string {
	return fmt.Sprintf("workspace %q lost %d events, sequences %d to %d (the checkpoint of size %d from %s covers them)",
		l.Workspace, l.Events, l.First, l.Last, l.KnownSize, l.Known)
}

// Restore rebuilds a data directory from a generation. It first fetches
// every object of the generation into a private staging directory inside
// target.Dir, checking each against the manifest's SHA-256, decrypting
// it, and recomputing each workspace's tree from the leaves against the
// signed checkpoint; only when all of that holds does it append to the
// log and move the files into place. A missing or altered object is an
// *IntegrityError naming it, and nothing is written.
func Restore(ctx context.Context, from Store, key *Key, into Target, opt RestoreOptions) (*RestoreReport, error) {
	if opt.VerifierKey == "" {
		return nil, errors.New("backup: restore needs the ledger's verifier key to check the manifest's signature")
	}
	if into.Log == nil || into.Dir == "" {
		return nil, errors.New("backup: restore needs a log and a data directory")
	}
	gen := opt.Generation
	if gen == 0 {
		gens, err := Generations(ctx, from)
		if err != nil {
			return nil, err
		}
		if len(gens) == 0 {
			return nil, fmt.Errorf("backup: %s holds no backup", from)
		}
		gen = gens[len(gens)-1]
	}
	m, _, err := loadManifest(ctx, from, key, opt.VerifierKey, gen)
	if err != nil {
		return nil, err
	}
	heads, err := into.Log.Heads(ctx)
	if err != nil {
		return nil, err
	}
	if len(heads) > 0 {
		return nil, errors.New("backup: the target log is not empty; restore into a new data directory")
	}
	if _, err := private.Dir(into.Dir); err != nil {
		return nil, err
	}
	r := &restore{ctx: ctx, from: from, key: key, into: into, opt: opt, m: m,
		rep: RestoreReport{Generation: m.Generation, Created: m.Created, Store: from.String()}}
	r.staging, err = os.MkdirTemp(into.Dir, ".restore-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(r.staging)
	if err := r.verify(); err != nil {
		return nil, err
	}
	if err := r.apply(); err != nil {
		return nil, err
	}
	return &r.rep, nil
}

type restore struct {
	ctx     context.Context
	from    Store
	key     *Key
	into    Target
	opt     RestoreOptions
	m       *Manifest
	rep     RestoreReport
	staging string
	// known are the verified known checkpoints by workspace.
	known map[string][]knownCheckpoint
	// files are the staged plaintext files to move into the directory.
	files map[string]string
}

type knownCheckpoint struct {
	cp   vigil.Checkpoint
	from string
}

// verify fetches and checks everything, writing only to the staging
// directory.
func (r *restore) verify() error {
	logName := keyName(r.opt.VerifierKey)
	r.readKnown(logName)
	r.files = map[string]string{}
	seen := map[string]bool{}
	for _, w := range r.m.Workspaces {
		if seen[w.Name] {
			return &IntegrityError{manifestName(r.m.Generation), fmt.Errorf("workspace %q is listed twice", w.Name)}
		}
		seen[w.Name] = true
		cp, err := ledger.Open([]byte(w.Checkpoint), r.opt.VerifierKey)
		if err != nil {
			return &IntegrityError{manifestName(r.m.Generation), fmt.Errorf("the checkpoint of %q: %w", w.Name, err)}
		}
		if cp.Origin != ledger.Origin(logName, w.Name) || cp.Size != w.Size || base64.StdEncoding.EncodeToString(cp.Root[:]) != w.Root {
			return &IntegrityError{manifestName(r.m.Generation), fmt.Errorf("the checkpoint of %q is of %s size %d, not of this workspace's %d events", w.Name, cp.Origin, cp.Size, w.Size)}
		}
		events := w.events()
		var tree vigil.Hash
		if events > w.Size {
			b, err := base64.StdEncoding.DecodeString(w.Tree)
			if err != nil || len(b) != len(tree) {
				return &IntegrityError{manifestName(r.m.Generation), fmt.Errorf("the tree of %q at %d is not a hash", w.Name, events)}
			}
			copy(tree[:], b)
		} else if w.Events != 0 || w.Tree != "" {
			return &IntegrityError{manifestName(r.m.Generation), fmt.Errorf("workspace %q holds %d events, fewer than its checkpoint's %d", w.Name, w.Events, w.Size)}
		}
		// Roots the known checkpoints within the backup must match.
		want := map[int64]knownCheckpoint{}
		for _, k := range r.known[w.Name] {
			if k.cp.Size <= events {
				want[k.cp.Size] = k
			}
		}
		f := ledger.NewFrontier()
		check := func() error {
			if k, ok := want[f.Size()]; ok && f.Root() != k.cp.Root {
				return fmt.Errorf("backup: the restored log of %q is not the tree of the checkpoint of size %d from %s: the backup is of another log", w.Name, f.Size(), k.from)
			}
			if f.Size() == w.Size && f.Root() != cp.Root {
				return &IntegrityError{manifestName(r.m.Generation), fmt.Errorf("the events of %q recompute to a tree that is not its checkpoint's at size %d", w.Name, w.Size)}
			}
			return nil
		}
		if err := check(); err != nil {
			return err
		}
		for _, c := range w.Chunks {
			if c.First != f.Size() || c.Count <= 0 {
				return &IntegrityError{manifestName(r.m.Generation), fmt.Errorf("the chunks of %q do not follow each other at %d", w.Name, f.Size())}
			}
			leaves, err := r.chunk(w.Name, c)
			if err != nil {
				return err
			}
			for _, l := range leaves {
				f.Append(ledger.LeafHash(l.Leaf))
				if err := check(); err != nil {
					return err
				}
			}
		}
		if f.Size() != events {
			return &IntegrityError{manifestName(r.m.Generation), fmt.Errorf("the chunks of %q hold %d events, the manifest %d", w.Name, f.Size(), events)}
		}
		if events > w.Size && f.Root() != tree {
			return &IntegrityError{manifestName(r.m.Generation), fmt.Errorf("the events of %q recompute to a tree that is not the manifest's at size %d", w.Name, events)}
		}
		r.rep.Workspaces = append(r.rep.Workspaces, RestoredWorkspace{Name: w.Name, Events: events, Root: f.Root(),
			Checkpoint: w.Size, CheckpointRoot: cp.Root, Chunks: len(w.Chunks)})
	}
	objects := r.m.Files
	if r.m.State != nil {
		objects = append([]Object{*r.m.State}, objects...)
	}
	for _, o := range objects {
		if o.Name == "" || o.Name != filepath.Base(o.Name) || strings.HasPrefix(o.Name, ".") {
			return &IntegrityError{o.Object, fmt.Errorf("a file name %q that is not a plain name", o.Name)}
		}
		if _, err := os.Lstat(filepath.Join(r.into.Dir, o.Name)); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("backup: %s exists in %s; restore into a new data directory", o.Name, r.into.Dir)
		}
		plain, err := r.file(o)
		if err != nil {
			return err
		}
		r.files[o.Name] = plain
	}
	r.loss()
	return nil
}

// stage downloads an object into the staging directory, checking its
// SHA-256, and returns the staged file's path.
func (r *restore) stage(name, sum string, size int64) (string, error) {
	rc, err := r.from.Get(r.ctx, name)
	if err != nil {
		if missing(err) {
			return "", &IntegrityError{name, fmt.Errorf("missing from %s", r.from)}
		}
		return "", &IntegrityError{name, err}
	}
	defer rc.Close()
	p := filepath.Join(r.staging, strings.ReplaceAll(name, "/", "_"))
	f, err := private.Create(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rc, size+1))
	if err != nil {
		return "", &IntegrityError{name, err}
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != size || got != sum {
		return "", &IntegrityError{name, fmt.Errorf("altered: %d bytes with SHA-256 %s, the manifest names %d bytes with %s", n, got, size, sum)}
	}
	return p, f.Close()
}

// chunk stages, decrypts and reads one chunk.
func (r *restore) chunk(ws string, c Chunk) ([]chunkRecord, error) {
	p, err := r.stage(c.Object, c.SHA256, c.Bytes)
	if err != nil {
		return nil, err
	}
	return r.readStaged(ws, c, p)
}

func (r *restore) readStaged(ws string, c Chunk, p string) ([]chunkRecord, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := r.key.decrypt(f)
	if err != nil {
		return nil, &IntegrityError{c.Object, fmt.Errorf("does not decrypt: %w", err)}
	}
	leaves, err := readChunk(d, ws, c)
	if err != nil {
		return nil, &IntegrityError{c.Object, err}
	}
	return leaves, nil
}

// file stages and decrypts a file object into a plaintext staged file.
func (r *restore) file(o Object) (string, error) {
	p, err := r.stage(o.Object, o.SHA256, o.Bytes)
	if err != nil {
		return "", err
	}
	in, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer in.Close()
	d, err := r.key.decrypt(in)
	if err != nil {
		return "", &IntegrityError{o.Object, fmt.Errorf("does not decrypt: %w", err)}
	}
	plain := p + ".plain"
	out, err := private.Create(plain)
	if err != nil {
		return "", err
	}
	defer out.Close()
	if _, err := io.Copy(out, d); err != nil {
		return "", &IntegrityError{o.Object, fmt.Errorf("does not decrypt: %w", err)}
	}
	if err := out.Sync(); err != nil {
		return "", err
	}
	return plain, out.Close()
}

// apply appends the verified chunks to the log and moves the files into
// the data directory.
func (r *restore) apply() error {
	for _, w := range r.m.Workspaces {
		f := ledger.NewFrontier()
		for _, c := range w.Chunks {
			leaves, err := r.readStaged(w.Name, c, filepath.Join(r.staging, strings.ReplaceAll(c.Object, "/", "_")))
			if err != nil {
				return err
			}
			recs := make([]vigil.LogRecord, len(leaves))
			for i, l := range leaves {
				recs[i] = vigil.LogRecord{Workspace: w.Name, Sequence: f.Size(), Leaf: l.Leaf, Hashes: f.Append(ledger.LeafHash(l.Leaf)),
					Sealed: l.Sealed, IPFromConnection: l.IPFromConnection}
			}
			if err := r.into.Log.Append(r.ctx, recs); err != nil {
				return fmt.Errorf("backup: restoring %q at %d: %w", w.Name, c.First, err)
			}
		}
		// Read the tree back from the log as written, at the checkpoint
		// and at the end.
		for _, at := range []struct {
			size int64
			root string
		}{{w.Size, w.Root}, {w.events(), w.treeRoot()}} {
			root, err := tlog.TreeHash(at.size, logHashes(r.ctx, r.into.Log, w.Name))
			if err != nil {
				return fmt.Errorf("backup: reading back the restored tree of %q: %w", w.Name, err)
			}
			if base64.StdEncoding.EncodeToString(root[:]) != at.root {
				return fmt.Errorf("backup: the restored log of %q does not read back as the manifest's tree at %d", w.Name, at.size)
			}
		}
	}
	for name, plain := range r.files {
		if err := os.Link(plain, filepath.Join(r.into.Dir, name)); err != nil {
			return fmt.Errorf("backup: restoring %s: %w", name, err)
		}
		if r.m.State != nil && name == r.m.State.Name {
			r.rep.State = name
		} else {
			r.rep.Files = append(r.rep.Files, name)
		}
	}
	return syncDir(r.into.Dir)
}

// readKnown verifies the known checkpoints; one that does not verify is
// reported and not trusted.
func (r *restore) readKnown(logName string) {
	r.known = map[string][]knownCheckpoint{}
	for _, k := range r.opt.Known {
		cp, err := ledger.Open(k.Note, r.opt.VerifierKey)
		if err != nil {
			r.rep.Unverified = append(r.rep.Unverified, fmt.Sprintf("%s: %v", k.From, err))
			continue
		}
		ws, ok := strings.CutPrefix(cp.Origin, logName+"/")
		if !ok {
			r.rep.Unverified = append(r.rep.Unverified, fmt.Sprintf("%s: the checkpoint is of %s, not of the log %s", k.From, cp.Origin, logName))
			continue
		}
		r.known[ws] = append(r.known[ws], knownCheckpoint{cp, k.From})
	}
}

// loss names, per workspace, the events the largest known checkpoint
// covers beyond the backup.
func (r *restore) loss() {
	restored := map[string]int64{}
	for _, w := range r.m.Workspaces {
		restored[w.Name] = w.events()
	}
	for ws, ks := range r.known {
		var top knownCheckpoint
		for _, k := range ks {
			if k.cp.Size > top.cp.Size {
				top = k
			}
		}
		if n := restored[ws]; top.cp.Size > n {
			r.rep.Lost = append(r.rep.Lost, Loss{Workspace: ws, Events: top.cp.Size - n, First: n, Last: top.cp.Size - 1, KnownSize: top.cp.Size, Known: top.from})
		}
	}
	sortLosses(r.rep.Lost)
}
