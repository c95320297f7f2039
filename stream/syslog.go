package stream

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/fhir"
)

// The syslog message of an event, RFC 5424, as IHE ATNA's Record Audit
// Event [ITI-20] specifies for an audit record:
//
//	<PRI>1 TIMESTAMP HOSTNAME vigil - IHE+FHIR - BOM{AuditEvent JSON}
//
// PRI is facility 10 (security/authorization) with severity 5 (notice) for
// a successful access and 4 (warning) for a failed one; TIMESTAMP is the
// event's created_at (UTC, microseconds); the message is the event's FHIR
// R4 AuditEvent (the BALP view, docs/fhir.md) in JSON, UTF-8 with the BOM
// RFC 5424 §6.4 asks for. ITI-20 names MSGID IHE+RFC-3881 for its DICOM
// XML body; a FHIR body gets IHE+FHIR.
const (
	facilityAuth = 10
	appName      = "vigil"
	msgID        = "IHE+FHIR"
	bom          = "\xef\xbb\xbf"
)

// AppendMessage appends the RFC 5424 message of an event.
func AppendMessage(dst []byte, e vigil.Event, hostname string) ([]byte, error) {
	sev := 5
	if e.Outcome != vigil.OutcomeSuccess && e.Outcome != "" {
		sev = 4
	}
	body, err := auditEventJSON(e)
	if err != nil {
		return dst, err
	}
	dst = fmt.Appendf(dst, "<%d>1 %s %s %s - %s - %s", facilityAuth*8+sev,
		e.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000Z"), hostname, appName, msgID, bom)
	return append(dst, body...), nil
}

// auditEventJSON is the event's FHIR AuditEvent in JSON.
func auditEventJSON(e vigil.Event) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fhir.FromEvent(e)); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

// Hostname is a HOSTNAME field for RFC 5424: printable US-ASCII, at most
// 255 characters, "-" when there is none.
func Hostname(h string) string {
	var b strings.Builder
	for i := 0; i < len(h) && b.Len() < 255; i++ {
		if h[i] >= 33 && h[i] <= 126 {
			b.WriteByte(h[i])
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

// Syslog sends events to a syslog server over TLS (RFC 5425): each message
// framed by octet counting ("<length> <message>"), a batch in one write.
// Syslog has no acknowledgement, so a batch counts as delivered once the
// receiver's TCP stack has acknowledged every byte of it (on Linux; the
// write alone elsewhere): a crash of Vigil after that loses nothing. The
// connection is dropped, and the batch sent again on a new one, at the
// first error.
type Syslog struct {
	addr     string
	tls      *tls.Config
	hostname string
	timeout  time.Duration
	conn     *tls.Conn
	w        *bufio.Writer
	closed   chan struct{} // closed when the receiver closed the connection
	fresh    bool          // no batch was delivered on this connection yet
	buf      []byte
}

// settle is how long the first batch on a connection waits, once
// acknowledged, for the receiver to close the connection instead: a
// receiver that checks the client's certificate name after the handshake
// drops the connection having taken the bytes but not the messages.
const settle = 250 * time.Millisecond

// NewSyslog returns a sender to tls://HOST:PORT.
func NewSyslog(rawURL string, cfg *tls.Config, hostname string) (*Syslog, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "tls" || u.Hostname() == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("stream: syslog destination %q is not tls://HOST:PORT", rawURL)
	}
	cfg = cfg.Clone()
	// TLS 1.2: in 1.3 the client's handshake ends before the server has
	// judged the client's certificate, so a receiver refusing it would do
	// so only after a batch was written and acknowledged by TCP.
	cfg.MaxVersion = tls.VersionTLS12
	if cfg.MinVersion == 0 || cfg.MinVersion > tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	return &Syslog{addr: u.Host, tls: cfg, hostname: Hostname(hostname), timeout: 30 * time.Second}, nil
}

func (s *Syslog) Name() string { return "syslog:" + s.addr }

// Send implements Sender.
func (s *Syslog) Send(ctx context.Context, events []vigil.Event) error {
	if s.conn == nil {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: s.timeout}, Config: s.tls}
		c, err := d.DialContext(ctx, "tcp", s.addr)
		if err != nil {
			return fmt.Errorf("connecting to %s: %w", s.addr, err)
		}
		s.conn = c.(*tls.Conn)
		s.w = bufio.NewWriterSize(s.conn, 64<<10)
		s.closed, s.fresh = make(chan struct{}), true
		// The receiver sends nothing but TLS records of its own (session
		// tickets, an alert before it closes): read them, so none is left
		// unread when the connection closes (which would reset it and
		// discard what is still in flight), and notice a close.
		go func(c *tls.Conn, closed chan struct{}) {
			io.Copy(io.Discard, c)
			close(closed)
		}(s.conn, s.closed)
	}
	select {
	case <-s.closed:
		s.Close()
		return fmt.Errorf("%s closed the connection", s.addr)
	default:
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
	for _, e := range events {
		var err error
		s.buf, err = AppendMessage(s.buf[:0], e, s.hostname)
		if err != nil {
			return err
		}
		s.w.WriteString(strconv.Itoa(len(s.buf)))
		s.w.WriteByte(' ')
		s.w.Write(s.buf) // a write error sticks in w and is returned by Flush
	}
	if err := s.w.Flush(); err != nil {
		s.Close()
		return fmt.Errorf("writing to %s: %w", s.addr, err)
	}
	if err := waitAcked(ctx, s.conn.NetConn(), s.closed, s.timeout); err != nil {
		s.Close()
		return fmt.Errorf("%s: %w", s.addr, err)
	}
	if s.fresh {
		select {
		case <-s.closed:
			s.Close()
			return fmt.Errorf("%s closed the connection after the first messages: it does not accept this client", s.addr)
		case <-time.After(settle):
			s.fresh = false
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		}
	}
	return nil
}

// Close implements Sender.
func (s *Syslog) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn, s.w = nil, nil
	return err
}
