package notify_test

// This file is the receiver sample of docs/alerts.md, which
// TestDocSampleMatches keeps identical to it (package clause aside), and
// which TestSampleReceiver runs against real deliveries.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// verifyVigilWebhook checks a Vigil webhook delivery: the HMAC-SHA256
// signature over "<X-Vigil-Timestamp>.<body>" with the channel's secret,
// and that the delivery is at most five minutes old (or early).
func verifyVigilWebhook(secret []byte, h http.Header, body []byte, now time.Time) error {
	ts := h.Get("X-Vigil-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("missing or malformed X-Vigil-Timestamp")
	}
	hexSig, ok := strings.CutPrefix(h.Get("X-Vigil-Signature"), "sha256=")
	sig, err := hex.DecodeString(hexSig)
	if !ok || err != nil {
		return errors.New("missing or malformed X-Vigil-Signature")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) { // constant time
		return errors.New("bad signature")
	}
	if age := now.Sub(time.Unix(sec, 0)); age > 5*time.Minute || age < -5*time.Minute {
		return errors.New("stale delivery: a replay, or a clock far off")
	}
	return nil
}

// vigilWebhook accepts verified deliveries and passes their body to
// handle, which should ignore an alert "id" it has already seen: Vigil
// retries until it gets a 2xx, so a delivery can arrive twice.
func vigilWebhook(secret []byte, handle func(body []byte) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := verifyVigilWebhook(secret, r.Header, body, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized) // 4xx: Vigil does not retry
			return
		}
		if err := handle(body); err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable) // 5xx: Vigil retries
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
