package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/crypt"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/fhir"
	"github.com/vigilhq/vigil/filelog"
	"github.com/vigilhq/vigil/internal/private"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
)

// The files of a data directory.
const (
	dbFile      = "vigil.db"
	logDir      = "log"            // the engine's log: the acknowledgement point (filelog segments)
	keyFile     = "ledger.key"     // the checkpoint signing key (note signer key), mode 0600
	witnessFile = "ledger.witness" // the latest checkpoint of each workspace, outside the database (default place; --witness-file)
	kekFile     = "kek.key"        // the key-encryption key of the encryption at rest, mode 0600 (default place; --kek-file)
	defaultWS   = "default"
	defaultLog  = "vigil.local"
)

// witnessUsage documents --witness-file, the same for every command that
// verifies on a data directory.
const witnessUsage = "the witness file: the latest checkpoint of each workspace, kept outside the database (default: ledger.witness in the data directory; put it outside the data directory so that replacing the directory with an older copy is caught)"

// kekUsage documents --kek-file (VIGIL_KEK_FILE), which every command on
// a data directory honours.
const kekUsage = "the key-encryption key file of the encryption at rest (default: kek.key in the data directory, created on first start; keep it elsewhere so a copy of the data directory cannot be read, docs/privacy.md)"

type dataOptions struct {
	// kekFile is the key-encryption key (--kek-file, VIGIL_KEK_FILE);
	// empty means kek.key in the data directory.
	kekFile            string
	logName            string
	checkpointInterval time.Duration
	demandInterval     time.Duration
	queueSize          int
	maxBatchEvents     int
	maxLag             int64
	readWait           time.Duration
	logger             *slog.Logger
	// offline is for commands run beside a possibly running server: they
	// neither sign checkpoints nor append events, so the server's writer
	// stays the only one that extends the log.
	offline bool
	enrich  func(*vigil.Event)
	// phiGuard screens what clients send (vigil serve's --phi-guard).
	phiGuard *vigil.PHIGuard
	// witness is the witness file (--witness-file); empty means
	// ledger.witness in the data directory.
	witness string
}

