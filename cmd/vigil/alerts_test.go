package main

import (
	"bytes"
	"context"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/vigilhq/vigil/notify"
)

// TestServeAlerts runs vigil serve with an email and a webhook channel: a
// rule created over the API fires on an event, and the alert arrives by
// email at a real SMTP server and by a signed webhook, without anyone
// driving the pipeline.
func TestServeAlerts(t *testing.T) {
	bin := buildVigil(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	secret := "0123456789abcdef0123456789abcdef"
	secretFile := filepath.Join(dir, "hook.secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var hooks []string
	hook := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.VerifyWebhook([]byte(secret), r.Header, body, time.Now(), 0); err != nil {
			w.WriteHeader(nethttp.StatusUnauthorized)
			return
		}
		mu.Lock()
		hooks = append(hooks, string(body))
		mu.Unlock()
		w.WriteHeader(nethttp.StatusNoContent)
	}))
	defer hook.Close()
	box := &cmdMailbox{}
	smtpPort := startCmdSMTP(t, box)

	ingest, admin, auditor := cliKey(t, bin, data, "ingest"), cliKey(t, bin, data, "admin"), cliKey(t, bin, data, "auditor")
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--data", data, "--addr", addr,
		"--webhook", "soc="+hook.URL, "--webhook-secret-file", "soc="+secretFile,
		"--smtp-host", "127.0.0.1", "--smtp-port", strconv.Itoa(smtpPort), "--smtp-tls", "none",
		"--smtp-from", "vigil@clinic.test", "--smtp-to", "privacy@clinic.test")
	srv := startServe(t, cmd, addr)
	if !strings.Contains(srv.stderr.String(), "alert notifications are on") {
		t.Fatalf("no word of alert channels at start:\n%s", srv.stderr.String())
	}
	status, body := curl(t, "-X", "POST", "http://"+addr+"/api/v1/alert-rules", "-H", "Authorization: Bearer "+admin,
		"-H", "Content-Type: application/json", "-d",
		`{"name":"VIP","rule_type":"watchlist","conditions":{"patients":["pat_vip"]},"channels":["email","soc"]}`)
	if status != 201 {
		t.Fatalf("create rule: %d %s", status, body)
	}
	if status, body := curl(t, "-X", "POST", "http://"+addr+"/api/v1/events", "-H", "Authorization: Bearer "+ingest,
		"-H", "Content-Type: application/json", "-d", `{"actor_id":"dr_z","action":"patient_record.viewed","patient_id":"pat_vip"}`); status != 201 {
		t.Fatalf("POST event: %d %s", status, body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(hooks)
		mu.Unlock()
		if n == 1 && len(box.all()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhooks, %d emails:\n%s", n, len(box.all()), srv.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, body = curl(t, "http://"+addr+"/api/v1/alerts", "-H", "Authorization: Bearer "+auditor)
	if !strings.Contains(body, `"rule_name":"VIP"`) || !strings.Contains(hooks[0], `"rule_name":"VIP"`) ||
		!strings.Contains(box.all()[0], "Subject: [Vigil] watchlist: VIP - pat_vip") {
		t.Fatalf("alerts %s\nwebhook %s\nemail %s", body, hooks[0], box.all()[0])
	}
	_, metrics := curl(t, "http://"+addr+"/metrics")
	if !strings.Contains(metrics, "vigil_alert_backlog_events ") || !strings.Contains(metrics, "vigil_alert_outbox_pending 0") {
		t.Fatalf("alert metrics missing:\n%s", metrics)
	}
	if strings.Contains(srv.stderr.String(), secret) {
		t.Fatal("the webhook secret is in the log")
	}
	srv.stop(t)
	if !strings.Contains(srv.stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop:\n%s", srv.stderr.String())
	}
}

func TestServeAlertFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--webhook", "http://127.0.0.1:1/hook"}, "secret"},
		{[]string{"--webhook", "a=ftp://x", "--webhook-secret-file", "a=/nonexistent"}, "nonexistent"},
		{[]string{"--webhook-secret-file", "b=/tmp/x"}, "no webhook"},
		{[]string{"--smtp-to", "a@b.c"}, "--smtp-host"},
		{[]string{"--smtp-host", "mail.test", "--smtp-from", "nobody"}, "--smtp-from"},
		{[]string{"--smtp-host", "mail.test", "--smtp-from", "a@b.c", "--smtp-to", "c@d.e", "--smtp-tls", "maybe"}, "--smtp-tls"},
	} {
		var stderr bytes.Buffer
		args := append([]string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, c.args...)
		code := Main(context.Background(), args, nil, io.Discard, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q lacks %q", c.args, code, stderr.String(), c.want)
		}
	}
}

type cmdMailbox struct {
	mu   sync.Mutex
	msgs []string
}

func (b *cmdMailbox) all() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.msgs...)
}

func (b *cmdMailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &cmdSession{box: b}, nil }

type cmdSession struct{ box *cmdMailbox }

func (s *cmdSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *cmdSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *cmdSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, string(b))
	s.box.mu.Unlock()
	return err
}
func (s *cmdSession) Reset()        {}
func (s *cmdSession) Logout() error { return nil }

func startCmdSMTP(t *testing.T, box *cmdMailbox) int {
	t.Helper()
	s := smtp.NewServer(box)
	s.Domain = "mx.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}
