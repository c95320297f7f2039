package notify_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/notify"
)

const password = "correct horse battery staple"

// testAlert is an alert as package alert raises it, stored and numbered.
func testAlert() vigil.Alert {
	return vigil.Alert{
		ID: "0195f3a2-7c4e-7d2a-9b1e-3f4a5b6c7d8e", Workspace: "clinic", RuleID: "rule-1",
		RuleName: "Off-Hours PHI Access", RuleType: vigil.RuleOffHours,
		Reason:  "Actor dr_m4k8p2 performed patient_record.viewed at 02:15 PST America/Los_Angeles (Wed 2026-03-04), inside the off-hours window 20:00-06:00.",
		Subject: "dr_m4k8p2", EventID: "0195f3a2-0000-7000-8000-000000000042", EventAction: "patient_record.viewed",
		ActorID: "dr_m4k8p2", Sequence: 42, TriggeredAt: time.Date(2026, 3, 4, 10, 15, 1, 0, time.UTC),
		Status: vigil.AlertOpen, TenantID: "clinic_bayview_medical",
	}
}

var sentAt = time.Date(2026, 3, 4, 10, 15, 3, 0, time.UTC)

func emailConfig(port int, mode notify.TLSMode) notify.EmailConfig {
	return notify.EmailConfig{
		Host: "127.0.0.1", Port: port, TLS: mode,
		Username: "vigil", Password: password,
		From: "Vigil <vigil@clinic.test>",
		To:   []string{"compliance@clinic.test", "Security Desk <security@clinic.test>"},
		Now:  func() time.Time { return sentAt },
	}
}

func newEmail(t *testing.T, cfg notify.EmailConfig) *notify.Email {
	t.Helper()
	m, err := notify.NewEmail(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// parsed is a received message with its headers and decoded body.
type parsed struct {
	header mail.Header
	body   string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, data)
	}
	if te := msg.Header.Get("Content-Transfer-Encoding"); te != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding = %q", te)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	return parsed{msg.Header, string(body)}
}

func (p parsed) subject(t *testing.T) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkDelivered checks the one message of box: envelope, headers, body.
func checkDelivered(t *testing.T, box *mailbox, wantTLS bool) {
	t.Helper()
	msgs := box.messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.From != "vigil@clinic.test" || !slices.Equal(got.To, []string{"compliance@clinic.test", "security@clinic.test"}) {
		t.Errorf("envelope from %q to %q", got.From, got.To)
	}
	if got.TLS != wantTLS || got.User != box.user {
		t.Errorf("TLS = %v, user = %q; want %v, %q", got.TLS, got.User, wantTLS, box.user)
	}
	if bytes.Contains(got.Data, []byte(password)) {
		t.Error("the message carries the password")
	}
	m := parse(t, got.Data)
	if s := m.subject(t); s != "[Vigil] off_hours: Off-Hours PHI Access - dr_m4k8p2" {
		t.Errorf("Subject = %q", s)
	}
	for k, want := range map[string]string{
		"From":             `"Vigil" <vigil@clinic.test>`,
		"To":               `<compliance@clinic.test>, "Security Desk" <security@clinic.test>`,
		"Date":             "Wed, 04 Mar 2026 10:15:03 +0000",
		"Message-Id":       "<alert.0195f3a2-7c4e-7d2a-9b1e-3f4a5b6c7d8e@clinic.test>",
		"X-Vigil-Alert-Id": "0195f3a2-7c4e-7d2a-9b1e-3f4a5b6c7d8e",
		"Content-Type":     "text/plain; charset=utf-8",
		"Auto-Submitted":   "auto-generated",
	} {
		if v := m.header.Get(k); v != want {
			t.Errorf("%s: %q, want %q", k, v, want)
		}
	}
	for _, want := range []string{
		"Vigil alert: Off-Hours PHI Access (off_hours)",
		testAlert().Reason,
		"Alert:         0195f3a2-7c4e-7d2a-9b1e-3f4a5b6c7d8e",
		"Triggered at:  2026-03-04T10:15:01Z",
		"Workspace:     clinic",
		"Tenant:        clinic_bayview_medical",
		"Subject:       dr_m4k8p2",
		"Event:         0195f3a2-0000-7000-8000-000000000042",
		"Action:        patient_record.viewed",
		"Sequence:      42",
	} {
		if !strings.Contains(m.body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.body)
		}
	}
}

