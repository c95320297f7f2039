package postgres

import (
	"context"
	"embed"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies every embedded migration not yet recorded by name in
// schema_migrations, in name order, all in one transaction: PostgreSQL's
// DDL is transactional, so a failed migration leaves the schema as it was.
// Recording names (not a count) lets migrations written on different
// branches land in any order. Several nodes starting at once take turns on
// a transaction-scoped advisory lock named after the schema, so each
// migration runs once.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('vigil schema migrations ' || current_schema()))"); err != nil {
			return fmt.Errorf("postgres: migration lock: %w", err)
		}
		// Vigil's runtime role may lack the right to create tables
		// (docs/deploy.md, "Grants"): only a schema that needs a migration
		// needs it.
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
			return fmt.Errorf("postgres: schema migrations table: %w", err)
		}
		if !exists {
			if _, err := tx.Exec(ctx, `CREATE TABLE schema_migrations (
				name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
				return fmt.Errorf("postgres: schema migrations table: %w", err)
			}
		}
		rows, err := tx.Query(ctx, "SELECT name FROM schema_migrations")
		if err != nil {
			return err
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		applied := map[string]bool{}
		for _, n := range names {
			applied[n] = true
		}
		files, err := migrations.ReadDir("migrations")
		if err != nil {
			return err
		}
		sort.Slice(files, func(i, j int) bool { return files[i].Name() < files[j].Name() })
		for _, f := range files {
			if applied[f.Name()] {
				continue
			}
			body, err := migrations.ReadFile("migrations/" + f.Name())
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("postgres: migration %s: %w", f.Name(), err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (name) VALUES ($1)", f.Name()); err != nil {
				return err
			}
		}
		return nil
	})
}
