package notify_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/vigilhq/vigil/notify"
)

// TestSecretsNeverPrinted formats, logs and marshals configurations and
// channels every usual way and looks for the secrets.
func TestSecretsNeverPrinted(t *testing.T) {
	cfg := emailConfig(587, notify.TLSRequired)
	cfg.Host = "smtp.example.org"
	m := newEmail(t, cfg)
	wcfg := notify.WebhookConfig{URL: "https://user:pw-in-url@siem.example.org/hook?token=tok-in-url", Secret: notify.Secret(secret)}
	w, err := notify.NewWebhook(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, v := range []any{cfg, &cfg, cfg.Password, m, w, wcfg, wcfg.Secret} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		b, _ := json.Marshal(v)
		out.Write(b)
	}
	log := slog.New(slog.NewJSONHandler(&out, nil))
	log.Info("configured", "email", m, "webhook", w, "password", cfg.Password, "secret", wcfg.Secret, "cfg", cfg)
	log = slog.New(slog.NewTextHandler(&out, nil))
	log.Info("configured", "email", m, "webhook", w, "password", cfg.Password, "cfg", cfg)
	for _, s := range []string{password, string(secret), fmt.Sprintf("%x", password), fmt.Sprintf("%x", secret), "pw-in-url", "tok-in-url"} {
		if strings.Contains(out.String(), s) {
			t.Errorf("output shows %q", s)
		}
	}
	if !strings.Contains(out.String(), "[redacted]") {
		t.Error("no [redacted] in the output")
	}
}