func TestEmailPlainAuth(t *testing.T) {
	box := &mailbox{user: "vigil", pass: password}
	port := startSMTP(t, box, serverOpts{insecure: true})
	m := newEmail(t, emailConfig(port, notify.TLSNone)) // loopback: net/smtp allows PLAIN in clear
	if err := m.Send(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, box, false)
	if m.Name() != "email" {
		t.Errorf("Name = %q", m.Name())
	}
}

func TestEmailSTARTTLS(t *testing.T) {
	box := &mailbox{user: "vigil", pass: password}
	port := startSMTP(t, box, serverOpts{starttls: true}) // AUTH only after STARTTLS
	cfg := emailConfig(port, notify.TLSRequired)
	cfg.TLSConfig = &tls.Config{RootCAs: testCert(t).pool}
	if err := newEmail(t, cfg).Send(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, box, true)
}

func TestEmailImplicitTLS(t *testing.T) {
	box := &mailbox{user: "vigil", pass: password}
	port := startSMTP(t, box, serverOpts{implicit: true})
	cfg := emailConfig(port, notify.TLSImplicit)
	cfg.TLSConfig = &tls.Config{RootCAs: testCert(t).pool}
	if err := newEmail(t, cfg).Send(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, box, true)
}

func TestEmailOpportunistic(t *testing.T) {
	box := &mailbox{user: "vigil", pass: password}
	port := startSMTP(t, box, serverOpts{starttls: true, insecure: true})
	cfg := emailConfig(port, notify.TLSOpportunistic)
	cfg.TLSConfig = &tls.Config{RootCAs: testCert(t).pool}
	if err := newEmail(t, cfg).Send(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, box, true) // offered, so used

	box = &mailbox{user: "vigil", pass: password}
	port = startSMTP(t, box, serverOpts{insecure: true})
	if err := newEmail(t, emailConfig(port, notify.TLSOpportunistic)).Send(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	checkDelivered(t, box, false) // not offered: clear, to a loopback server only
}

func TestEmailSTARTTLSRequiredButNotOffered(t *testing.T) {
	box := &mailbox{user: "vigil", pass: password}
	port := startSMTP(t, box, serverOpts{insecure: true})
	err := newEmail(t, emailConfig(port, notify.TLSRequired)).Send(context.Background(), testAlert())
	if err == nil || !notify.Permanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a permanent STARTTLS error", err)
	}
	if n := len(box.messages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}

func TestEmailUntrustedCertificate(t *testing.T) {
	box := &mailbox{user: "vigil", pass: password}
	port := startSMTP(t, box, serverOpts{starttls: true})
	cfg := emailConfig(port, notify.TLSRequired)
	cfg.TLSConfig = &tls.Config{RootCAs: nil} // system roots: the test certificate is unknown
	err := newEmail(t, cfg).Send(context.Background(), testAlert())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	if n := len(box.messages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}

func TestEmailWrongPassword(t *testing.T) {
	box := &mailbox{user: "vigil", pass: "another"}
	port := startSMTP(t, box, serverOpts{insecure: true})
	err := newEmail(t, emailConfig(port, notify.TLSNone)).Send(context.Background(), testAlert())
	if err == nil || !notify.Permanent(err) {
		t.Fatalf("err = %v, want a permanent error", err)
	}
	if strings.Contains(err.Error(), password) {
		t.Fatalf("the error shows the password: %v", err)
	}
}

func TestEmailRecipientErrors(t *testing.T) {
	box := &mailbox{user: "vigil", pass: password}
	port := startSMTP(t, box, serverOpts{insecure: true})
	for _, tt := range []struct {
		to        string
		permanent bool
	}{{"reject@clinic.test", true}, {"later@clinic.test", false}} {
		cfg := emailConfig(port, notify.TLSNone)
		cfg.To = append(cfg.To, tt.to)
		err := newEmail(t, cfg).Send(context.Background(), testAlert())
		if err == nil || notify.Permanent(err) != tt.permanent {
			t.Errorf("to %s: err = %v, permanent = %v; want permanent = %v", tt.to, err, notify.Permanent(err), tt.permanent)
		}
	}
	if n := len(box.messages()); n != 0 {
		t.Fatalf("%d messages delivered", n)
	}
}

// TestEmailContext: a server that never answers must not hold Send past
// its context.
func TestEmailContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept, then say nothing
		}
	}()
	m := newEmail(t, emailConfig(l.Addr().(*net.TCPAddr).Port, notify.TLSNone))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = m.Send(ctx, testAlert())
	if !errors.Is(err, context.DeadlineExceeded) || notify.Permanent(err) {
		t.Fatalf("err = %v, want a retryable deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Send took %s", d)
	}

	// Cancellation while waiting for the greeting.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := m.Send(ctx, testAlert()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestEmailHeaderInjection: a rule name is the administrator's text; line