// offlineData are the options of a command run on the data directory
// beside a possibly running server; its warnings go to the command's
// standard error.
func offlineData(env *Env) dataOptions {
	return dataOptions{offline: true, kekFile: env.Getenv("VIGIL_KEK_FILE"), logger: slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
}

// dataDir is an opened data directory.
type dataDir struct {
	path string
	db   *embedded.Store
	// log is the engine's log when this process holds it (not offline):
	// continuous backups read it.
	log         *filelog.Log
	signingKey  string
	verifierKey string
	fresh       bool // the directory held no database before
	closeOnce   sync.Once
	closeErr    error
}

// openData opens (creating if needed) a data directory: its database and
// its signing key.
func openData(ctx context.Context, dir string, opt dataOptions) (*dataDir, error) {
	if dir == "" {
		return nil, errors.New("no data directory (--data or VIGIL_DATA)")
	}
	if opt.logger == nil {
		opt.logger = slog.New(slog.DiscardHandler)
	}
	if err := privateData(dir, opt.logger); err != nil {
		return nil, err
	}
	d := &dataDir{path: dir}
	if _, err := os.Stat(filepath.Join(dir, dbFile)); errors.Is(err, os.ErrNotExist) {
		d.fresh = true
	}
	if opt.logName == "" {
		opt.logName = defaultLog
	}
	skey, err := loadOrCreateKey(filepath.Join(dir, keyFile), opt.logName)
	if err != nil {
		return nil, err
	}
	d.signingKey = skey
	if d.verifierKey, err = ledger.VerifierKey(skey); err != nil {
		return nil, fmt.Errorf("%s: %w", keyFile, err)
	}
	name, _, _ := strings.Cut(strings.TrimPrefix(skey, "PRIVATE+KEY+"), "+")
	signWith := skey
	if opt.offline {
		signWith = ""
	}
	witness := opt.witness
	if witness == "" {
		witness = filepath.Join(dir, witnessFile)
	} else if fi, err := os.Stat(filepath.Dir(witness)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("--witness-file %s: its directory does not exist", witness)
	}
	kek, err := openKEK(dir, opt.kekFile)
	if err != nil {
		return nil, err
	}
	if !opt.offline {
		// The store closes it with itself.
		if d.log, err = filelog.Open(filepath.Join(dir, logDir), filelog.Options{Logger: opt.logger}); err != nil {
			return nil, err
		}
	}
	var log vigil.LogStorage
	if d.log != nil {
		log = d.log
	}
	d.db, err = embedded.Open(ctx, embedded.Config{SQLite: sqlite.Config{
		KEK:                kek,
		Path:               filepath.Join(dir, dbFile),
		LogName:            name,
		SigningKey:         signWith,
		CheckpointInterval: opt.checkpointInterval,
		DemandInterval:     opt.demandInterval,
		WitnessPath:        witness,
		Logger:             opt.logger,
		Index:              fhir.Terms,
	},
		LogDir:         filepath.Join(dir, logDir),
		Log:            log,
		QueueSize:      opt.queueSize,
		MaxBatchEvents: opt.maxBatchEvents,
		MaxLag:         opt.maxLag,
		ReadWait:       opt.readWait,
		Enrich:         opt.enrich,
		Beside:         opt.offline,
		PHIGuard:       opt.phiGuard,
	})
	if err != nil {
		return nil, err
	}
	if _, err := d.db.EnsureWorkspace(ctx, defaultWS); err != nil {
		d.db.Close()
		return nil, err
	}
	return d, nil
}

// privateData makes the data directory and the files Vigil keeps in it
// (other than the database's, which the store sees to) private: 0700 and
// 0600. A directory or file left open to other users is tightened, with a
// warning; one that cannot be (owned by another user) stops the command,
// saying how to fix it. Refusing to start would leave a hospital without
// its audit trail for a mode bit a package or an umask set; tightening
// keeps the PHI private and says so.
func privateData(dir string, logger *slog.Logger) error {
	was, err := private.Dir(dir)
	if err != nil {
		return err
	}
	if was != 0 {
		logger.Warn("made the data directory private: it was open to other users", "dir", dir, "was", fmt.Sprintf("%04o", was), "now", "0700")
	}
	for _, name := range []string{keyFile, witnessFile, reportsSecret, kekFile} {
		p := filepath.Join(dir, name)
		was, err := private.Tighten(p)
		if err != nil {
			return err
		}
		if was != 0 {
			logger.Warn("made a file of the data directory private: it was open to other users", "file", p, "was", fmt.Sprintf("%04o", was), "now", "0600")
		}
	}
	return nil
}

// openKEK opens the key-encryption key: --kek-file, or kek.key in the
// data directory. A file that does not exist is created by the store on
// the first start of a data directory, and only then: a store that holds
// data keys refuses to open without the KEK that wraps them.
func openKEK(dir, path string) (*crypt.FileKEK, error) {
	if path == "" {
		path = filepath.Join(dir, kekFile)
	} else if fi, err := os.Stat(filepath.Dir(path)); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("--kek-file %s: its directory does not exist", path)
	}
	if _, err := private.Tighten(path); err != nil {
		return nil, err
	}
	return crypt.OpenKEKFile(path)
}

func (d *dataDir) close() error {
	d.closeOnce.Do(func() { d.closeErr = d.db.Close() })
	return d.closeErr
}

// loadOrCreateKey reads the signing key, creating it (mode 0600) on first
// use. It is never overwritten: a new key would orphan every checkpoint.
func loadOrCreateKey(path, name string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	skey, _, err := ledger.GenerateKey(name)
	if err != nil {
		return "", err
	}
	f, err := private.Create(path)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(skey + "\n"); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	return skey, f.Close()
}
