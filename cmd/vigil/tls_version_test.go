package main

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestServeTLSVersions: over HTTPS the server speaks TLS 1.2 and 1.3 and
// refuses the handshake of a client that offers only TLS 1.0 or 1.1
// (HIPAA transmission security: TLS 1.2 or later).
func TestServeTLSVersions(t *testing.T) {
	bin := buildVigil(t)
	dir := t.TempDir()
	certFile, keyFile := writeSelfSigned(t, dir)
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("the test certificate does not parse")
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data", filepath.Join(dir, "data"), "--addr", addr, "--tls-cert", certFile, "--tls-key", keyFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	handshake := func(lowest, highest uint16) (uint16, error) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, MinVersion: lowest, MaxVersion: highest})
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		return conn.ConnectionState().Version, nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := handshake(tls.VersionTLS12, tls.VersionTLS12)
		if err == nil {
			if v != tls.VersionTLS12 {
				t.Fatalf("asked for TLS 1.2, got %s", tls.VersionName(v))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no TLS 1.2 handshake: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v, err := handshake(tls.VersionTLS13, tls.VersionTLS13); err != nil || v != tls.VersionTLS13 {
		t.Errorf("TLS 1.3: %s, %v", tls.VersionName(v), err)
	}
	for _, old := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		if v, err := handshake(old, old); err == nil {
			t.Errorf("a client offering only %s was served (%s)", tls.VersionName(old), tls.VersionName(v))
		}
	}
}
