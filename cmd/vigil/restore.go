package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/backup"
	"github.com/vigilhq/vigil/filelog"
	"github.com/vigilhq/vigil/internal/private"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/note"
)

// filesFlag collects a repeated flag.
type filesFlag []string

func (f *filesFlag) String() string     { return strings.Join(*f, ",") }
func (f *filesFlag) Set(s string) error { *f = append(*f, s); return nil }

// runRestore rebuilds a data directory from a backup into a new
// directory, opens it (the engine brings the projection up to the
// restored log), verifies it, and reports what it could not restore.
func runRestore(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "restore")
	from := fs.String("from", "", "the backup: a directory or s3://bucket/prefix (S3 as for vigil backup)")
	data := fs.String("data", "", "the data directory to rebuild: it must not exist or be empty")
	keyPath := fs.String("backup-key", "", "the backup key file (the copy kept apart from the backups)")
	vkey := fs.String("verifier-key", "", "the ledger's verifier key (vigil ledger key prints it), or a file holding it: the manifest and its checkpoints must be signed by it")
	gen := fs.Int64("generation", 0, "the generation to restore (default: the latest)")
	witness := fs.String("witness-file", "", "a witness file kept outside the lost data directory: its checkpoints past the backup say which acknowledged events were lost")
	kek := fs.String("kek-file", "", "the key-encryption key file, kept apart from the backups (they hold the data keys wrapped by it, never it): copied into the restored directory as kek.key")
	var checkpoints filesFlag
	fs.Var(&checkpoints, "checkpoint", "a signed checkpoint kept elsewhere (vigil verify --save, an anchor's): one past the backup says which events were lost (repeatable)")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case *from == "":
		return errors.New("--from SRC is required")
	case *data == "":
		return errors.New("--data DIR is required (a new directory)")
	case *keyPath == "":
		return errors.New("--backup-key FILE is required: the backup key, kept apart from the backups")
	case *vkey == "":
		return errors.New("--verifier-key KEY is required: the ledger's verifier key, known apart from the backup")
	}
	verifier, err := readVerifierKey(*vkey)
	if err != nil {
		return err
	}
	key, err := backup.LoadKey(*keyPath)
	if err != nil {
		return fmt.Errorf("--backup-key: %w", err)
	}
	known, err := knownCheckpoints(*witness, checkpoints)
	if err != nil {
		return err
	}
	if err := emptyDir(*data); err != nil {
		return err
	}
	store, err := backup.Open(ctx, *from, backup.StoreOptions{})
	if err != nil {
		return err
	}
	start := time.Now()
	rep, err := restoreInto(ctx, store, key, *data, backup.RestoreOptions{VerifierKey: verifier, Generation: *gen, Known: known})
	if err != nil {
		// Leave nothing a second attempt would refuse.
		clearDir(*data)
		return err
	}
	restored := time.Since(start)
	w := env.Stdout
	fmt.Fprintf(w, "restored generation %d (created %s) from %s into %s in %s\n",
		rep.Generation, rep.Created.UTC().Format(time.RFC3339Nano), rep.Store, *data, restored.Round(time.Millisecond))
	for _, ws := range rep.Workspaces {
		fmt.Fprintf(w, "  workspace %q: %d events, tree %s; its first %d events are the tree of the manifest's signed checkpoint %s\n",
			ws.Name, ws.Events, ws.Root, ws.Checkpoint, ws.CheckpointRoot)
	}
	fmt.Fprintf(w, "  files: %s\n", strings.Join(append([]string{rep.State}, rep.Files...), ", "))
	during, err := lostDuringBackup(*data, verifier, rep)
	if err != nil {
		return err
	}
	for _, u := range rep.Unverified {
		fmt.Fprintf(w, "  NOT TRUSTED (does not verify): %s\n", u)
	}
	for _, l := range rep.Lost {
		fmt.Fprintf(w, "  LOST: %s\n", l)
	}
	for _, l := range during {
		fmt.Fprintf(w, "  LOST: %s (acknowledged while the backup was written, after what it holds)\n", l)
	}
	if len(rep.Lost) == 0 && len(known) > 0 {
		fmt.Fprintln(w, "  no event lost beyond the backup: no checkpoint given covers more than it holds")
	}
	if err := copyBackupKey(*keyPath, *data); err != nil {
		return err
	}
	if *kek != "" {
		// The restored directory keeps its KEK where vigil serve looks
		// for it by default; an operator who keeps it elsewhere passes
		// --kek-file to serve instead.
		b, err := os.ReadFile(*kek)
		if err != nil {
			return fmt.Errorf("--kek-file: %w", err)
		}
		if err := private.WriteFile(filepath.Join(*data, kekFile), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return err
		}
	}
	return checkRestored(ctx, env, *data, rep)
}

// restoreInto runs the restore into a new log in the data directory.
func restoreInto(ctx context.Context, store backup.Store, key *backup.Key, data string, opt backup.RestoreOptions) (*backup.RestoreReport, error) {
	if _, err := private.Dir(data); err != nil {
		return nil, err
	}
	log, err := filelog.Open(filepath.Join(data, logDir), filelog.Options{})
	if err != nil {
		return nil, err
	}
	rep, err := backup.Restore(ctx, store, key, backup.Target{Log: log, Dir: data}, opt)
	if cerr := log.Close(); err == nil {
		err = cerr
	}
	return rep, err
}

