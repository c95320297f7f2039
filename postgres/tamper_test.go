package postgres_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/vigilhq/vigil/storetest"
)

// sqlState is the SQLSTATE of a server's refusal, "" for success.
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	if err != nil {
		return "not a server error: " + err.Error()
	}
	return ""
}

// partitionOf names the partition that holds a workspace's records.
func partitionOf(t *testing.T, conn *pgx.Conn, ws string) string {
	var part string
	if err := conn.QueryRow(ctxT(t), "SELECT tableoid::regclass::text FROM log_records WHERE workspace = $1 LIMIT 1", ws).Scan(&part); err != nil {
		t.Fatal(err)
	}
	return part
}

// TestTriggersRefuseChanges: the owner of the tables, who holds every
// privilege on them, still cannot change or remove a record or move a
// head backwards: the triggers refuse, on the table and on each partition.
func TestTriggersRefuseChanges(t *testing.T) {
	_, connURL := freshSchema(t)
	l := openLog(t, connURL)
	b := storetest.NewLogBuilder("ws")
	recs := b.Next(10)
	if err := l.Append(ctxT(t), recs); err != nil {
		t.Fatal(err)
	}
	owner := admin(t, connURL)
	part := partitionOf(t, owner, "ws")
	for _, stmt := range []string{
		"UPDATE log_records SET leaf = leaf || 'x'::bytea WHERE workspace = 'ws' AND seq = 3",
		"UPDATE log_records SET seq = seq + 100 WHERE workspace = 'ws' AND seq = 9",
		"UPDATE " + part + " SET hashes = hashes WHERE seq = 0",
		"DELETE FROM log_records WHERE workspace = 'ws' AND seq = 9",
		"DELETE FROM " + part,
		"TRUNCATE log_records",
		"TRUNCATE " + part,
		"UPDATE log_heads SET size = 9 WHERE workspace = 'ws'",
		"UPDATE log_heads SET workspace = 'other' WHERE workspace = 'ws'",
		"DELETE FROM log_heads",
		"TRUNCATE log_heads",
	} {
		_, err := owner.Exec(ctxT(t), stmt)
		if sqlState(err) != "42501" || !strings.Contains(err.Error(), "vigil:") {
			t.Errorf("%s: %v, want the trigger's refusal (42501)", stmt, err)
		}
	}
	// Every partition refuses TRUNCATE, not only the one in use.
	rows, err := owner.Query(ctxT(t), "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'log_records'::regclass")
	if err != nil {
		t.Fatal(err)
	}
	parts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 16 {
		t.Fatalf("log_records has %d partitions, want 16", len(parts))
	}
	for _, p := range parts {
		if _, err := owner.Exec(ctxT(t), "TRUNCATE "+p); sqlState(err) != "42501" {
			t.Errorf("TRUNCATE %s: %v, want refused", p, err)
		}
	}
	got, err := l.Read(ctxT(t), "ws", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || fmt.Sprint(got[3].Leaf) != fmt.Sprint(recs[3].Leaf) {
		t.Fatalf("the refused statements changed the log: %d records", len(got))
	}
	if h, _ := l.Heads(ctxT(t)); h["ws"] != 10 {
		t.Fatalf("head %d after the refusals, want 10", h["ws"])
	}
	// The log goes on as before.
	if err := l.Append(ctxT(t), b.Next(3)); err != nil {
		t.Fatal(err)
	}
}

// TestRuntimeRoleGrants: under the grants docs/deploy.md gives Vigil's
// runtime role, the role appends and reads, and is denied UPDATE, DELETE
// and TRUNCATE of the log, direct access to the partitions, and the DDL
// that would switch the triggers off.
func TestRuntimeRoleGrants(t *testing.T) {
	schema, connURL := freshSchema(t)
	openLog(t, connURL).Close() // the owner migrates
	owner := admin(t, connURL)
	role := schema + "_app"
	grants := strings.ReplaceAll(strings.ReplaceAll(`
		CREATE ROLE vigil_app LOGIN;
		GRANT USAGE ON SCHEMA vigil TO vigil_app;
		GRANT SELECT ON schema_migrations TO vigil_app;
		GRANT SELECT, INSERT ON log_records TO vigil_app;
		GRANT SELECT, INSERT, UPDATE (size) ON log_heads TO vigil_app;`, "vigil_app", role), "SCHEMA vigil", "SCHEMA "+schema)
	if _, err := owner.Exec(ctxT(t), grants); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c := admin(t, serverURL())
		// The role's privileges go with the schema; then the role can go.
		c.Exec(ctxT(t), "DROP SCHEMA "+schema+" CASCADE")
		if _, err := c.Exec(ctxT(t), "DROP ROLE "+role); err != nil {
			t.Errorf("dropping role %s: %v", role, err)
		}
	})

	appURL := withUser(t, connURL, role)
	l := openLog(t, appURL)
	b := storetest.NewLogBuilder("ws")
	for range 3 {
		if err := l.Append(ctxT(t), b.Next(5)); err != nil {
			t.Fatalf("Append as the runtime role: %v", err)
		}
	}
	if got, err := l.Read(ctxT(t), "ws", 0, 100); err != nil || len(got) != 15 {
		t.Fatalf("Read as the runtime role: %d, %v", len(got), err)
	}
	if _, err := l.ReadHashes(ctxT(t), "ws", []int64{0, 1, 2}); err != nil {
		t.Fatalf("ReadHashes as the runtime role: %v", err)
	}

	app := admin(t, appURL)
	part := partitionOf(t, owner, "ws")
	for stmt, want := range map[string]string{
		"UPDATE log_records SET leaf = leaf WHERE seq = 0":          "42501", // no privilege
		"DELETE FROM log_records WHERE seq = 0":                     "42501",
		"TRUNCATE log_records":                                      "42501",
		"DELETE FROM log_heads":                                     "42501",
		"TRUNCATE log_heads":                                        "42501",
		"UPDATE log_heads SET workspace = 'x'":                      "42501", // only size is granted
		"SELECT count(*) FROM " + part:                              "42501",
		"INSERT INTO " + part + " SELECT * FROM log_records":        "42501",
		"ALTER TABLE log_records DISABLE TRIGGER USER":              "42501", // must be owner
		"DROP TRIGGER log_heads_forward ON log_heads":               "42501",
		"CREATE TABLE " + schema + ".shadow (x int)":                "42501",
		"INSERT INTO log_heads (workspace, size) VALUES ('ws', 99)": "23505",
	} {
		if _, err := app.Exec(ctxT(t), stmt); sqlState(err) != want {
			t.Errorf("%s as the runtime role: %v, want SQLSTATE %s", stmt, err, want)
		}
	}
	// Granted UPDATE of size, the role still cannot move a head back.
	if _, err := app.Exec(ctxT(t), "UPDATE log_heads SET size = 2 WHERE workspace = 'ws'"); sqlState(err) != "42501" || !strings.Contains(err.Error(), "may not go from 15 to 2") {
		t.Errorf("moving a head back as the runtime role: %v, want the trigger's refusal", err)
	}
	if h, err := l.Heads(ctxT(t)); err != nil || h["ws"] != 15 {
		t.Fatalf("heads %v, %v", h, err)
	}
}
