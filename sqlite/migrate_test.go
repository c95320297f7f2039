package sqlite_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestMigrationsRecordedByName: a database of a version that counted its
// migrations in user_version (the released 0001–0004) is upgraded by
// applying exactly the migrations it lacks, and every migration is then
// recorded by name.
func TestMigrationsRecordedByName(t *testing.T) {
	dir := t.TempDir()
	raw := rawDB(t, dir)
	released := []string{"0001_init.sql", "0002_alerts.sql", "0003_reports.sql", "0004_event_terms.sql"}
	for _, name := range released {
		body, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, raw, string(body))
	}
	mustExec(t, raw, "PRAGMA user_version = 4")
	raw.Close()

	db := MustOpenDB(t, dir)
	db.Close()
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		want = append(want, f.Name())
	}
	got := recordedMigrations(t, dir)
	if !slices.Equal(got, want) {
		t.Fatalf("recorded migrations %v, want %v", got, want)
	}
	// Opening again applies nothing (a second run of a CREATE TABLE
	// migration would fail).
	MustOpenDB(t, dir).Close()
	if again := recordedMigrations(t, dir); !slices.Equal(again, want) {
		t.Fatalf("after reopening: %v", again)
	}
}

func recordedMigrations(t *testing.T, dir string) []string {
	t.Helper()
	raw := rawDB(t, dir)
	defer raw.Close()
	rows, err := raw.Query("SELECT name FROM schema_migrations ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}
