package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/vigilhq/vigil/client"
)

// The examples run against a real Vigil server started by exampleServer;
// yours runs elsewhere, and its URL and keys come from your configuration.

func Example() {
	vigil, stop := exampleServer()
	defer stop()
	ctx := context.Background()

	c, err := client.New(vigil.url, vigil.ingest)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close(ctx)

	r, err := c.Actor("dr_m4k8p2", "Dr. Emily Nakamura", "physician").
		Session("sess_e4a2c8f1").Tenant("clinic_bayview_medical").Patient("pt_1").Purpose("TREAT").
		Track(ctx, "patient_record.viewed",
			client.Resource{Type: "patient_record", ID: "pat_7f3a9c2d", Name: "Record #7f3a9c2d"},
			client.Metadata(map[string]any{"sections_accessed": []string{"demographics", "medications"}}))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Status)
	// Output: stored
}

func ExampleClient_Guard() {
	vigil, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(vigil.url, vigil.ingest)
	defer c.Close(ctx)

	access := c.Actor("dr_m4k8p2", "Dr. Emily Nakamura", "physician").Patient("pt_1").Purpose("TREAT").
		Event("patient_record.viewed", client.Resource{Type: "patient_record", ID: "pat_7f3a9c2d"})
	err := c.Guard(ctx, access, func() error {
		fmt.Println("reading the record: the access is on record")
		return nil
	})
	fmt.Println("guard:", err)

	// With the server unreachable (and no spool), the function does not run.
	down, _ := client.New("http://127.0.0.1:1", vigil.ingest, client.WithRetry(client.RetryPolicy{MaxAttempts: 1}))
	err = down.Guard(ctx, access, func() error {
		fmt.Println("never printed")
		return nil
	})
	var refused *client.GuardError
	fmt.Println("refused:", errors.As(err, &refused))
	// Output:
	// reading the record: the access is on record
	// guard: <nil>
	// refused: true
}

func ExampleWithSpool() {
	vigil, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "vigil-spool-")
	defer os.RemoveAll(dir)

	// Track returns once the event is fsync'd in dir; a background sender
	// delivers it, across outages and restarts.
	c, err := client.New(vigil.url, vigil.ingest, client.WithSpool(dir, client.SpoolMaxBytes(64<<20)))
	if err != nil {
		log.Fatal(err)
	}
	r, err := c.Actor("nurse_j7k3m1", "Carlos Reyes", "nurse").Session("sess_a1b2c3d4").
		Track(ctx, "lab_results.accessed", client.Resource{Type: "patient_record", ID: "pat_7f3a9c2d"})
	if errors.Is(err, client.ErrSpoolFull) {
		log.Fatal("the spool is full: the server has been unreachable for a long time")
	}
	fmt.Println(r.Status)
	if err := c.Close(ctx); err != nil { // waits until the server has it
		log.Fatal(err)
	}
	fmt.Println(c.SpoolStats().Delivered, "delivered")
	// Output:
	// spooled
	// 1 delivered
}

func ExampleClient_Events() {
	vigil, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	c, _ := client.New(vigil.url, vigil.ingest)
	defer c.Close(ctx)
	for _, action := range []string{"patient_record.viewed", "prescription.created", "patient_record.exported"} {
		c.Actor("dr_m4k8p2", "Dr. Emily Nakamura", "physician").Patient("pt_1").
			Track(ctx, action, client.Resource{Type: "patient_record", ID: "pat_7f3a9c2d"})
	}

	// Who touched pt_1's records? (An auditor key; the server records the
	// query itself, too.)
	auditor, _ := client.New(vigil.url, vigil.auditor)
	for e, err := range auditor.Events(ctx, client.Query{PatientID: "pt_1"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.ActorName, e.Action, e.Resource.ID)
	}
	// Output:
	// Dr. Emily Nakamura patient_record.exported pat_7f3a9c2d
	// Dr. Emily Nakamura prescription.created pat_7f3a9c2d
	// Dr. Emily Nakamura patient_record.viewed pat_7f3a9c2d
}

func ExampleMiddleware() {
	vigil, stop := exampleServer()
	defer stop()
	c, _ := client.New(vigil.url, vigil.ingest)
	defer c.Close(context.Background())

	records := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-User") != "dr_m4k8p2" {
			http.Error(w, "forbidden", http.StatusForbidden) // recorded as a failure
			return
		}
		fmt.Fprintln(w, "the record")
	})
	who := func(r *http.Request) (client.Event, bool) {
		return client.Event{ActorID: r.Header.Get("X-User"), Action: "patient_record.viewed",
			Resource: client.Resource{Type: "patient_record", ID: r.PathValue("id")}}, true
	}
	mux := http.NewServeMux()
	mux.Handle("GET /records/{id}", client.Middleware(c, who, client.FailClosed())(records))

	req := httptest.NewRequest("GET", "/records/pat_7f3a9c2d", nil)
	req.Header.Set("X-User", "intruder")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code)

	auditor, _ := client.New(vigil.url, vigil.auditor)
	for e := range auditor.Events(context.Background(), client.Query{ActorID: "intruder"}) {
		fmt.Println(e.Metadata[client.GuardPhaseKey], e.Outcome, e.Metadata["http.status"])
	}
	// Output:
	// 403
	// result failure 403
	// attempt success <nil>
}
