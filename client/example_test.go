package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"testing"

	"github.com/vigilhq/vigil/client"
)

func Example() {
	s := newServer(&exampleTB{})
	c, err := client.New(s.srv.URL, s.ingest)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	r, err := c.Actor("dr_m4k8p2", "Dr. Emily Nakamura", "physician").
		Session("sess_e4a2c8f1").Patient("pt_1").Purpose("TREAT").
		Track(ctx, "patient_record.viewed", client.Resource{Type: "patient_record", ID: "pat_7f3a9c2d"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Status)
	// Output: stored
}

func ExampleClient_Guard() {
	s := newServer(&exampleTB{})
	c, _ := client.New(s.srv.URL, s.ingest)
	access := client.Event{ActorID: "dr_m4k8p2", Action: "patient_record.viewed", PatientID: "pt_1"}
	err := c.Guard(context.Background(), access, func() error {
		fmt.Println("reading the record: allowed, the access is on record")
		return nil
	})
	fmt.Println(err)
	// Output:
	// reading the record: allowed, the access is on record
	// <nil>
}

func ExampleMiddleware() {
	c, _ := client.New("https://vigil.example.org", "vgl_...")
	records := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "record") })
	http.Handle("/records/", client.Middleware(c, func(r *http.Request) (client.Event, bool) {
		return client.Event{ActorID: r.Header.Get("X-User"), Action: "patient_record.viewed",
			Resource: client.Resource{Type: "patient_record", ID: r.URL.Path}}, true
	}, client.FailClosed())(records))
}

// exampleTB lets examples start a test server: examples have no *testing.T.
type exampleTB struct{ testing.TB }

func (exampleTB) Helper()                   {}
func (exampleTB) TempDir() string           { d, _ := os.MkdirTemp("", "vigil-example-"); return d }
func (exampleTB) Cleanup(func())            {}
func (exampleTB) Fatal(args ...any)         { log.Fatal(args...) }
func (exampleTB) Fatalf(f string, a ...any) { log.Fatalf(f, a...) }
