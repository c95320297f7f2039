package http_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/embedded"
	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/ledger"
)

// logSize is the number of events the store holds in the workspace.
func (e *env) logSize() int64 {
	e.t.Helper()
	p, err := e.db.Events(context.Background(), vigil.Query{Workspace: "default", Limit: 1, Before: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.Total
}

// TestLatestCheckpointCoversAcknowledged ingests and asks at once, again
// and again, every route that answers from the latest checkpoint: none may
// answer 404 or a checkpoint that leaves out an acknowledged event, at the
// regular cadence or with none at all.
func TestLatestCheckpointCoversAcknowledged(t *testing.T) {
	for _, cadence := range []time.Duration{time.Second, time.Hour} {
		t.Run(cadence.String(), func(t *testing.T) {
			e := newEnvStore(t, vhttp.Config{}, true, func(c *embedded.Config) {
				c.SQLite.CheckpointInterval, c.SQLite.DemandInterval = cadence, 5*time.Millisecond
			})
			for i := range 25 {
				var s api.Stored
				r := e.post("/api/v1/events", e.ingest, fmt.Sprintf(`{"actor_id":"a","action":"x.%d"}`, i))
				wantStatus(t, r, 201)
				r.json(t, &s)
				acked := e.logSize() // the reads below are recorded too, so count again each round

				r = e.get("/api/v1/ledger/checkpoint", e.auditor)
				wantStatus(t, r, 200)
				cp, err := ledger.Open(r.body, testVKey)
				if err != nil {
					t.Fatal(err)
				}
				if cp.Size < acked {
					t.Fatalf("round %d: the latest checkpoint covers %d events; %d were acknowledged", i, cp.Size, acked)
				}

				if _, err := e.db.Append(context.Background(), "default", []vigil.Event{{ActorID: "b", Action: "y"}}); err != nil {
					t.Fatal(err)
				}
				acked = e.logSize()
				var p api.Data[api.Proof]
				r = e.get("/api/v1/events/"+s.ID+"/proof", e.auditor)
				wantStatus(t, r, 200)
				r.json(t, &p)
				if p.Data.TreeSize < acked {
					t.Fatalf("round %d: the proof is in a tree of %d events; %d were acknowledged", i, p.Data.TreeSize, acked)
				}
			}
			// A report and an export requested right after an event
			// reflect a checkpoint that covers it.
			if _, err := e.db.Append(context.Background(), "default", []vigil.Event{{ActorID: "c", Action: "z"}}); err != nil {
				t.Fatal(err)
			}
			acked := e.logSize()
			for _, req := range [][2]string{
				{"/api/v1/reports", `{"type":"access_by_interval","params":{"from":"2000-01-01T00:00:00Z","to":"2099-01-01T00:00:00Z"},"format":"json"}`},
				{"/api/v1/exports", `{"format":"ndjson"}`},
			} {
				var job api.Data[api.Accepted]
				r := e.post(req[0], e.auditor, req[1])
				wantStatus(t, r, 202)
				r.json(t, &job)
				path := req[0] + "/" + job.Data.ID
				waitJob(t, e, path, e.auditor)
				var done struct {
					Data struct{ Checkpoint *api.ReportCheckpoint }
				}
				e.get(path, e.auditor).json(t, &done)
				if done.Data.Checkpoint == nil || done.Data.Checkpoint.TreeSize < acked {
					t.Fatalf("%s reflects checkpoint %+v; %d events were acknowledged", req[0], done.Data.Checkpoint, acked)
				}
			}
		})
	}
}
