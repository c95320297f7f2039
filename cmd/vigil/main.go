// Command vigil runs and administers Vigil, the tamper-evident audit trail
// for access to protected health information.
//
//	vigil serve    run the service
//	vigil keys     create, list and revoke API keys
//	vigil ledger   print the verifier key, export an offline bundle
//	vigil verify   check a bundle or a running server, with no trust in it
//	vigil bench    measure ingest against a raw SQLite baseline
//	vigil report   compute a compliance report offline
//	vigil export   export events offline (CSV, NDJSON with proofs, Parquet)
//	vigil users    add, list and disable web console users
//	vigil reindex  rebuild the query indexes from the log
//	vigil backup   one encrypted backup generation, to a directory or S3
//	vigil restore  rebuild a data directory from a backup and verify it
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Env gives a command its environment; tests replace it.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// Main runs the command line args and returns the exit code. The context
// ends the command (a signal, in the binary).
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	cmds := map[string]func(context.Context, *Env, []string) error{
		"serve":   runServe,
		"keys":    runKeys,
		"ledger":  runLedger,
		"verify":  runVerify,
		"bench":   runBench,
		"report":  runReport,
		"export":  runExport,
		"users":   runUsers,
		"reindex": runReindex,
		"backup":  runBackup,
		"restore": runRestore,
	}
	run, ok := cmds[args[0]]
	if !ok {
		if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "vigil: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	if err := run(ctx, env, args[1:]); err != nil {
		if err == errUsage {
			return 2
		}
		var ec exitCode
		if asExit(err, &ec) {
			return int(ec)
		}
		fmt.Fprintf(stderr, "vigil %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: vigil <command> [flags]

commands:
  serve    run the service (default data ./vigil-data, address 127.0.0.1:8080)
  keys     create | list | revoke API keys on a data directory
  ledger   key | export: the checkpoint verifier key, an offline bundle
  verify   --bundle FILE | --url URL [--checkpoint FILE]: independent verification
  bench    measure ingest and queries against a raw SQLite baseline
  report   TYPE --format pdf|csv|json --out FILE: a compliance report, offline
  export   --format csv|ndjson|parquet --out FILE: events, offline
  users    add | list | disable web console users on a data directory
  reindex  rebuild the query indexes from the log (server stopped)
  backup   --data DIR --to DIR|s3://bucket/prefix: one backup generation (beside a running server too)
  restore  --from DIR|s3://... --data NEWDIR --backup-key FILE --verifier-key KEY: rebuild and verify

Run "vigil <command> -h" for a command's flags. Every flag can also be set
as an environment variable: --data is VIGIL_DATA, --addr is VIGIL_ADDR, ...
`)
}
