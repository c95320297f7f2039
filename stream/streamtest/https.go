package streamtest

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// Receiver is an HTTPS endpoint taking NDJSON (or Splunk HEC) posts.
type Receiver struct {
	URL    string
	CAFile string // the PEM certificate its TLS is served with
	Roots  *x509.CertPool
	// Token, when set, must come as "Bearer <token>" (NDJSON) or
	// "Splunk <token>" (HEC).
	Token string
	HEC   bool
	// Fail makes the next Fail requests answer 503 (an outage).
	Fail atomic.Int64

	mu       sync.Mutex
	lines    []json.RawMessage
	requests int
	t        testing.TB
}

// StartReceiver serves HTTPS until the test ends; hec selects the Splunk
// HEC route and authorization.
func StartReceiver(t testing.TB, token string, hec bool) *Receiver {
	t.Helper()
	r := &Receiver{Token: token, HEC: hec, t: t}
	mux := http.NewServeMux()
	path := "/ingest"
	if hec {
		path = "/services/collector/event"
	}
	mux.HandleFunc("POST "+path, r.serve)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	r.URL = srv.URL + path
	r.Roots = x509.NewCertPool()
	r.Roots.AddCert(srv.Certificate())
	r.CAFile = filepath.Join(t.TempDir(), "receiver.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(r.CAFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	want := ""
	if r.Token != "" {
		want = "Bearer " + r.Token
		if r.HEC {
			want = "Splunk " + r.Token
		}
	}
	if req.Header.Get("Authorization") != want {
		http.Error(w, `{"text":"Invalid authorization","code":3}`, http.StatusUnauthorized)
		return
	}
	if r.Fail.Load() > 0 {
		r.Fail.Add(-1)
		http.Error(w, `{"text":"Server is busy","code":9}`, http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 8<<20)
	for sc.Scan() {
		var line json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			http.Error(w, `{"text":"Invalid data format","code":6}`, http.StatusBadRequest)
			return
		}
		got = append(got, line)
	}
	r.mu.Lock()
	r.lines = append(r.lines, got...)
	r.requests++
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"text":"Success","code":0}`))
}

// Lines returns the lines received so far.
func (r *Receiver) Lines() []json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]json.RawMessage(nil), r.lines...)
}

// IDs returns the event ids received, in arrival order.
func (r *Receiver) IDs() []string {
	var ids []string
	for _, l := range r.Lines() {
		var v struct {
			ID     string
			Fields struct {
				EventID string `json:"event_id"`
			}
		}
		json.Unmarshal(l, &v)
		if v.ID == "" {
			v.ID = v.Fields.EventID
		}
		ids = append(ids, v.ID)
	}
	return ids
}
