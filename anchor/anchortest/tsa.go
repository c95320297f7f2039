// Package anchortest starts real witnesses for tests: an RFC 3161
// time-stamp authority (OpenSSL's ts responder behind an HTTP handler)
// and a C2SP tlog-witness (litewitness, from filippo.io/torchwood).
package anchortest

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// TSA is a running time-stamp authority.
type TSA struct {
	URL    string
	CAFile string         // the CA certificate the TSA's chains to (PEM)
	Roots  *x509.CertPool // the same, as a pool
	// Requests counts the time-stamp requests answered.
	Requests atomic.Int64
	// Down, while set, makes the TSA answer 503 (an outage).
	Down atomic.Bool
}

// StartTSA makes a CA and a time-stamping certificate it issued (with the
// critical extendedKeyUsage timeStamping RFC 3161 requires) in a temporary
// directory, and serves `openssl ts -reply` over HTTP until the test ends.
func StartTSA(t testing.TB) *TSA {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("the test TSA needs the openssl command (Debian package openssl): apt-get install openssl")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
		"-days", "30", "-subj", "/CN=Vigil Test TSA CA", "-addext", "basicConstraints=critical,CA:TRUE",
		"-addext", "keyUsage=critical,keyCertSign,cRLSign")
	run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
		"-subj", "/CN=Vigil Test TSA")
	write("tsa.ext", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n")
	run("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tsa.pem",
		"-days", "30", "-extfile", "tsa.ext")
	write("tsaserial", "01\n")
	write("ts.cnf", fmt.Sprintf(`[ tsa ]
default_tsa = tsa1
[ tsa1 ]
dir = %[1]s
serial = %[1]s/tsaserial
crypto_device = builtin
signer_cert = %[1]s/tsa.pem
certs = %[1]s/ca.pem
signer_key = %[1]s/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.4146.2.3
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`, dir))
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caPEM)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	tsa := &TSA{CAFile: filepath.Join(dir, "ca.pem"), Roots: x509.NewCertPool()}
	tsa.Roots.AddCert(ca)
	var mu sync.Mutex // the serial file is read and written by each reply
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
			http.Error(w, "POST an application/timestamp-query", http.StatusBadRequest)
			return
		}
		if tsa.Down.Load() {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		query, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		n := tsa.Requests.Add(1)
		in, out := filepath.Join(dir, fmt.Sprintf("q%d.tsq", n)), filepath.Join(dir, fmt.Sprintf("q%d.tsr", n))
		if err := os.WriteFile(in, query, 0o600); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		cmd := exec.Command("openssl", "ts", "-reply", "-config", filepath.Join(dir, "ts.cnf"), "-queryfile", in, "-out", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			http.Error(w, fmt.Sprintf("openssl ts: %v: %s", err, b), http.StatusInternalServerError)
			return
		}
		reply, err := os.ReadFile(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(reply)
	}))
	t.Cleanup(srv.Close)
	tsa.URL = srv.URL
	return tsa
}
