package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildVigil builds the binary once per test run, as a user would.
func buildVigil(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "vigil")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// cliKey creates a key of role on a data directory with the built
// binary, as a user would, and returns it (the last line of the output).
func cliKey(t *testing.T, bin, data, role string) string {
	t.Helper()
	out, err := exec.Command(bin, "keys", "create", "--data", data, "--role", role).Output()
	if err != nil || !keyLine.MatchString(lastLineOf(out)) {
		t.Fatalf("keys create --role %s: %v %s", role, err, out)
	}
	return lastLineOf(out)
}

// server is a running `vigil serve` child process.
type server struct {
	cmd      *exec.Cmd
	addr     string
	adminKey string
	stderr   *lockedBuilder
	exited   chan struct{}  // closed when the process has exited
	exitErr  error          // its exit status, once exited is closed
	signal   syscall.Signal // what stops it: SIGTERM, or SIGINT under go run
}

var keyLine = regexp.MustCompile(`^vgl_[A-Za-z0-9_-]{43}$`)

// startServe runs cmd (a vigil serve) and waits until it answers /readyz.
func startServe(t *testing.T, cmd *exec.Cmd, addr string) *server {
	t.Helper()
	s := &server{cmd: cmd, addr: addr, stderr: &lockedBuilder{}, exited: make(chan struct{}), signal: syscall.SIGTERM}
	if cmd.Args[0] == "go" {
		// go run dies of SIGTERM itself; on SIGINT it waits for the program.
		s.signal = syscall.SIGINT
	}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	keyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			s.stderr.WriteString(line + "\n")
			if keyLine.MatchString(line) {
				keyc <- line
			}
		}
		s.exitErr = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(90 * time.Second) // go run compiles first
	for time.Now().Before(deadline) {
		// Ready, or degraded (a ledger break was found) and still serving.
		if out, err := exec.Command("curl", "-sf", "http://"+addr+"/readyz").Output(); err == nil && (strings.Contains(string(out), "ready") || strings.Contains(string(out), "degraded")) {
			select {
			case s.adminKey = <-keyc:
			default:
			}
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("vigil serve did not become ready:\n%s", s.stderr.String())
	return nil
}

func (s *server) stop(t *testing.T) {
	select {
	case <-s.exited:
		return
	default:
	}
	syscall.Kill(-s.cmd.Process.Pid, s.signal)
	select {
	case <-s.exited:
		err := s.exitErr
		if s.signal == syscall.SIGINT && strings.Contains(s.stderr.String(), `"msg":"stopped"`) {
			// go run reports its own interruption; the program stopped cleanly.
			err = nil
		}
		if err != nil {
			t.Errorf("vigil serve exited with %v after %v:\n%s", err, s.signal, s.stderr.String())
		}
	case <-time.After(30 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		t.Errorf("vigil serve did not stop on SIGTERM")
	}
}

func curl(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-s", "-w", "\n%{http_code}"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	body, code, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if i := strings.LastIndex(string(out), "\n"); i >= 0 {
		body, code = strings.TrimSpace(string(out[:i])), strings.TrimSpace(string(out[i+1:]))
	}
	var status int
	fmt.Sscan(code, &status)
	return status, body
}

// TestNewUser does what the README tells a new user to do: start the
// service, create keys, send an event with curl, and query it back.
func TestNewUser(t *testing.T) {
	bin := buildVigil(t)
	data := filepath.Join(t.TempDir(), "data")
	addr := freeAddr(t)
	srv := startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr), addr)
	if srv.adminKey == "" {
		t.Fatalf("no admin key on stderr:\n%s", srv.stderr.String())
	}
	if fi, err := os.Stat(filepath.Join(data, keyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key file: %v %v", fi, err)
	}
	lastLine := func(out []byte) string {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return lines[len(lines)-1]
	}
	out, err := exec.Command(bin, "keys", "create", "--data", data, "--role", "ingest").Output()
	if err != nil || !keyLine.MatchString(lastLine(out)) {
		t.Fatalf("keys create: %v %s", err, out)
	}
	ingest := lastLine(out)
	out, err = exec.Command(bin, "keys", "create", "--data", data, "--role", "auditor").Output()
	if err != nil {
		t.Fatal(err)
	}
	auditor := lastLine(out)
	base := "http://" + addr + "/api/v1"
	status, body := curl(t, "-X", "POST", base+"/events", "-H", "Authorization: Bearer "+ingest, "-H", "Content-Type: application/json",
		"-d", `{"actor_id":"dr_m4k8p2","actor_name":"Dr. Emily Nakamura","action":"patient_record.viewed","resource":"patient_record","resource_id":"pat_7f3a9c2d","patient_id":"pt_1"}`)
	if status != 201 || !strings.Contains(body, `"status":"stored"`) {
		t.Fatalf("POST: %d %s", status, body)
	}
	status, body = curl(t, base+"/events?resource_id=pat_7f3a9c2d&limit=100", "-H", "Authorization: Bearer "+auditor)
	var list struct {
		Data []struct {
			ActorName string `json:"actor_name"`
			Action    string `json:"action"`
		} `json:"data"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Data) != 1 || list.Data[0].ActorName != "Dr. Emily Nakamura" {
		t.Fatalf("GET: %d %s", status, body)
	}
	// The admin key from stderr manages keys over HTTP.
	status, body = curl(t, "-X", "POST", base+"/keys", "-H", "Authorization: Bearer "+srv.adminKey, "-H", "Content-Type: application/json", "-d", `{"role":"auditor","name":"over http"}`)
	if status != 201 || !strings.Contains(body, `"secret":"vgl_`) {
		t.Fatalf("POST /keys: %d %s", status, body)
	}
	// Revoking a key on the data directory takes effect on the running server.
	var created struct {
		Data struct{ ID, Secret string } `json:"data"`
	}
	json.Unmarshal([]byte(body), &created)
	if out, err := exec.Command(bin, "keys", "revoke", created.Data.ID, "--data", data).CombinedOutput(); err != nil {
		t.Fatalf("keys revoke: %v %s", err, out)
	}
	// The server remembers keys for a second: revocation outside it takes
	// effect within that.
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, _ := curl(t, base+"/events", "-H", "Authorization: Bearer "+created.Data.Secret)
		if status == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked key still answered %d", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	srv.stop(t)
	// The secret appears on stderr once, at creation, and nowhere in the logs after.
	if n := strings.Count(srv.stderr.String(), "vgl_"); n != 1 {
		t.Fatalf("key material in the log %d times:\n%s", n, srv.stderr.String())
	}
	if strings.Contains(srv.stderr.String(), ingest) || strings.Contains(srv.stderr.String(), "Nakamura") {
		t.Fatal("the log holds a key or event content")
	}
}

