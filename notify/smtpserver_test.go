package notify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message the test SMTP server accepted.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool   // the MAIL command came over TLS
	User string // who authenticated, "" if nobody
}

// mailbox is a go-smtp backend that records messages. It accepts one
// user, refuses recipients whose address starts with "reject" (550) and
// defers those starting with "later" (451).
type mailbox struct {
	user, pass string
	mu         sync.Mutex
	msgs       []received
}

func (b *mailbox) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

func (b *mailbox) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{box: b, conn: c}, nil
}

type session struct {
	box  *mailbox
	conn *smtp.Conn
	msg  received
	user string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != s.box.user || password != s.box.pass {
			return smtp.ErrAuthFailed
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.box.user != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	_, tlsOn := s.conn.TLSConnectionState()
	s.msg = received{From: from, TLS: tlsOn, User: s.user}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasPrefix(to, "reject"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	case strings.HasPrefix(to, "later"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.msg.To = append(s.msg.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.Data = data
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.msg)
	s.box.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.msg = received{} }
func (s *session) Logout() error { return nil }

// serverOpts choose how the test server runs.
type serverOpts struct {
	starttls bool // offer STARTTLS with the test certificate
	implicit bool // TLS from the first byte
	insecure bool // allow AUTH without TLS
}

// startSMTP runs a go-smtp server on a loopback port and returns its port
// and mailbox; it stops with the test.
func startSMTP(t *testing.T, box *mailbox, o serverOpts) int {
	t.Helper()
	s := smtp.NewServer(box)
	s.Domain = "mx.test"
	s.AllowInsecureAuth = o.insecure
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = silentLog{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{testCert(t).tls}}
	if o.starttls {
		s.TLSConfig = cfg
	}
	if o.implicit {
		l = tls.NewListener(l, cfg)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != nil && !errors.Is(err, smtp.ErrServerClosed) {
			t.Errorf("smtp server: %v", err)
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

type silentLog struct{}

func (silentLog) Printf(string, ...any) {}
func (silentLog) Println(...any)        {}

type certificate struct {
	tls  tls.Certificate
	pool *x509.CertPool // trusts it
}

var (
	certOnce sync.Once
	cert     certificate
	certErr  error
)

// testCert is a self-signed certificate for 127.0.0.1, ::1 and localhost,
// made once per test binary.
func testCert(t *testing.T) certificate {
	t.Helper()
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			certErr = err
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "vigil test smtp"},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			BasicConstraintsValid: true,
			IsCA:                  true,
			IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
			DNSNames:              []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			certErr = err
			return
		}
		parsed, err := x509.ParseCertificate(der)
		if err != nil {
			certErr = err
			return
		}
		cert.pool = x509.NewCertPool()
		cert.pool.AddCert(parsed)
		cert.tls = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: parsed}
	})
	if certErr != nil {
		t.Fatal(certErr)
	}
	return cert
}
