package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/notify"
)

var secret = []byte("whsec_0123456789abcdef0123456789abcdef")

// delivery is one request a test receiver got.
type delivery struct {
	method string
	header http.Header
	body   []byte
}

// receiver is an httptest server that records deliveries and answers
// with status (and headers) chosen per test.
type receiver struct {
	*httptest.Server
	mu         sync.Mutex
	deliveries []delivery
}

func newReceiver(t *testing.T, answer func(w http.ResponseWriter)) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.deliveries = append(r.deliveries, delivery{req.Method, req.Header.Clone(), body})
		r.mu.Unlock()
		answer(w)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.deliveries)
}

func newWebhook(t *testing.T, url string) *notify.Webhook {
	t.Helper()
	w, err := notify.NewWebhook(notify.WebhookConfig{URL: url, Secret: notify.Secret(secret), Now: func() time.Time { return sentAt }})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWebhookDelivery(t *testing.T) {
	r := newReceiver(t, func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) })
	w := newWebhook(t, r.URL+"/hooks/vigil")
	if err := w.Send(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
	got := r.got()
	if len(got) != 1 {
		t.Fatalf("%d deliveries", len(got))
	}
	d := got[0]
	if d.method != http.MethodPost || d.header.Get("Content-Type") != "application/json" || d.header.Get("User-Agent") != "Vigil-Webhook/1" {
		t.Errorf("method %s, headers %v", d.method, d.header)
	}
	if ts := d.header.Get(notify.HeaderTimestamp); ts != strconv.FormatInt(sentAt.Unix(), 10) {
		t.Errorf("timestamp %q", ts)
	}
	if sig := d.header.Get(notify.HeaderSignature); sig != notify.Sign(secret, sentAt.Unix(), d.body) {
		t.Errorf("signature %q", sig)
	}
	if err := notify.VerifyWebhook(secret, d.header, d.body, sentAt.Add(time.Minute), 0); err != nil {
		t.Errorf("VerifyWebhook: %v", err)
	}
	if err := verifyVigilWebhook(secret, d.header, d.body, sentAt.Add(time.Minute)); err != nil {
		t.Errorf("the doc's sample: %v", err)
	}
	// The documented shape, exactly.
	want := `{"id":"0195f3a2-7c4e-7d2a-9b1e-3f4a5b6c7d8e","workspace":"clinic","tenant_id":"clinic_bayview_medical",` +
		`"rule_id":"rule-1","rule_name":"Off-Hours PHI Access","rule_type":"off_hours",` +
		`"reason":` + mustJSON(t, testAlert().Reason) + `,"subject":"dr_m4k8p2","status":"open","suppressed":0,` +
		`"event":{"id":"0195f3a2-0000-7000-8000-000000000042","action":"patient_record.viewed","actor_id":"dr_m4k8p2","sequence":42},` +
		`"triggered_at":"2026-03-04T10:15:01Z"}`
	if string(d.body) != want {
		t.Errorf("body\n%s\nwant\n%s", d.body, want)
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestWebhookTamperPayload: a built-in alert not tied to an event has
// null rule_id and event.
func TestWebhookTamperPayload(t *testing.T) {
	p := notify.NewPayload(vigil.Alert{Workspace: "clinic", RuleName: "Ledger tampering", RuleType: vigil.RuleTamper,
		Reason: "r", Subject: "rollback@-1", Sequence: -1, TriggeredAt: sentAt})
	b, _ := json.Marshal(p)
	want := `{"id":"","workspace":"clinic","tenant_id":null,"rule_id":null,"rule_name":"Ledger tampering","rule_type":"tamper",` +
		`"reason":"r","subject":"rollback@-1","status":"open","suppressed":0,"event":null,"triggered_at":"2026-03-04T10:15:03Z"}`
	if string(b) != want {
		t.Errorf("payload\n%s\nwant\n%s", b, want)
	}
}

func TestWebhookStatuses(t *testing.T) {
	for _, tt := range []struct {
		status    int
		permanent bool
	}{
		{200, false}, {202, false}, {204, false},
		{400, true}, {401, true}, {403, true}, {404, true}, {410, true}, {413, true}, {422, true},
		{408, false}, {429, false}, {500, false}, {502, false}, {503, false}, {504, false},
		{301, true}, {302, true}, {307, true}, {308, true},
	} {
		r := newReceiver(t, func(w http.ResponseWriter) {
			if tt.status >= 300 && tt.status < 400 {
				w.Header().Set("Location", "/elsewhere")
			}
			w.WriteHeader(tt.status)
			_, _ = io.WriteString(w, "answer\nof the receiver")
		})
		err := newWebhook(t, r.URL).Send(context.Background(), testAlert())
		ok := tt.status < 300
		if (err == nil) != ok {
			t.Errorf("%d: err = %v", tt.status, err)
			continue
		}
		if n := len(r.got()); n != 1 {
			t.Errorf("%d: %d requests, want 1 (redirects are not followed)", tt.status, n)
		}
		if ok {
			continue
		}
		var h *notify.HTTPError
		if !errors.As(err, &h) || h.StatusCode != tt.status || h.Body != "answer of the receiver" {
			t.Errorf("%d: err = %#v", tt.status, err)
		}
		if notify.Permanent(err) != tt.permanent {
			t.Errorf("%d: Permanent = %v, want %v", tt.status, !tt.permanent, tt.permanent)
		}
	}
}

func TestWebhookRetryAfter(t *testing.T) {
	r := newReceiver(t, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	err := newWebhook(t, r.URL).Send(context.Background(), testAlert())
	var h *notify.HTTPError
	if !errors.As(err, &h) || h.RetryAfter != 2*time.Minute {
		t.Fatalf("err = %v", err)
	}
	wait, retry := notify.Policy{Initial: time.Second, Max: time.Hour, Attempts: 5}.Retry(1, err)
	if !retry || wait != 2*time.Minute {
		t.Errorf("Retry = %s, %v; want the server's 2m", wait, retry)
	}

	r = newReceiver(t, func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", sentAt.Add(90*time.Second).Format(http.TimeFormat))
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	err = newWebhook(t, r.URL).Send(context.Background(), testAlert())
	if !errors.As(err, &h) || h.RetryAfter != 90*time.Second {
		t.Fatalf("HTTP-date Retry-After: err = %#v", err)
	}
}

func TestWebhookNetworkErrors(t *testing.T) {
	r := newReceiver(t, func(http.ResponseWriter) {})
	url := r.URL + "/hook?token=s3cr3t"
	r.Close()
	err := newWebhook(t, url).Send(context.Background(), testAlert())
	if err == nil || notify.Permanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("the error shows the URL's token: %v", err)
	}

	block := make(chan struct{})
	r = newReceiver(t, func(http.ResponseWriter) { <-block })
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = newWebhook(t, r.URL).Send(ctx, testAlert())
	if !errors.Is(err, context.DeadlineExceeded) || notify.Permanent(err) {
		t.Fatalf("err = %v, want a retryable deadline error", err)
	}
}

func TestWebhookTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.VerifyWebhook(secret, r.Header, body, time.Now(), 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	w, err := notify.NewWebhook(notify.WebhookConfig{Name: "siem", URL: srv.URL, Secret: notify.Secret(secret), Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if w.Name() != "siem" {
		t.Errorf("Name = %q", w.Name())
	}
	if err := w.Send(context.Background(), testAlert()); err != nil {
		t.Fatal(err)
	}
}

// TestSampleReceiver runs the doc's receiver against real deliveries.
func TestSampleReceiver(t *testing.T) {
	var bodies [][]byte
	srv := httptest.NewServer(vigilWebhook(secret, func(body []byte) error {
		bodies = append(bodies, body)
		return nil
	}))
	defer srv.Close()
	w, err := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL, Secret: notify.Secret(secret)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Send(context.Background(), testAlert()); err != nil || len(bodies) != 1 {
		t.Fatalf("Send = %v, %d bodies", err, len(bodies))
	}

	// A sender with another secret is refused for good.
	other, _ := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL, Secret: "another secret of 32 bytes......"})
	if err := other.Send(context.Background(), testAlert()); !notify.Permanent(err) {
		t.Fatalf("Send with the wrong secret = %v, want a permanent error", err)
	}
	// A delivery signed ten minutes ago is a replay.
	stale, _ := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL, Secret: notify.Secret(secret),
		Now: func() time.Time { return time.Now().Add(-10 * time.Minute) }})
	if err := stale.Send(context.Background(), testAlert()); !notify.Permanent(err) {
		t.Fatalf("stale Send = %v, want a permanent error", err)
	}
	if len(bodies) != 1 {
		t.Fatalf("%d bodies accepted", len(bodies))
	}
}

func TestNewWebhookErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg    notify.WebhookConfig
		fields []string
	}{
		{notify.WebhookConfig{}, []string{"secret", "url"}},
		{notify.WebhookConfig{URL: "ftp://x/y", Secret: notify.Secret(secret)}, []string{"url"}},
		{notify.WebhookConfig{URL: "https:///nohost", Secret: notify.Secret(secret)}, []string{"url"}},
		{notify.WebhookConfig{URL: "https://siem.example.org/hook", Secret: "short"}, []string{"secret"}},
	} {
		_, err := notify.NewWebhook(tt.cfg)
		if got := fields(err); !slices.Equal(got, tt.fields) {
			t.Errorf("NewWebhook(%v): fields %v, want %v", tt.cfg.URL, got, tt.fields)
		}
	}
}
