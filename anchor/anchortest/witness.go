package anchortest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigilhq/vigil/anchor"
)

// LitewitnessVersion is the release of filippo.io/torchwood whose
// litewitness and witnessctl the tests run.
const LitewitnessVersion = "v0.6.1"

// Witness is a running C2SP tlog-witness.
type Witness struct {
	URL  string
	Name string
	VKey string // its cosignature/v1 verifier key
	proc *exec.Cmd
	args []string
	db   string
	t    testing.TB
}

// tool finds a command on PATH or in $(go env GOPATH)/bin, or fails the
// test saying how to install it.
func tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s is not installed; the witness tests run the published litewitness: "+
		"go install filippo.io/torchwood/cmd/litewitness@%[2]s filippo.io/torchwood/cmd/witnessctl@%[2]s", name, LitewitnessVersion)
	return ""
}

// StartWitness runs litewitness with a fresh Ed25519 key held by its own
// ssh-agent, knowing the logs of origins signed by logVKey, until the
// test ends.
func StartWitness(t testing.TB, logVKey string, origins ...string) *Witness {
	t.Helper()
	lw, ctl := tool(t, "litewitness"), tool(t, "witnessctl")
	for _, c := range []string{"ssh-keygen", "ssh-agent", "ssh-add"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("litewitness keeps its key in ssh-agent: %s is missing (Debian package openssh-client)", c)
		}
	}
	// A socket path must fit in 108 bytes: a short directory of its own.
	dir, err := os.MkdirTemp("", "lw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	key, sock, db := filepath.Join(dir, "key"), filepath.Join(dir, "agent.sock"), filepath.Join(dir, "witness.db")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vigil-test-witness", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, blob := readSSHKey(t, key+".pub")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	agent.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	waitFor(t, func() bool { _, err := os.Stat(sock); return err == nil }, "ssh-agent's socket")
	add := exec.Command("ssh-add", key)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	for _, o := range origins {
		for _, args := range [][]string{{"add-log", "-db", db, "-origin", o}, {"add-key", "-db", db, "-origin", o, "-key", logVKey}} {
			if out, err := exec.Command(ctl, args...).CombinedOutput(); err != nil {
				t.Fatalf("witnessctl %v: %v\n%s", args, err, out)
			}
		}
	}
	sum := sha256.Sum256(blob)
	w := &Witness{Name: "witness.vigil.test/w1", db: db, t: t}
	w.VKey = anchor.NewCosignerKey(w.Name, pub)
	addr := freeAddr(t)
	w.URL = "http://" + addr
	w.args = []string{"-name", w.Name, "-db", db, "-ssh-agent", sock, "-key", "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]), "-listen", addr}
	w.proc = w.start(lw)
	return w
}

func (w *Witness) start(bin string) *exec.Cmd {
	w.t.Helper()
	cmd := exec.Command(bin, w.args...)
	logPath := w.db + ".log"
	logs, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		w.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // gone with the test, even one killed
	if err := cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	logs.Close()
	w.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := strings.TrimPrefix(w.URL, "http://")
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return cmd
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			w.t.Fatalf("litewitness does not listen on %s:\n%s", addr, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends the witness process (an outage); Restart brings it back with
// the same key and database.
func (w *Witness) Stop() {
	w.proc.Process.Kill()
	w.proc.Wait()
}

func (w *Witness) Restart() { w.proc = w.start(tool(w.t, "litewitness")) }

// readSSHKey reads an OpenSSH ssh-ed25519 public key file: the key and
// its wire-format blob (whose SHA-256 is the key's fingerprint).
func readSSHKey(t testing.TB, path string) ([]byte, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 || f[0] != "ssh-ed25519" {
		t.Fatalf("%s is not an ssh-ed25519 key", path)
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil {
		t.Fatal(err)
	}
	// string "ssh-ed25519", then string key: each a uint32 length and bytes.
	rest := blob
	var parts [][]byte
	for len(rest) >= 4 {
		n := binary.BigEndian.Uint32(rest)
		if int(n) > len(rest)-4 {
			break
		}
		parts, rest = append(parts, rest[4:4+n]), rest[4+n:]
	}
	if len(parts) != 2 || string(parts[0]) != "ssh-ed25519" || len(parts[1]) != 32 {
		t.Fatalf("%s: unexpected key encoding", path)
	}
	return parts[1], blob
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

func waitFor(t testing.TB, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
