package notify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/vigilhq/vigil/notify"
)

func signed(ts int64, body string) http.Header {
	h := http.Header{}
	h.Set(notify.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(notify.HeaderSignature, notify.Sign(secret, ts, []byte(body)))
	return h
}

func TestSign(t *testing.T) {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(`1772619303.{"id":"a"}`))
	if got, want := notify.Sign(secret, 1772619303, []byte(`{"id":"a"}`)), "sha256="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerifyWebhook(t *testing.T) {
	const body = `{"id":"a","rule_type":"off_hours"}`
	ts := sentAt.Unix()
	tests := []struct {
		name      string
		header    http.Header
		body      string
		now       time.Time
		tolerance time.Duration
		want      error
	}{
		{"valid", signed(ts, body), body, sentAt, 0, nil},
		{"five minutes old", signed(ts, body), body, sentAt.Add(5 * time.Minute), 0, nil},
		{"five minutes early", signed(ts, body), body, sentAt.Add(-5 * time.Minute), 0, nil},
		{"replayed after five minutes", signed(ts, body), body, sentAt.Add(5*time.Minute + time.Second), 0, notify.ErrTimestamp},
		{"from the future", signed(ts, body), body, sentAt.Add(-6 * time.Minute), 0, notify.ErrTimestamp},
		{"own tolerance", signed(ts, body), body, sentAt.Add(61 * time.Second), time.Minute, notify.ErrTimestamp},
		{"body changed", signed(ts, body), `{"id":"b","rule_type":"off_hours"}`, sentAt, 0, notify.ErrSignature},
		{"body extended", signed(ts, body), body + " ", sentAt, 0, notify.ErrSignature},
		{"fresh timestamp on an old signature", func() http.Header {
			h := signed(ts-3600, body)
			h.Set(notify.HeaderTimestamp, strconv.FormatInt(ts, 10))
			return h
		}(), body, sentAt, 0, notify.ErrSignature},
		{"no signature", func() http.Header { h := signed(ts, body); h.Del(notify.HeaderSignature); return h }(), body, sentAt, 0, notify.ErrSignature},
		{"no scheme", func() http.Header {
			h := signed(ts, body)
			h.Set(notify.HeaderSignature, h.Get(notify.HeaderSignature)[len("sha256="):])
			return h
		}(), body, sentAt, 0, notify.ErrSignature},
		{"not hex", func() http.Header { h := signed(ts, body); h.Set(notify.HeaderSignature, "sha256=zz"); return h }(), body, sentAt, 0, notify.ErrSignature},
		{"no timestamp", func() http.Header { h := signed(ts, body); h.Del(notify.HeaderTimestamp); return h }(), body, sentAt, 0, notify.ErrTimestamp},
		{"timestamp not a number", func() http.Header { h := signed(ts, body); h.Set(notify.HeaderTimestamp, "yesterday"); return h }(), body, sentAt, 0, notify.ErrTimestamp},
	}
	for _, tt := range tests {
		err := notify.VerifyWebhook(secret, tt.header, []byte(tt.body), tt.now, tt.tolerance)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
		// The doc's sample agrees wherever the tolerance is the default.
		if tt.tolerance == 0 {
			if sample := verifyVigilWebhook(secret, tt.header, []byte(tt.body), tt.now); (sample == nil) != (tt.want == nil) {
				t.Errorf("%s: the doc's sample says %v", tt.name, sample)
			}
		}
	}
	if err := notify.VerifyWebhook([]byte("another secret"), signed(ts, body), []byte(body), sentAt, 0); !errors.Is(err, notify.ErrSignature) {
		t.Errorf("wrong secret: %v", err)
	}
}
