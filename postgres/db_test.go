package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The tests run against the real server. Each test works in a schema of
// its own, dropped when it ends.
const defaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

const startHint = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"

func serverURL() string {
	if u := os.Getenv("VIGIL_TEST_POSTGRES"); u != "" {
		return u
	}
	return defaultURL
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// admin connects to the server as the tests' role, failing the test with
// the command that starts the server when it is down.
func admin(t testing.TB, connURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s (%v); %s", serverURL(), err, startHint)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// freshSchema creates an empty schema, drops it when the test ends, and
// returns the connection URL whose search_path selects it.
func freshSchema(t testing.TB) (schema, connURL string) {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema = "vigil_test_" + hex.EncodeToString(b)
	conn := admin(t, serverURL())
	if _, err := conn.Exec(ctxT(t), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin(t, serverURL()).Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return schema, withParam(t, serverURL(), "search_path", schema)
}

func mustURL(t testing.TB, connURL string) *url.URL {
	u, err := url.Parse(connURL)
	if err != nil {
		t.Fatalf("VIGIL_TEST_POSTGRES must be a URL: %v", err)
	}
	return u
}

// withUser is connURL as another role (trust authentication).
func withUser(t testing.TB, connURL, user string) string {
	u := mustURL(t, connURL)
	u.User = url.User(user)
	return u.String()
}

func withParam(t testing.TB, connURL, key, value string) string {
	u := mustURL(t, connURL)
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
