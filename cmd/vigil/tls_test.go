package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeSelfSigned writes a certificate for 127.0.0.1 and its key.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

// TestServeTLS: with a certificate the API is served over HTTPS only.
func TestServeTLS(t *testing.T) {
	bin := buildVigil(t)
	dir := t.TempDir()
	cert, key := writeSelfSigned(t, dir)
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data", filepath.Join(dir, "data"), "--addr", addr, "--tls-cert", cert, "--tls-key", key)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := exec.Command("curl", "-s", "--cacert", cert, "https://"+addr+"/healthz").Output()
		if err == nil && strings.Contains(string(out), "ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS answer: %v %s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := exec.Command("curl", "-s", "http://"+addr+"/healthz").Output(); err == nil && strings.Contains(string(out), `"ok"`) {
		t.Fatalf("plain HTTP answered on a TLS server: %s", out)
	}
	if out, err := exec.Command(bin, "serve", "--data", filepath.Join(dir, "d2"), "--addr", freeAddr(t), "--tls-cert", cert).CombinedOutput(); err == nil || !strings.Contains(string(out), "go together") {
		t.Fatalf("a certificate without a key was accepted: %s", out)
	}
}
