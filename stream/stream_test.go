package stream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"crypto/tls"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/ledger"
	"github.com/vigilhq/vigil/sqlite"
	"github.com/vigilhq/vigil/stream"
	"github.com/vigilhq/vigil/stream/streamtest"
)

var skey, _ = func() (string, string) {
	s, v, err := ledger.GenerateKey("stream.test")
	if err != nil {
		panic(err)
	}
	return s, v
}()

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func openStore(t testing.TB) *embedded.Store {
	t.Helper()
	dir := t.TempDir()
	db, err := embedded.Open(context.Background(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(dir, "vigil.db"), LogName: "stream.test", SigningKey: skey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, ws := range []string{"default", "other"} {
		if _, err := db.EnsureWorkspace(ctx(t), ws); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// appendEvents appends n events to ws and returns their ids.
func appendEvents(t testing.TB, db *embedded.Store, ws string, n int, outcome vigil.Outcome) []string {
	t.Helper()
	var ids []string
	for i := 0; i < n; i += 100 {
		var evs []vigil.Event
		for j := i; j < min(n, i+100); j++ {
			evs = append(evs, vigil.Event{ActorID: fmt.Sprintf("dr_ö_%d", j), Action: "patient_record.viewed", PatientID: "pt_" + strconv.Itoa(j%9),
				Outcome: outcome, Metadata: json.RawMessage(`{"note":"naïve – ok"}`)})
		}
		res, err := db.Append(ctx(t), ws, evs)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// once checks that got holds every id of want, and reports duplicates.
func once(t *testing.T, got, want []string) (dups int) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range want {
		if seen[id] == 0 {
			t.Fatalf("event %s was never delivered (%d of %d delivered)", id, len(seen), len(want))
		}
		dups += seen[id] - 1
	}
	return dups
}

func TestSyslogToRsyslog(t *testing.T) {
	rs := streamtest.StartRsyslog(t)
	db := openStore(t)
	ids := append(appendEvents(t, db, "default", 250, vigil.OutcomeSuccess), appendEvents(t, db, "other", 3, vigil.OutcomeFailure)...)
	sender, err := stream.NewSyslog("tls://"+rs.Addr, rs.ClientTLS, "vigil-host.test")
	if err != nil {
		t.Fatal(err)
	}
	f := stream.New(stream.Config{Log: db, Cursors: db, Sender: sender, Batch: 100})
	if err := f.Pass(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if f.Lag() != 0 || f.Sent() != int64(len(ids)) {
		t.Fatalf("lag %d, sent %d", f.Lag(), f.Sent())
	}
	sender.Close() // rsyslog writes what it has read
	waitIDs(t, rs.IDs, len(ids))
	if dups := once(t, rs.IDs(), ids); dups != 0 {
		t.Fatalf("%d duplicates without a failure", dups)
	}
	msgs := rs.Messages()
	for _, m := range msgs {
		var ae struct {
			ResourceType string
			ID           string
			Outcome      string
			Entity       []struct{ What struct{ Reference string } }
		}
		if err := json.Unmarshal([]byte(m.Msg), &ae); err != nil {
			t.Fatalf("the message is not JSON: %v\n%s", err, m.Msg)
		}
		wantPri := "85" // facility 10, severity 5
		if ae.Outcome != "0" {
			wantPri = "84" // a failed access: warning
		}
		if ae.ResourceType != "AuditEvent" || m.Pri != wantPri || m.AppName != "vigil" || m.MsgID != "IHE+FHIR" ||
			m.Hostname != "vigil-host.test" || m.StructuredData != "-" || m.ProcID != "-" {
			t.Fatalf("message %+v (%s)", m, ae.ResourceType)
		}
		if _, err := time.Parse(time.RFC3339, m.Timestamp); err != nil {
			t.Fatalf("timestamp %q", m.Timestamp)
		}
	}
	if !strings.Contains(msgs[0].Msg, "dr_ö_") {
		t.Fatalf("UTF-8 did not survive: %s", msgs[0].Msg)
	}
}

// TestSyslogOutage: with rsyslog down nothing is skipped; the cursor waits
// and the events go once it is back.
func TestSyslogOutage(t *testing.T) {
	rs := streamtest.StartRsyslog(t)
	db := openStore(t)
	ids := appendEvents(t, db, "default", 40, vigil.OutcomeSuccess)
	sender, _ := stream.NewSyslog("tls://"+rs.Addr, rs.ClientTLS, "h")
	f := stream.New(stream.Config{Log: db, Cursors: db, Sender: sender, Batch: 10})
	if err := f.Pass(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// What rsyslog acknowledged but had not yet written when it stops is
	// lost on its side, which no syslog sender can see: the outage starts
	// once it has written what it took.
	waitIDs(t, rs.IDs, len(ids))
	rs.Stop()
	more := appendEvents(t, db, "default", 25, vigil.OutcomeSuccess)
	if err := f.Pass(ctx(t)); err == nil {
		t.Fatal("a pass to a stopped rsyslog succeeded")
	}
	if f.Lag() != 25 {
		t.Fatalf("lag %d during the outage, want 25", f.Lag())
	}
	if next, _ := db.Cursor(ctx(t), "stream:"+sender.Name(), "default"); next != 40 {
		t.Fatalf("the cursor moved to %d during the outage", next)
	}
	rs.Start()
	if err := f.Pass(ctx(t)); err != nil {
		t.Fatal(err)
	}
	sender.Close()
	waitIDs(t, rs.IDs, len(ids)+len(more))
	once(t, rs.IDs(), append(ids, more...))
}

// TestSyslogRefusesUnknownClients: rsyslog requires a client certificate;
// without one nothing is delivered and the cursor stays.
func TestSyslogRefusesUnknownClients(t *testing.T) {
	rs := streamtest.StartRsyslog(t)
	anon := rs.ClientTLS.Clone()
	anon.Certificates = nil
	for name, cfg := range map[string]*tls.Config{"no certificate": anon} {
		t.Run(name, func(t *testing.T) {
			db := openStore(t)
			appendEvents(t, db, "default", 5, vigil.OutcomeSuccess)
			sender, _ := stream.NewSyslog("tls://"+rs.Addr, cfg, "h")
			f := stream.New(stream.Config{Log: db, Cursors: db, Sender: sender})
			if err := f.Pass(ctx(t)); err == nil {
				t.Fatal("a client rsyslog does not permit delivered to it")
			}
			if next, _ := db.Cursor(ctx(t), "stream:"+sender.Name(), "default"); next != 0 {
				t.Fatalf("refused events counted as delivered (cursor %d)", next)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(rs.IDs()); n != 0 {
		t.Fatalf("rsyslog took %d messages from clients it does not permit", n)
	}
}

func TestHTTPSStreams(t *testing.T) {
	for _, hec := range []bool{false, true} {
		t.Run(fmt.Sprintf("hec=%v", hec), func(t *testing.T) {
			rcv := streamtest.StartReceiver(t, "s3cret", hec)
			db := openStore(t)
			ids := append(appendEvents(t, db, "default", 120, vigil.OutcomeSuccess), appendEvents(t, db, "other", 7, vigil.OutcomeSuccess)...)
			format := stream.FormatNDJSON
			if hec {
				format = stream.FormatHEC
			}
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: rcv.Roots}}, Timeout: 10 * time.Second}
			sender, err := stream.NewHTTPS(rcv.URL, format, "s3cret", "vigil-host.test", client)
			if err != nil {
				t.Fatal(err)
			}
			f := stream.New(stream.Config{Log: db, Cursors: db, Sender: sender, Batch: 50, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond})
			rcv.Fail.Store(3) // an outage of three requests: Run backs off and tries again
			runCtx, stop := context.WithCancel(ctx(t))
			done := make(chan struct{})
			go func() { f.Run(runCtx); close(done) }()
			waitIDs(t, rcv.IDs, len(ids))
			stop()
			<-done
			if dups := once(t, rcv.IDs(), ids); dups != 0 {
				t.Fatalf("%d duplicates: a refused batch counted", dups)
			}
			if f.Failures() != 3 || f.Lag() != 0 {
				t.Fatalf("failures %d lag %d", f.Failures(), f.Lag())
			}
			var line map[string]json.RawMessage
			json.Unmarshal(rcv.Lines()[0], &line)
			body := "audit_event"
			if hec {
				body = "event"
				if string(line["sourcetype"]) != `"fhir:auditevent"` || string(line["host"]) != `"vigil-host.test"` || line["time"] == nil {
					t.Fatalf("HEC event %s", rcv.Lines()[0])
				}
			}
			var ae struct{ ResourceType, ID string }
			if json.Unmarshal(line[body], &ae); ae.ResourceType != "AuditEvent" || ae.ID != ids[0] {
				t.Fatalf("line %s", rcv.Lines()[0])
			}
		})
	}
}

func TestHTTPSWrongToken(t *testing.T) {
	rcv := streamtest.StartReceiver(t, "right", false)
	db := openStore(t)
	appendEvents(t, db, "default", 3, vigil.OutcomeSuccess)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: rcv.Roots}}}
	sender, _ := stream.NewHTTPS(rcv.URL, stream.FormatNDJSON, "wrong", "h", client)
	f := stream.New(stream.Config{Log: db, Cursors: db, Sender: sender})
	if err := f.Pass(ctx(t)); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a refused token: %v", err)
	}
	if f.Lag() != 3 {
		t.Fatalf("lag %d, want 3", f.Lag())
	}
}

func TestDestinationsRefused(t *testing.T) {
	for _, u := range []string{"tcp://h:1", "tls://h", "tls://:514", "syslog.example:6514", "tls://h:1/path"} {
		if _, err := stream.NewSyslog(u, &tls.Config{}, "h"); err == nil {
			t.Errorf("syslog destination %q accepted", u)
		}
	}
	for _, u := range []string{"http://h/x", "h/x", "https://"} {
		if _, err := stream.NewHTTPS(u, stream.FormatNDJSON, "", "h", http.DefaultClient); err == nil {
			t.Errorf("HTTPS destination %q accepted", u)
		}
	}
	if _, err := stream.NewHTTPS("https://h/services/collector/event", stream.FormatHEC, "", "h", http.DefaultClient); err == nil {
		t.Error("a HEC destination without a token accepted")
	}
}

func waitIDs(t *testing.T, ids func() []string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		seen := map[string]bool{}
		for _, id := range ids() {
			seen[id] = true
		}
		if len(seen) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events arrived", len(seen), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
