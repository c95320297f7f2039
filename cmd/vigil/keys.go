package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigilhq/vigil"
)

func runKeys(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, "usage: vigil keys create|list|revoke|rotate-kek --data DIR [flags]")
		return errUsage
	}
	switch args[0] {
	case "create":
		return keysCreate(ctx, env, args[1:])
	case "list":
		return keysList(ctx, env, args[1:])
	case "revoke":
		return keysRevoke(ctx, env, args[1:])
	case "rotate-kek":
		return keysRotateKEK(ctx, env, args[1:])
	}
	fmt.Fprintf(env.Stderr, "vigil keys: unknown subcommand %q (create, list, revoke, rotate-kek)\n", args[0])
	return errUsage
}

func keysFlags(env *Env, name string) (*flag.FlagSet, *string, *string) {
	fs := newFlags(env, "keys "+name)
	data := fs.String("data", "./vigil-data", "data directory")
	ws := fs.String("workspace", defaultWS, "workspace")
	return fs, data, ws
}

func keysCreate(ctx context.Context, env *Env, args []string) error {
	fs, data, ws := keysFlags(env, "create")
	role := fs.String("role", "", "ingest, auditor, admin or issuer (required)")
	tenant := fs.String("tenant", "", "restrict the key to one tenant_id")
	name := fs.String("name", "", "a name to recognise the key by")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if !vigil.Role(*role).Valid() {
		return errors.New("--role must be one of " + vigil.RoleList(vigil.KeyRoles))
	}
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "tenant" })
	if given && strings.TrimSpace(*tenant) == "" {
		return errors.New("--tenant " + vigil.TenantEmptyMessage)
	}
	d, err := openData(ctx, *data, offlineData(env))
	if err != nil {
		return err
	}
	defer d.close()
	if _, err := d.db.EnsureWorkspace(ctx, *ws); err != nil {
		return err
	}
	k, secret, err := vigil.CreateKey(ctx, d.db, *ws, vigil.Role(*role), *tenant, *name, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Created %s key %s in workspace %q", k.Role, k.ID, k.Workspace)
	if k.TenantID != "" {
		fmt.Fprintf(env.Stdout, " for tenant %q", k.TenantID)
	}
	fmt.Fprintln(env.Stdout, ". The key is shown once:")
	fmt.Fprintln(env.Stdout, secret)
	return d.close()
}

func keysList(ctx context.Context, env *Env, args []string) error {
	fs, data, ws := keysFlags(env, "list")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	d, err := openData(ctx, *data, offlineData(env))
	if err != nil {
		return err
	}
	defer d.close()
	keys, err := d.db.Keys(ctx, *ws)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tTENANT\tNAME\tHINT\tCREATED\tREVOKED")
	for _, k := range keys {
		revoked := "-"
		if k.Revoked() {
			revoked = k.RevokedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s…\t%s\t%s\n", k.ID, k.Role, dash(k.TenantID), dash(k.Name), k.Hint, k.CreatedAt.Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

func keysRevoke(ctx context.Context, env *Env, args []string) error {
	fs, data, ws := keysFlags(env, "revoke")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	// Accept the id before or after the flags.
	id := fs.Arg(0)
	if fs.NArg() > 1 {
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return errUsage
		}
		if fs.NArg() > 0 {
			id = ""
		}
	}
	if id == "" {
		fmt.Fprintln(env.Stderr, "usage: vigil keys revoke --data DIR [--workspace W] KEY_ID")
		return errUsage
	}
	d, err := openData(ctx, *data, offlineData(env))
	if err != nil {
		return err
	}
	defer d.close()
	k, err := d.db.RevokeKey(ctx, *ws, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Revoked %s (%s) at %s\n", k.ID, k.Role, k.RevokedAt.Format(time.RFC3339))
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
