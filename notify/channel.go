package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"

	"github.com/vigilhq/vigil"
)

// Channel delivers alerts to one destination. Send returns nil once the
// destination has accepted the alert; an error is retryable unless
// Permanent says otherwise.
type Channel interface {
	// Name is the name rules use in their channels list.
	Name() string
	Send(ctx context.Context, a vigil.Alert) error
}

// Secret is a credential from configuration (an SMTP password, a webhook
// signing secret). It formats, logs and marshals as "[redacted]" so that a
// configuration printed with %+v, logged with slog or dumped as JSON does
// not carry it.
type Secret string

const redacted = "[redacted]"

// Format implements fmt.Formatter for every verb, %#v and %x included.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON writes "[redacted]".
func (Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }
