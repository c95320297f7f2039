package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/backup"
	"github.com/vigilhq/vigil/filelog"
	"github.com/vigilhq/vigil/internal/private"
)

// backupKeyUsage documents --backup-key, the same for every command.
const backupKeyUsage = "the backup key file, which encrypts every object (default: backup.key in the data directory, created on first use; keep a copy apart from the backups: they cannot be restored without it)"

// runBackup writes one backup generation of a data directory, beside a
// running server or not: it snapshots the state, reads the latest
// checkpoints, and only then opens the log read-only (filelog.OpenReadOnly,
// no lock), so that the log it reads holds everything the snapshot and the
// checkpoints name.
func runBackup(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "backup")
	data := fs.String("data", "./vigil-data", "data directory (a server may be running on it)")
	to := fs.String("to", "", "destination: a directory or s3://bucket/prefix (S3 credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION; endpoint from VIGIL_S3_ENDPOINT)")
	keyPath := fs.String("backup-key", "", backupKeyUsage)
	witness := fs.String("witness-file", "", witnessUsage)
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *to == "" {
		return errors.New("--to DEST is required (a directory or s3://bucket/prefix)")
	}
	if _, err := os.Stat(filepath.Join(*data, dbFile)); err != nil {
		return fmt.Errorf("%s is not a Vigil data directory: %w", *data, err)
	}
	key, err := loadBackupKey(env, *data, *keyPath)
	if err != nil {
		return err
	}
	store, err := backup.Open(ctx, *to, backup.StoreOptions{})
	if err != nil {
		return err
	}
	opt := offlineData(env)
	opt.witness = *witness
	d, err := openData(ctx, *data, opt)
	if err != nil {
		return err
	}
	defer d.close()
	tmp, err := os.MkdirTemp("", "vigil-backup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src, err := frozenSource(ctx, d, tmp, *witness)
	if err != nil {
		return err
	}
	defer src.Log.Close()
	src.Key = key
	rep, err := backup.Backup(ctx, src, store, backup.Options{})
	if err != nil {
		return err
	}
	printBackup(env.Stdout, rep)
	return nil
}

// loadBackupKey reads the backup key, creating it in the data directory
// on first use (and saying so: the operator must copy it away).
func loadBackupKey(env *Env, data, path string) (*backup.Key, error) {
	if path == "" {
		path = filepath.Join(data, backup.KeyFile)
	}
	key, created, err := backup.LoadOrCreateKey(path)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(env.Stderr, "Created the backup key %s. Copy it somewhere apart from the backups and from this machine now: no backup can be restored without it.\n", path)
	}
	return key, nil
}

// frozenSource takes, in order, the state snapshot, the state's cursors
// and the latest checkpoints, then opens the log read-only: a log opened
// after them holds every event they name, whatever a running server
// appends meanwhile (it does not see later appends, which the next
// generation takes).
func frozenSource(ctx context.Context, d *dataDir, tmp, witness string) (backup.Source, error) {
	snap := filepath.Join(tmp, dbFile)
	if err := d.db.Snapshot(ctx, snap); err != nil {
		return backup.Source{}, err
	}
	cursors, err := d.db.Cursors(ctx)
	if err != nil {
		return backup.Source{}, err
	}
	names, err := d.db.Workspaces(ctx)
	if err != nil {
		return backup.Source{}, err
	}
	cps := frozenCheckpoints{}
	for _, ws := range names {
		cp, err := d.db.Checkpoint(ctx, ws, -1)
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			continue
		} else if err != nil {
			return backup.Source{}, err
		}
		cps[ws] = cp
	}
	log, err := filelog.OpenReadOnly(filepath.Join(d.path, logDir))
	if err != nil {
		return backup.Source{}, err
	}
	files, err := backupFiles(d.path, witness, tmp)
	if err != nil {
		log.Close()
		return backup.Source{}, err
	}
	return backup.Source{Log: log, Checkpoints: cps, State: takenSnapshot{snap, cursors}, StateName: dbFile,
		Files: files, SigningKey: d.signingKey}, nil
}

// backupFiles are the data directory's files a restored server needs:
// the ledger key (without it the restored server would sign with a new
// key), the console and reports secrets (the users' sealed TOTP secrets,
// the download links), and the witness file, which a restore reads as a
// checkpoint kept apart from the state. A witness kept outside the data
// directory is copied under the name it has inside one.
func backupFiles(data, witness, tmp string) ([]string, error) {
	var files []string
	for _, name := range []string{keyFile, consoleSecret, reportsSecret} {
		p := filepath.Join(data, name)
		if _, err := os.Stat(p); err == nil {
			files = append(files, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if witness == "" {
		witness = filepath.Join(data, witnessFile)
	}
	b, err := os.ReadFile(witness)
	if errors.Is(err, fs.ErrNotExist) {
		return files, nil
	} else if err != nil {
		return nil, err
	}
	if filepath.Base(witness) != witnessFile {
		p := filepath.Join(tmp, witnessFile)
		if err := private.WriteFile(p, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return nil, err
		}
		witness = p
	}
	return append(files, witness), nil
}

// takenSnapshot is a state snapshot taken before the backup began, with
// the cursors read right after it.
type takenSnapshot struct {
	path    string
	cursors map[string]int64
}

func (s takenSnapshot) Snapshot(ctx context.Context, path string) error {
	in, err := os.Open(s.path)
	if err != nil {
		return err
	}
	defer in.Close()
	return private.WriteFile(path, func(w io.Writer) error { _, err := io.Copy(w, in); return err })
}

func (s takenSnapshot) Cursors(context.Context) (map[string]int64, error) { return s.cursors, nil }

// frozenCheckpoints are the latest checkpoints read before the log was
// opened.
type frozenCheckpoints map[string]vigil.Checkpoint

func (c frozenCheckpoints) Checkpoint(_ context.Context, ws string, _ int64) (vigil.Checkpoint, error) {
	cp, ok := c[ws]
	if !ok {
		return vigil.Checkpoint{}, vigil.Errorf(vigil.ENOTFOUND, "workspace %q has no checkpoint yet", ws)
	}
	return cp, nil
}

func printBackup(w io.Writer, rep *backup.Report) {
	fmt.Fprintf(w, "backup generation %d to %s: %d new events in %d objects, %d bytes encrypted, in %s\n",
		rep.Generation, rep.Store, rep.Events, rep.Objects, rep.Bytes, rep.Elapsed.Round(1e6))
	for _, ws := range rep.Workspaces {
		fmt.Fprintf(w, "  workspace %q: events %d to %d (%d new chunks); the signed checkpoint it names covers %d\n",
			ws.Name, ws.From, ws.To, ws.Chunks, ws.Checkpoint)
	}
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(w, "  not backed up yet (no checkpoint): %s\n", strings.Join(rep.Skipped, ", "))
	}
	if rep.Lock.Mode != "" {
		fmt.Fprintf(w, "  every object locked: S3 Object Lock %s mode for %s\n", rep.Lock.Mode, daysFlag{&rep.Lock.Retention})
	} else {
		fmt.Fprintf(w, "  objects NOT locked: %s\n", rep.Lock.Missing)
	}
}