// TestReadmeCommands runs the README's first two commands as written.
func TestReadmeCommands(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	inBlock := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			inBlock = !inBlock
			continue
		}
		if inBlock && strings.TrimSpace(line) != "" && len(cmds) < 2 {
			cmds = append(cmds, strings.TrimSpace(line))
		}
	}
	if len(cmds) < 2 || cmds[0] != "go run ./cmd/vigil serve" || cmds[1] != "go test ./..." {
		t.Fatalf("the README starts with %q; the run and test commands must come first", cmds)
	}
	// The run command, unchanged, from the repository root; only the
	// environment moves its data and port out of the way.
	addr := freeAddr(t)
	args := strings.Fields(cmds[0])
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "VIGIL_DATA="+filepath.Join(t.TempDir(), "d"), "VIGIL_ADDR="+addr, "GOTOOLCHAIN=local")
	srv := startServe(t, cmd, addr)
	if srv.adminKey == "" {
		t.Fatalf("first start printed no admin key:\n%s", srv.stderr.String())
	}
	if status, body := curl(t, "http://"+addr+"/healthz"); status != 200 {
		t.Fatalf("healthz %d %s", status, body)
	}
	// The test command is the one CI runs.
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil || !strings.Contains(string(ci), "\n"+cmds[1]+"\n") {
		t.Fatalf(".ci/run does not run %q", cmds[1])
	}
}

// lockedBuilder collects a child's stderr while tests read it.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) WriteString(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
}

// Write makes it an io.Writer, for a server run in-process.
func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
