package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigilhq/vigil"
)

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	Name   string // the channel's name in rules; "webhook" when empty
	URL    string // http or https
	Secret Secret // the HMAC key; at least 16 bytes, 32 random bytes recommended
	// Client sends the requests. The default has a 10 s timeout and does
	// not follow redirects (a 3xx is a permanent error): the signed alert
	// goes to the configured URL or nowhere.
	Client *http.Client
	// Now stamps X-Vigil-Timestamp; time.Now when nil.
	Now func() time.Time
}

// Format prints the configuration without the secret and without the
// URL's user info and query, where tokens live.
func (c WebhookConfig) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "{Name:%s URL:%s Secret:%s}", c.Name, redactURL(c.URL), redacted)
}

// LogValue logs the configuration as Format prints it.
func (c WebhookConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", c.Name), slog.String("url", redactURL(c.URL)))
}

// minSecret is the shortest secret accepted: shorter keys make the HMAC
// guessable offline from one captured delivery.
const minSecret = 16

// Webhook POSTs alerts as signed JSON. It is safe for concurrent use.
type Webhook struct {
	name   string
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

// NewWebhook validates cfg; errors are vigil.Invalid naming the field
// ("url", "secret").
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	var details []vigil.ErrorDetail
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		details = append(details, vigil.ErrorDetail{Field: "url", Message: "must be an http or https URL"})
	}
	if len(cfg.Secret) < minSecret {
		details = append(details, vigil.ErrorDetail{Field: "secret", Message: "must be at least " + strconv.Itoa(minSecret) + " bytes"})
	}
	if len(details) > 0 {
		return nil, vigil.Invalid(details...)
	}
	w := &Webhook{name: cfg.Name, url: cfg.URL, secret: []byte(cfg.Secret), client: cfg.Client, now: cfg.Now}
	if w.name == "" {
		w.name = "webhook"
	}
	if w.client == nil {
		w.client = &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if w.now == nil {
		w.now = time.Now
	}
	return w, nil
}

// Name implements Channel.
func (w *Webhook) Name() string { return w.name }

// String names the channel without its secret.
func (w *Webhook) String() string { return "webhook " + w.name }

// LogValue logs the channel without its secret.
func (w *Webhook) LogValue() slog.Value {
	return slog.GroupValue(slog.String("channel", w.name), slog.String("url", redactURL(w.url)))
}

// Format prints the channel without its secret, whatever the verb.
func (w *Webhook) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, w.String()) }

// Send POSTs NewPayload(a) to the URL, signed, and succeeds on a 2xx
// answer. Other answers are *HTTPError (see Permanent).
func (w *Webhook) Send(ctx context.Context, a vigil.Alert) error {
	body, err := json.Marshal(NewPayload(a))
	if err != nil {
		return &PermanentError{fmt.Errorf("notify: webhook %s: %w", w.name, err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return &PermanentError{fmt.Errorf("notify: webhook %s: %w", w.name, err)}
	}
	ts := w.now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Vigil-Webhook/1")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(w.secret, ts, body))
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, which may carry a token
		}
		return fmt.Errorf("notify: webhook %s: %w", w.name, err)
	}
	defer resp.Body.Close()
	// Read a little of the answer: enough for the operator, and draining
	// lets the connection be reused.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return &HTTPError{
		StatusCode: resp.StatusCode,
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), w.now()),
		Body:       clip(string(snippet), 200),
	}
}

// retryAfter parses Retry-After in seconds or as an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// clip shortens s to n bytes on a rune boundary, on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// redactURL drops the user info and query of a URL, where tokens live.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
