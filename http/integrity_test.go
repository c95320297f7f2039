package http_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/sqlite"
)

// tamperRow changes an event's row behind the server's back.
func (e *env) tamperRow(stmt string) {
	e.t.Helper()
	raw, err := sql.Open("sqlite", sqlite.DSN(e.dbPath))
	if err != nil {
		e.t.Fatal(err)
	}
	defer raw.Close()
	for _, s := range []string{"DROP TRIGGER events_no_update", stmt,
		"CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"} {
		if _, err := raw.Exec(s); err != nil {
			e.t.Fatalf("%s: %v", s, err)
		}
	}
}

type readiness struct {
	Status string `json:"status"`
	Ledger *struct {
		Integrity  string           `json:"integrity"`
		Breaks     int64            `json:"breaks"`
		Workspaces int              `json:"workspaces"`
		Types      map[string]int64 `json:"types"`
	} `json:"ledger"`
}

// TestIntegrityStateIsExposed: once verification has found a break, the
// server keeps taking events (so evidence keeps being recorded) but says
// so everywhere: /readyz is degraded, every read carries
// Vigil-Integrity, and the vigil_ledger_breaks gauge counts the breaks.
func TestIntegrityStateIsExposed(t *testing.T) {
	for _, how := range []string{"on request", "in the background"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			other := e.key("other", "auditor", "")
			var ids []string
			for range 5 {
				var s api.Stored
				r := e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"x"}`)
				wantStatus(t, r, 201)
				r.json(t, &s)
				ids = append(ids, s.ID)
			}
			reads := []string{"/api/v1/events", "/api/v1/events/" + ids[1], "/api/v1/events/" + ids[1] + "/proof",
				"/api/v1/audit-events", "/fhir/R4/AuditEvent", "/api/v1/ledger/checkpoint", "/api/v1/verify", "/api/v1/alerts"}
			var ready readiness
			r := e.get("/readyz", "")
			wantStatus(t, r, 200)
			r.json(t, &ready)
			if ready.Status != "ready" {
				t.Fatalf("untouched: /readyz %s", r.body)
			}
			for _, p := range reads {
				if r := e.get(p, e.auditor); r.header.Get("Vigil-Integrity") != "ok" {
					t.Fatalf("untouched: %s answered %d with Vigil-Integrity %q", p, r.status, r.header.Get("Vigil-Integrity"))
				}
			}
			if m := string(e.get("/metrics", "").body); !strings.Contains(m, `vigil_ledger_breaks{type="modified"} 0`) {
				t.Fatalf("untouched: metrics lack the zero break series")
			}

			e.tamperRow("UPDATE events SET actor_id = 'intruder' WHERE seq = 2")
			if how == "on request" {
				wantStatus(t, e.get("/api/v1/verify", e.auditor), 200)
			} else if err := e.db.VerifyPass(context.Background(), 0, nil); err != nil {
				t.Fatal(err)
			}

			r = e.get("/readyz", "")
			wantStatus(t, r, 200) // a load balancer keeps sending events
			r.json(t, &ready)
			if ready.Status != "degraded" || ready.Ledger == nil || ready.Ledger.Integrity != "broken" || ready.Ledger.Breaks < 1 ||
				ready.Ledger.Types["modified"] < 1 || ready.Ledger.Workspaces != 1 {
				t.Fatalf("after tampering: /readyz %s", r.body)
			}
			if strings.Contains(string(r.body), "default") {
				t.Fatalf("the open /readyz names a workspace: %s", r.body)
			}
			for _, p := range reads {
				r := e.get(p, e.auditor)
				if h := r.header.Get("Vigil-Integrity"); !strings.HasPrefix(h, "broken; breaks=") || h == "broken; breaks=0" {
					t.Fatalf("after tampering: %s answered %d with Vigil-Integrity %q", p, r.status, h)
				}
			}
			// Another workspace's reads are not affected.
			if h := e.get("/api/v1/events", other).header.Get("Vigil-Integrity"); h != "ok" {
				t.Fatalf("the other workspace reads with Vigil-Integrity %q", h)
			}
			m := string(e.get("/metrics", "").body)
			if !strings.Contains(m, `vigil_ledger_breaks{type="modified"} 1`) {
				t.Fatalf("metrics after tampering:\n%s", grepLines(m, "vigil_ledger_breaks"))
			}
			// Ingest goes on.
			wantStatus(t, e.post("/api/v1/events", e.ingest, `{"actor_id":"a","action":"after"}`), 201)
		})
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}
