package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/console"
)

func runUsers(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(env.Stderr, "usage: vigil users add|list|disable --data DIR [flags]")
		return errUsage
	}
	switch args[0] {
	case "add":
		return usersAdd(ctx, env, args[1:])
	case "list":
		return usersList(ctx, env, args[1:])
	case "disable":
		return usersDisable(ctx, env, args[1:])
	}
	fmt.Fprintf(env.Stderr, "vigil users: unknown subcommand %q (add, list, disable)\n", args[0])
	return errUsage
}

// usersAdd creates a local console account. Its password comes from a
// file (never a flag, which ps would show); the TOTP enrolment URI is
// printed alone on the last line of stdout, once.
func usersAdd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "users add")
	data := fs.String("data", "./vigil-data", "data directory")
	ws := fs.String("workspace", defaultWS, "workspace")
	email := fs.String("email", "", "the user's email (required)")
	role := fs.String("role", "", "auditor, admin or privacy_officer (required)")
	passwordFile := fs.String("password-file", "", "file holding the initial password, 12 characters or more (required)")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if !vigil.Role(*role).ValidUser() {
		return errors.New("--role must be one of " + vigil.RoleList(vigil.UserRoles))
	}
	if *email == "" || *passwordFile == "" {
		return errors.New("--email and --password-file are required")
	}
	b, err := os.ReadFile(*passwordFile)
	if err != nil {
		return fmt.Errorf("--password-file: %w", err)
	}
	password := strings.TrimRight(string(b), "\r\n")
	d, err := openData(ctx, *data, dataOptions{offline: true})
	if err != nil {
		return err
	}
	defer d.close()
	secret, err := loadOrCreateSecret(filepath.Join(d.path, consoleSecret))
	if err != nil {
		return err
	}
	if _, err := d.db.EnsureWorkspace(ctx, *ws); err != nil {
		return err
	}
	u, cred, uri, err := console.NewLocalUser(*ws, *email, vigil.Role(*role), password, secret, time.Now())
	if err != nil {
		return errors.New(vigil.ErrorMessage(err))
	}
	if err := d.db.CreateUser(ctx, u, cred); err != nil {
		return errors.New(vigil.ErrorMessage(err))
	}
	fmt.Fprintf(env.Stdout, "Created %s user %s (%s) in workspace %q.\n", u.Role, u.Email, u.ID, u.Workspace)
	fmt.Fprintln(env.Stdout, "Add this to an authenticator app now (shown once); sign-in asks for its code:")
	fmt.Fprintln(env.Stdout, uri)
	return d.close()
}

func usersList(ctx context.Context, env *Env, args []string) error {
	fs, data, ws := keysFlags(env, "users list")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	d, err := openData(ctx, *data, dataOptions{offline: true})
	if err != nil {
		return err
	}
	defer d.close()
	users, err := d.db.Users(ctx, *ws)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tROLE\tSIGN-IN\tCREATED\tDISABLED")
	for _, u := range users {
		via, disabled := "password+totp", "-"
		if !u.Local() {
			via = u.Issuer
		}
		if u.Disabled() {
			disabled = u.DisabledAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Role, via, u.CreatedAt.Format(time.RFC3339), disabled)
	}
	return tw.Flush()
}

func usersDisable(ctx context.Context, env *Env, args []string) error {
	fs, data, ws := keysFlags(env, "users disable")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.Stderr, "usage: vigil users disable --data DIR [--workspace W] USER_ID")
		return errUsage
	}
	d, err := openData(ctx, *data, dataOptions{offline: true})
	if err != nil {
		return err
	}
	defer d.close()
	u, err := d.db.DisableUser(ctx, *ws, fs.Arg(0), time.Now())
	if err != nil {
		return errors.New(vigil.ErrorMessage(err))
	}
	fmt.Fprintf(env.Stdout, "Disabled %s (%s); their console sessions ended.\n", u.Email, u.ID)
	return nil
}
