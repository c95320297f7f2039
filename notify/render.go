package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"
	"unicode"

	"github.com/vigilhq/vigil"
)

// EmailSubject returns the subject line of a's message (before MIME
// encoding): the rule type, the rule's name and the subject id, so an
// inbox sorts and threads by them.
func EmailSubject(a vigil.Alert) string {
	s := "[Vigil] " + a.RuleType + ": " + a.RuleName
	if a.Subject != "" {
		s += " - " + a.Subject
	}
	return oneLine(s)
}

// EmailBody returns the text of a's message: the reason and the ids an
// investigator looks up in Vigil. Like the alert, it names no person and
// carries no metadata.
func EmailBody(a vigil.Alert) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Vigil alert: %s (%s)\n\n%s\n\n", oneLine(a.RuleName), a.RuleType, oneLine(a.Reason))
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-14s %s\n", k+":", oneLine(v))
		}
	}
	row("Alert", a.ID)
	row("Triggered at", a.TriggeredAt.UTC().Format(time.RFC3339))
	row("Workspace", a.Workspace)
	row("Tenant", a.TenantID)
	row("Rule", a.RuleID)
	row("Subject", a.Subject)
	row("Event", a.EventID)
	row("Action", a.EventAction)
	row("Actor", a.ActorID)
	if a.Sequence >= 0 {
		row("Sequence", fmt.Sprint(a.Sequence))
	}
	if a.Suppressed > 0 {
		fmt.Fprintf(&b, "\n%d earlier alerts of this rule and subject were recorded without notification.\n", a.Suppressed)
	}
	b.WriteString("\nInvestigate it in Vigil and set its status (investigating, resolved or false_positive).\n")
	return b.String()
}

// oneLine replaces control characters (line breaks above all, which
// would let a rule name inject headers) with spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// render returns the whole message, headers and quoted-printable body,
// with LF line ends (net/smtp's DATA writer sends CRLF and dot-stuffs).
func (m *Email) render(a vigil.Alert) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\n", k, v) }
	h("From", m.from.String())
	to := make([]string, len(m.to))
	for i, a := range m.to {
		to[i] = a.String()
	}
	h("To", strings.Join(to, ", "))
	h("Subject", mime.QEncoding.Encode("utf-8", EmailSubject(a)))
	h("Date", m.cfg.Now().Format(time.RFC1123Z))
	h("Message-ID", m.messageID(a))
	if a.ID != "" {
		h("X-Vigil-Alert-ID", oneLine(a.ID))
	}
	h("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(EmailBody(a)))
	_ = qp.Close()
	return b.Bytes()
}

// messageID is derived from the alert's id, so a retry after a lost reply
// carries the same Message-ID and mail clients show one message.
func (m *Email) messageID(a vigil.Alert) string {
	domain := "vigil.invalid"
	if at := strings.LastIndexByte(m.from.Address, '@'); at >= 0 {
		domain = m.from.Address[at+1:]
	}
	local := ""
	for _, r := range a.ID {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '.') {
			local += string(r)
		}
	}
	if local == "" {
		var buf [16]byte
		_, _ = rand.Read(buf[:])
		local = hex.EncodeToString(buf[:])
	}
	return "<alert." + local + "@" + domain + ">"
}
