package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook headers.
const (
	HeaderTimestamp = "X-Vigil-Timestamp" // Unix seconds of the delivery attempt
	HeaderSignature = "X-Vigil-Signature" // "sha256=" + hex HMAC-SHA256 of "<timestamp>.<body>"
)

// DefaultTolerance is how far a webhook's timestamp may be from the
// receiver's clock: older deliveries are replays to refuse.
const DefaultTolerance = 5 * time.Minute

// Errors of VerifyWebhook.
var (
	ErrSignature = errors.New("notify: webhook signature missing or invalid")
	ErrTimestamp = errors.New("notify: webhook timestamp missing, malformed or outside the tolerance")
)

// Sign returns the X-Vigil-Signature value for a body sent at timestamp.
// The timestamp is signed with the body so that a captured delivery
// cannot be replayed later under a fresh timestamp.
func Sign(secret []byte, timestamp int64, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(timestamp, 10), body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifyWebhook checks a delivery as its receiver got it: the signature
// over the timestamp header as sent and the raw body, compared in constant
// time, and the timestamp within tolerance of now either way
// (DefaultTolerance when tolerance <= 0). It returns an error wrapping
// ErrSignature or ErrTimestamp. Within the tolerance a captured delivery
// can still be replayed; receivers that must not act twice drop repeats of
// the body's "id".
func VerifyWebhook(secret []byte, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts := header.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s is %q", ErrTimestamp, HeaderTimestamp, ts)
	}
	sig, ok := strings.CutPrefix(header.Get(HeaderSignature), "sha256=")
	got, err := hex.DecodeString(sig)
	if !ok || err != nil {
		return fmt.Errorf("%w: %s is not sha256=<hex>", ErrSignature, HeaderSignature)
	}
	// The signature first: an unsigned timestamp says nothing, and the
	// caller's log should show a forgery as a forgery.
	if !hmac.Equal(got, mac(secret, ts, body)) {
		return ErrSignature
	}
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now", ErrTimestamp, time.Unix(sec, 0).UTC().Format(time.RFC3339), age.Round(time.Second))
	}
	return nil
}
