// Package streamtest starts real receivers for stream tests: rsyslog
// taking RFC 5425 syslog over mutually authenticated TLS, writing what it
// receives to a file, and an HTTPS NDJSON / Splunk HEC receiver.
package streamtest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Rsyslog is a running rsyslogd.
type Rsyslog struct {
	Addr string
	// ClientTLS authenticates to it with a client certificate it permits
	// and trusts its server certificate.
	ClientTLS *tls.Config
	// CAFile, ClientCert and ClientKey are the same as files.
	CAFile, ClientCert, ClientKey string
	Out                           string // the file it writes each message to, one line each
	conf, dir                     string
	cmd                           *exec.Cmd
	t                             testing.TB
}

// Message is one line rsyslog wrote: the RFC 5424 fields as it parsed them.
type Message struct {
	Pri, Timestamp, Hostname, AppName, ProcID, MsgID, StructuredData string
	Msg                                                              string // the message, BOM removed
}

// StartRsyslog makes a CA, a server and a client certificate, and runs
// rsyslogd (imtcp with the ossl network stream driver, TLS required, the
// client's certificate name checked) until the test ends.
func StartRsyslog(t testing.TB) *Rsyslog {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		bin = "/usr/sbin/rsyslogd"
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatal("the syslog tests run rsyslog: apt-get install rsyslog rsyslog-openssl")
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so"); err != nil {
		if out, _ := exec.Command("sh", "-c", "ls /usr/lib/*/rsyslog/lmnsd_ossl.so").Output(); len(out) == 0 {
			t.Fatal("rsyslog's TLS driver is missing: apt-get install rsyslog-openssl")
		}
	}
	dir := t.TempDir()
	r := &Rsyslog{dir: dir, t: t, CAFile: filepath.Join(dir, "ca.pem"), ClientCert: filepath.Join(dir, "client.pem"),
		ClientKey: filepath.Join(dir, "client.key"), Out: filepath.Join(dir, "received.log"), conf: filepath.Join(dir, "rsyslog.conf")}
	makeCerts(t, dir)
	if err := os.MkdirAll(filepath.Join(dir, "work"), 0o700); err != nil {
		t.Fatal(err)
	}
	r.Addr = freeAddr(t)
	_, port, _ := net.SplitHostPort(r.Addr)
	conf := fmt.Sprintf(`global(
  workDirectory="%[1]s/work"
  maxMessageSize="1m"
  defaultNetstreamDriver="ossl"
  defaultNetstreamDriverCAFile="%[1]s/ca.pem"
  defaultNetstreamDriverCertFile="%[1]s/server.pem"
  defaultNetstreamDriverKeyFile="%[1]s/server.key"
)
module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="x509/name"
       permittedPeer=["vigil-stream-client"])
input(type="imtcp" address="127.0.0.1" port="%[2]s")
template(name="fields" type="list") {
  property(name="pri") constant(value=" ")
  property(name="timereported" dateFormat="rfc3339") constant(value=" ")
  property(name="hostname") constant(value=" ")
  property(name="app-name") constant(value=" ")
  property(name="procid") constant(value=" ")
  property(name="msgid") constant(value=" ")
  property(name="structured-data") constant(value=" ")
  property(name="msg") constant(value="\n")
}
action(type="omfile" file="%[1]s/received.log" template="fields" flushOnTXEnd="on" asyncWriting="off")
`, dir, port)
	if err := os.WriteFile(r.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-N1", "-f", r.conf).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd refuses the test configuration: %v\n%s", err, out)
	}
	ca, err := os.ReadFile(r.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(r.ClientCert, r.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	r.ClientTLS = &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "localhost"}

	r.Start()
	return r
}

// Start runs rsyslogd and waits until it listens.
func (r *Rsyslog) Start() {
	r.t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		bin = "/usr/sbin/rsyslogd"
	}
	logPath := filepath.Join(r.dir, "rsyslogd.log")
	logs, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		r.t.Fatal(err)
	}
	r.cmd = exec.Command(bin, "-n", "-f", r.conf, "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = logs, logs
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // gone with the test, even one killed
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	logs.Close()
	cmd := r.cmd
	r.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", r.Addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			r.t.Fatalf("rsyslogd does not listen on %s: %s", r.Addr, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends rsyslogd (an outage), letting it write what it has read.
func (r *Rsyslog) Stop() {
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-done
	}
}

// Messages returns what rsyslog has written so far.
func (r *Rsyslog) Messages() []Message {
	r.t.Helper()
	f, err := os.Open(r.Out)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	var out []Message
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), " ", 8)
		if len(f) != 8 {
			continue // a line being written
		}
		out = append(out, Message{Pri: f[0], Timestamp: f[1], Hostname: f[2], AppName: f[3], ProcID: f[4], MsgID: f[5],
			StructuredData: f[6], Msg: strings.TrimPrefix(f[7], "\xef\xbb\xbf")})
	}
	return out
}

// IDs returns the AuditEvent ids of the messages, in arrival order.
func (r *Rsyslog) IDs() []string {
	var ids []string
	for _, m := range r.Messages() {
		var ae struct{ ID string }
		if json.Unmarshal([]byte(m.Msg), &ae) == nil && ae.ID != "" {
			ids = append(ids, ae.ID)
		}
	}
	return ids
}

// makeCerts writes ca.pem, server.pem/key (localhost, 127.0.0.1) and
// client.pem/key (vigil-stream-client) into dir.
func makeCerts(t testing.TB, dir string) {
	t.Helper()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
		"-days", "30", "-subj", "/CN=Vigil Test Syslog CA", "-addext", "basicConstraints=critical,CA:TRUE",
		"-addext", "keyUsage=critical,keyCertSign,cRLSign")
	for _, c := range []struct{ name, cn, ext string }{
		{"server", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"},
		{"client", "vigil-stream-client", "subjectAltName=DNS:vigil-stream-client\nextendedKeyUsage=clientAuth\n"},
	} {
		run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", c.name+".key", "-out", c.name+".csr", "-subj", "/CN="+c.cn)
		if err := os.WriteFile(filepath.Join(dir, c.name+".ext"), []byte("basicConstraints=CA:FALSE\n"+c.ext), 0o600); err != nil {
			t.Fatal(err)
		}
		run("x509", "-req", "-in", c.name+".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", c.name+".pem",
			"-days", "30", "-extfile", c.name+".ext")
	}
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