// checkRestored opens the restored directory, lets the engine bring the
// projection up to the restored log, writes the witness the restored
// state implies, and verifies every workspace.
func checkRestored(ctx context.Context, env *Env, data string, rep *backup.RestoreReport) error {
	// The witness in the backup was copied after the log and the state:
	// it may be ahead of both (lostDuringBackup reported that). The
	// restored directory's witness is the restored state's own latest
	// checkpoints, written below once the store is open.
	if err := os.Remove(filepath.Join(data, witnessFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	start := time.Now()
	d, err := openData(ctx, data, offlineData(env))
	if err != nil {
		return err
	}
	defer d.close()
	for d.db.Engine.MaxLag() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	notes := map[string]string{}
	for _, ws := range rep.Workspaces {
		if head := d.db.Engine.Head(ws.Name); head != ws.Events {
			return fmt.Errorf("the restored store holds %d events of %q, the backup %d", head, ws.Name, ws.Events)
		}
		cp, err := d.db.Checkpoint(ctx, ws.Name, -1)
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			continue
		} else if err != nil {
			return err
		}
		notes[ws.Name] = string(cp.Note)
	}
	if err := writeWitness(filepath.Join(data, witnessFile), notes); err != nil {
		return err
	}
	var events int64
	for _, ws := range rep.Workspaces {
		v, err := d.db.Verify(ctx, ws.Name, vigil.VerifyOptions{})
		if err != nil {
			return err
		}
		if len(v.Breaks) > 0 {
			return fmt.Errorf("the restored workspace %q does not verify: %s: %s", ws.Name, v.Breaks[0].Type, v.Breaks[0].Detail)
		}
		events += v.EventsChecked
		if err := checkAnchors(ctx, env, d, ws.Name); err != nil {
			return err
		}
	}
	if err := d.close(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "opened and verified: %d events re-hashed against the tree and its checkpoints in %s; start the server on %s\n",
		events, time.Since(start).Round(time.Millisecond), data)
	return nil
}

// lostDuringBackup reads the witness file the backup holds, copied after
// its log: a checkpoint in it past what the generation holds covers
// events acknowledged while the backup was being written.
func lostDuringBackup(data, vkey string, rep *backup.RestoreReport) ([]backup.Loss, error) {
	known, err := backup.ReadWitness(filepath.Join(data, witnessFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	held := map[string]int64{}
	for _, ws := range rep.Workspaces {
		held[ws.Name] = ws.Events
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	logName := v.Name()
	var out []backup.Loss
	for _, k := range known {
		cp, err := ledger.Open(k.Note, vkey)
		if err != nil {
			continue
		}
		ws, ok := strings.CutPrefix(cp.Origin, logName+"/")
		if ok && cp.Size > held[ws] {
			out = append(out, backup.Loss{Workspace: ws, Events: cp.Size - held[ws], First: held[ws], Last: cp.Size - 1,
				KnownSize: cp.Size, Known: "the witness file in the backup"})
		}
	}
	return out, nil
}

// writeWitness writes a witness file: a JSON object from workspace to
// the signed note of its latest checkpoint, the format the store keeps.
func writeWitness(path string, notes map[string]string) error {
	b, err := json.MarshalIndent(notes, "", "  ")
	if err != nil {
		return err
	}
	return private.WriteFile(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// knownCheckpoints reads the witness file and checkpoint files given.
func knownCheckpoints(witness string, files []string) ([]backup.Known, error) {
	var known []backup.Known
	if witness != "" {
		k, err := backup.ReadWitness(witness)
		if err != nil {
			return nil, fmt.Errorf("--witness-file: %w", err)
		}
		known = append(known, k...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--checkpoint: %w", err)
		}
		known = append(known, backup.Known{Note: b, From: "the checkpoint file " + f})
	}
	return known, nil
}

// readVerifierKey takes the key itself or a file holding it.
func readVerifierKey(s string) (string, error) {
	if b, err := os.ReadFile(s); err == nil {
		s = string(b)
	}
	s = strings.TrimSpace(s)
	if _, err := note.NewVerifier(s); err != nil {
		return "", fmt.Errorf("--verifier-key: %w", err)
	}
	return s, nil
}

// emptyDir refuses a data directory that exists and holds anything.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s is not empty: restore into a new data directory (nothing was changed)", dir)
	}
	return nil
}

// clearDir removes what a failed restore left in the directory.
func clearDir(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// copyBackupKey puts the backup key into the restored directory, where
// serve --backup-to and vigil backup look for it, so that backups go on
// to the same destination.
func copyBackupKey(from, data string) error {
	to := filepath.Join(data, backup.KeyFile)
	if _, err := os.Stat(to); err == nil {
		return nil
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return private.WriteFile(to, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// checkAnchors compares the restored log with every confirmed anchor the
// restored state holds: each anchored root within the restored log must
// be the restored tree's root at that size (a rewritten backup fails
// here even when re-signed), and an anchor beyond it says how many
// anchored events the backup does not hold.
func checkAnchors(ctx context.Context, env *Env, d *dataDir, ws string) error {
	anchors, err := d.db.AnchorsThrough(ctx, ws, math.MaxInt64)
	if err != nil {
		return err
	}
	head := d.db.Engine.Head(ws)
	agreed := 0
	for _, a := range anchors {
		if a.TreeSize > head {
			fmt.Fprintf(env.Stdout, "  LOST: workspace %q: anchor %s (%s) attests %d events; the restored log holds %d\n", ws, a.ID, a.Chain, a.TreeSize, head)
			continue
		}
		root, err := d.db.TreeRoot(ctx, ws, a.TreeSize)
		if err != nil {
			return err
		}
		if root != a.Root {
			return fmt.Errorf("the restored workspace %q disagrees with anchor %s (%s) at size %d: the backup's log was rewritten", ws, a.ID, a.Chain, a.TreeSize)
		}
		agreed++
	}
	if agreed > 0 {
		fmt.Fprintf(env.Stdout, "  workspace %q: the restored tree agrees with its %d confirmed anchors\n", ws, agreed)
	}
	return nil
}
