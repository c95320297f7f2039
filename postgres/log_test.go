package postgres_test

import (
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/postgres"
	"github.com/vigilhq/vigil/storetest"
)

func openLog(t testing.TB, connURL string) *postgres.Log {
	t.Helper()
	l, err := postgres.Open(ctxT(t), connURL, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestLogStorage(t *testing.T) {
	storetest.RunLogStorage(t, func(t *testing.T) func() vigil.LogStorage {
		_, connURL := freshSchema(t)
		return func() vigil.LogStorage {
			l, err := postgres.Open(ctxT(t), connURL, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
	})
}

// TestMigrationsRecordedByName: nodes starting at once on an empty schema
// apply each migration once, and record it by name.
func TestMigrationsRecordedByName(t *testing.T) {
	_, connURL := freshSchema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			l, err := postgres.Open(ctxT(t), connURL, postgres.Options{})
			if err != nil {
				errs <- err
				return
			}
			l.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	openLog(t, connURL).Close()
	rows, err := admin(t, connURL).Query(ctxT(t), "SELECT name FROM schema_migrations ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 || names[0] != "0001_log.sql" || names[1] != "0002_sealed.sql" {
		t.Fatalf("schema_migrations holds %v", names)
	}
}

// TestAppendRefusesWrongHashCount: a record whose tree hashes do not
// match its sequence would make ReadHashes answer wrong; it is refused
// before anything is written.
func TestAppendRefusesWrongHashCount(t *testing.T) {
	_, connURL := freshSchema(t)
	l := openLog(t, connURL)
	recs := storetest.NewLogBuilder("ws").Next(2)
	recs[1].Hashes = recs[1].Hashes[:1]
	if err := l.Append(ctxT(t), recs); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("Append = %v, want EINVALID", err)
	}
	if h, err := l.Heads(ctxT(t)); err != nil || len(h) != 0 {
		t.Fatalf("heads after a refused append: %v, %v", h, err)
	}
}