// breaks in it must not become headers or recipients.
func TestEmailHeaderInjection(t *testing.T) {
	box := &mailbox{user: "vigil", pass: password}
	port := startSMTP(t, box, serverOpts{insecure: true})
	a := testAlert()
	a.RuleName = "Night access\r\nBcc: evil@attacker.test\r\n\r\nforged body"
	a.Reason = "line one\r\n.\r\nQUIT"
	if err := newEmail(t, emailConfig(port, notify.TLSNone)).Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	msgs := box.messages()
	if len(msgs) != 1 || len(msgs[0].To) != 2 {
		t.Fatalf("messages = %+v", msgs)
	}
	m := parse(t, msgs[0].Data)
	if m.header.Get("Bcc") != "" || !strings.Contains(m.subject(t), "Bcc: evil@attacker.test") {
		t.Errorf("Bcc = %q, subject = %q", m.header.Get("Bcc"), m.subject(t))
	}
	if !strings.Contains(m.body, "line one  .  QUIT") {
		t.Errorf("body = %q", m.body)
	}
}

func TestEmailUnicodeSubject(t *testing.T) {
	box := &mailbox{user: "vigil", pass: password}
	port := startSMTP(t, box, serverOpts{insecure: true})
	a := testAlert()
	a.RuleName = "Accès hors horaires — clinique"
	if err := newEmail(t, emailConfig(port, notify.TLSNone)).Send(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	m := parse(t, box.messages()[0].Data)
	if raw := m.header.Get("Subject"); !strings.HasPrefix(raw, "=?utf-8?") {
		t.Errorf("raw Subject %q is not MIME-encoded", raw)
	}
	if s := m.subject(t); s != "[Vigil] off_hours: Accès hors horaires — clinique - dr_m4k8p2" {
		t.Errorf("Subject = %q", s)
	}
	if !strings.Contains(m.body, "Accès hors horaires — clinique") {
		t.Errorf("body = %q", m.body)
	}
}

func TestNewEmailErrors(t *testing.T) {
	_, err := notify.NewEmail(notify.EmailConfig{
		Host: "smtp.example.org", Port: 70000, TLS: "sometimes", Username: "u",
		From: "not an address", To: []string{"ok@example.org", "@@"},
	})
	want := []string{"from", "port", "tls", "to[1]"}
	if got := fields(err); !slices.Equal(got, want) {
		t.Errorf("fields = %v, want %v (%v)", got, want, err)
	}
	_, err = notify.NewEmail(notify.EmailConfig{Host: "smtp.example.org", TLS: notify.TLSNone, Username: "u", Password: "p",
		From: "a@example.org", To: []string{"b@example.org"}})
	if got := fields(err); !slices.Equal(got, []string{"password"}) {
		t.Errorf("clear-text auth to a remote host: fields = %v (%v)", got, err)
	}
	_, err = notify.NewEmail(notify.EmailConfig{})
	if got := fields(err); !slices.Equal(got, []string{"from", "host", "to"}) {
		t.Errorf("empty config: fields = %v (%v)", got, err)
	}
}

func fields(err error) []string {
	var fs []string
	for _, d := range vigil.ErrorDetails(err) {
		fs = append(fs, d.Field)
	}
	slices.Sort(fs)
	return fs
}
