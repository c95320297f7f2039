package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/vigilhq/vigil/crypt"
)

// keysRotateKEK re-wraps every data key of a data directory from its KEK
// (--kek-file, VIGIL_KEK_FILE, or kek.key) to a new one, in one
// transaction: no event is rewritten, and a failure leaves every key
// under the old KEK. The new KEK file is created when it does not exist.
// The server must be stopped: it caches the keys and wraps new ones.
func keysRotateKEK(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "keys rotate-kek")
	data := fs.String("data", "./vigil-data", "data directory")
	oldPath := fs.String("kek-file", "", kekUsage)
	newPath := fs.String("new-kek-file", "", "the new key-encryption key file (required; created, mode 0600, when it does not exist)")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *newPath == "" {
		return errors.New("--new-kek-file is required")
	}
	next, err := crypt.OpenKEKFile(*newPath)
	if err != nil {
		return err
	}
	created := false
	if !next.Exists() {
		if err := next.Create(); err != nil {
			return err
		}
		created = true
	}
	opt := offlineData(env)
	if *oldPath != "" {
		opt.kekFile = *oldPath
	}
	d, err := openData(ctx, *data, opt)
	if err != nil {
		if created {
			os.Remove(*newPath) // nothing was wrapped by it
		}
		return err
	}
	defer d.close()
	if d.db.Engine == nil {
		return errors.New("a server is running on this data directory: stop it before rotating the key-encryption key")
	}
	old, err := openKEK(*data, opt.kekFile)
	if err != nil {
		return err
	}
	n, err := crypt.RotateKEK(ctx, d.db, old, next)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Re-wrapped %d data keys from key-encryption key %s to %s. Start the server with --kek-file %s (VIGIL_KEK_FILE); keep the old key file only as long as a backup made before now may need restoring.\n",
		n, old.KeyID(), next.KeyID(), *newPath)
	return d.close()
}
