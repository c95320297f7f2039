package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
)

// TLSMode says how an Email protects its connection.
type TLSMode string

const (
	// TLSRequired upgrades with STARTTLS and fails when the server does not
	// offer it: the default, since alerts and credentials must not cross
	// the network in clear.
	TLSRequired TLSMode = "required"
	// TLSOpportunistic upgrades when the server offers STARTTLS. Without
	// it, credentials are still sent only to a loopback server (net/smtp
	// refuses PLAIN in clear to anyone else).
	TLSOpportunistic TLSMode = "opportunistic"
	// TLSNone never upgrades: for a relay on the same host.
	TLSNone TLSMode = "none"
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit TLSMode = "implicit"
)

// EmailConfig configures an Email.
type EmailConfig struct {
	Name     string  // the channel's name in rules; "email" when empty
	Host     string  // the SMTP server
	Port     int     // 587 when zero (465 with TLSImplicit)
	TLS      TLSMode // TLSRequired when empty
	Username string  // PLAIN authentication when set
	Password Secret
	From     string   // an RFC 5322 address: "Vigil <vigil@example.org>"
	To       []string // one or more addresses
	// HelloName is sent with EHLO; "localhost" when empty (as net/smtp).
	HelloName string
	// TLSConfig holds roots and client certificates; ServerName defaults
	// to Host.
	TLSConfig *tls.Config
	// Timeout bounds one whole delivery, dial to QUIT; 30 s when zero.
	Timeout time.Duration
	// Now stamps the Date header; time.Now when nil.
	Now func() time.Time
}

// Email sends alerts over SMTP as plain-text messages, with the standard
// library's net/smtp. It is safe for concurrent use: each Send has its own
// connection (alerts are rare; a pool would be state to get wrong).
type Email struct {
	cfg  EmailConfig
	from *mail.Address
	to   []*mail.Address
}

// NewEmail validates cfg; errors are vigil.Invalid naming the field
// ("host", "port", "tls", "from", "to", "to[i]", "password").
func NewEmail(cfg EmailConfig) (*Email, error) {
	var details []vigil.ErrorDetail
	add := func(field, msg string) { details = append(details, vigil.ErrorDetail{Field: field, Message: msg}) }
	if cfg.Name == "" {
		cfg.Name = "email"
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSRequired
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, " \r\n/") {
		add("host", "must be a host name or address")
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		add("port", "must be between 1 and 65535")
	}
	switch cfg.TLS {
	case TLSRequired, TLSOpportunistic, TLSNone, TLSImplicit:
	default:
		add("tls", "must be required, opportunistic, none or implicit")
	}
	if cfg.Username != "" && cfg.TLS == TLSNone && !loopback(cfg.Host) {
		add("password", "would be sent in clear: use tls required or implicit")
	}
	e := &Email{cfg: cfg}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		add("from", "must be an email address")
	}
	e.from = from
	if len(cfg.To) == 0 {
		add("to", "must name at least one recipient")
	}
	for i, s := range cfg.To {
		a, err := mail.ParseAddress(s)
		if err != nil {
			add("to["+strconv.Itoa(i)+"]", "must be an email address")
			continue
		}
		e.to = append(e.to, a)
	}
	if len(details) > 0 {
		return nil, vigil.Invalid(details...)
	}
	return e, nil
}

// loopback is net/smtp's test for where PLAIN may go in clear.
func loopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// Name implements Channel.
func (m *Email) Name() string { return m.cfg.Name }

// String names the channel without its credentials.
func (m *Email) String() string { return "email " + m.cfg.Name }

// Format prints the channel without its credentials, whatever the verb.
func (m *Email) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, m.String()) }

// LogValue logs the channel without its credentials.
func (m *Email) LogValue() slog.Value {
	return slog.GroupValue(slog.String("channel", m.cfg.Name), slog.String("server", m.addr()),
		slog.String("tls", string(m.cfg.TLS)), slog.Int("recipients", len(m.to)))
}

func (m *Email) addr() string { return net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port)) }

// Send delivers one message about a to every recipient. It succeeds once
// the server has accepted the message (250 after DATA); a failing QUIT
// after that is ignored, since reporting it would make the outbox send the
// alert twice. SMTP 5xx replies, failed authentication and a server
// without the required STARTTLS are permanent errors; network errors,
// timeouts and 4xx replies are not.
func (m *Email) Send(ctx context.Context, a vigil.Alert) error {
	msg := m.render(a)
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	err := m.send(ctx, msg)
	if err != nil {
		if cause := ctxErr(ctx); cause != nil {
			err = fmt.Errorf("%w (%w)", cause, err) // the cause is the deadline or cancellation, not the i/o error it caused
		}
		var tp *textproto.Error
		if errors.As(err, &tp) && tp.Code >= 500 {
			err = &PermanentError{err}
		}
		return fmt.Errorf("notify: email %s via %s: %w", m.cfg.Name, m.addr(), err)
	}
	return nil
}

// ctxErr is ctx.Err(), also in the instant between the connection's
// deadline (set to the context's) passing and the context noticing.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

func (m *Email) tlsConfig() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.cfg.TLSConfig != nil {
		c = m.cfg.TLSConfig.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = m.cfg.Host
	}
	return c
}

func (m *Email) send(ctx context.Context, msg []byte) error {
	var conn net.Conn
	var err error
	if m.cfg.TLS == TLSImplicit {
		conn, err = (&tls.Dialer{Config: m.tlsConfig()}).DialContext(ctx, "tcp", m.addr())
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", m.addr())
	}
	if err != nil {
		return err
	}
	// net/smtp knows no context: the deadline bounds every read and write,
	// and cancellation pulls it to now, failing whatever is blocked.
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	c, err := smtp.NewClient(conn, m.cfg.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if m.cfg.HelloName != "" {
		if err := c.Hello(m.cfg.HelloName); err != nil {
			return err
		}
	}
	if m.cfg.TLS == TLSRequired || m.cfg.TLS == TLSOpportunistic {
		ok, _ := c.Extension("STARTTLS")
		switch {
		case ok:
			if err := c.StartTLS(m.tlsConfig()); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		case m.cfg.TLS == TLSRequired:
			return &PermanentError{errors.New("the server does not offer STARTTLS, which tls required demands")}
		}
	}
	if m.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return &PermanentError{errors.New("the server does not offer AUTH")}
		}
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, string(m.cfg.Password), m.cfg.Host)); err != nil {
			var tp *textproto.Error
			if !errors.As(err, &tp) {
				// net/smtp's own refusals ("unencrypted connection",
				// "wrong host name") are configuration, not weather.
				err = &PermanentError{err}
			}
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(m.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, to := range m.to {
		if err := c.Rcpt(to.Address); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", to.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	_ = c.Quit() // the message is accepted; see Send
	return nil
}
