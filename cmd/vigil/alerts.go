package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/notify"
	"github.com/vigilhq/vigil/sqlite"
)

// alertFlags configure the alert pipeline of vigil serve: the channels
// (secrets only from files or the environment, never from flags that ps
// shows), throttling and scans.
type alertFlags struct {
	smtpHost, smtpTLS, smtpUser, smtpPasswordFile, smtpFrom, smtpTo string
	smtpPort                                                        int
	webhooks, webhookSecretFiles                                    string
	throttle, scanInterval, scanWindow                              time.Duration
}

func registerAlertFlags(fs *flag.FlagSet) *alertFlags {
	f := &alertFlags{}
	fs.StringVar(&f.smtpHost, "smtp-host", "", "SMTP server for the email channel (the channel is on when set)")
	fs.IntVar(&f.smtpPort, "smtp-port", 0, "SMTP port (587; 465 with --smtp-tls implicit)")
	fs.StringVar(&f.smtpTLS, "smtp-tls", "required", "required (STARTTLS), opportunistic, none or implicit")
	fs.StringVar(&f.smtpUser, "smtp-user", "", "SMTP user (PLAIN); the password comes from --smtp-password-file or VIGIL_SMTP_PASSWORD")
	fs.StringVar(&f.smtpPasswordFile, "smtp-password-file", "", "file holding the SMTP password")
	fs.StringVar(&f.smtpFrom, "smtp-from", "", "sender address of alert emails")
	fs.StringVar(&f.smtpTo, "smtp-to", "", "comma-separated recipients of alert emails")
	fs.StringVar(&f.webhooks, "webhook", "", "comma-separated webhook channels, each NAME=URL (or a URL: the channel \"webhook\")")
	fs.StringVar(&f.webhookSecretFiles, "webhook-secret-file", "", "comma-separated NAME=FILE (or FILE for \"webhook\"): each webhook's signing secret; VIGIL_WEBHOOK_SECRET serves \"webhook\"")
	fs.DurationVar(&f.throttle, "alert-throttle", time.Hour, "default least time between two notifications of a rule for one subject (rules may set their own), and of tamper alerts")
	fs.DurationVar(&f.scanInterval, "alert-scan-interval", time.Hour, "how often rules are evaluated over stored events (0 disables scans)")
	fs.DurationVar(&f.scanWindow, "alert-scan-window", 24*time.Hour, "how far back each scan looks")
	return f
}

// channels builds the configured channels. Their names are what rules
// list in "channels".
func (f *alertFlags) channels(env *Env) ([]notify.Channel, error) {
	var out []notify.Channel
	if f.smtpHost != "" {
		password := env.Getenv("VIGIL_SMTP_PASSWORD")
		if f.smtpPasswordFile != "" {
			b, err := os.ReadFile(f.smtpPasswordFile)
			if err != nil {
				return nil, fmt.Errorf("--smtp-password-file: %w", err)
			}
			password = strings.TrimRight(string(b), "\r\n")
		}
		var to []string
		for _, s := range strings.Split(f.smtpTo, ",") {
			if s = strings.TrimSpace(s); s != "" {
				to = append(to, s)
			}
		}
		email, err := notify.NewEmail(notify.EmailConfig{Host: f.smtpHost, Port: f.smtpPort, TLS: notify.TLSMode(f.smtpTLS),
			Username: f.smtpUser, Password: notify.Secret(password), From: f.smtpFrom, To: to})
		if err != nil {
			return nil, flagErrors("smtp-", err)
		}
		out = append(out, email)
	} else if f.smtpFrom != "" || f.smtpTo != "" || f.smtpUser != "" {
		return nil, errors.New("--smtp-from, --smtp-to and --smtp-user need --smtp-host")
	}
	secrets, err := namedList(f.webhookSecretFiles)
	if err != nil {
		return nil, fmt.Errorf("--webhook-secret-file: %w", err)
	}
	hooks, err := parseNamed(f.webhooks)
	if err != nil {
		return nil, fmt.Errorf("--webhook: %w", err)
	}
	seen := map[string]bool{"email": f.smtpHost != ""}
	for _, h := range hooks {
		if seen[h.name] {
			return nil, fmt.Errorf("--webhook: two channels are named %q", h.name)
		}
		seen[h.name] = true
		var secret string
		switch file, ok := secrets[h.name]; {
		case ok:
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("--webhook-secret-file: %w", err)
			}
			secret = strings.TrimRight(string(b), "\r\n")
		case h.name == "webhook":
			secret = env.Getenv("VIGIL_WEBHOOK_SECRET")
		}
		w, err := notify.NewWebhook(notify.WebhookConfig{Name: h.name, URL: h.value, Secret: notify.Secret(secret)})
		if err != nil {
			return nil, flagErrors("webhook "+h.name+" ", err)
		}
		out = append(out, w)
	}
	for name := range secrets {
		if !seen[name] || name == "email" {
			return nil, fmt.Errorf("--webhook-secret-file names %q, which is no webhook", name)
		}
	}
	return out, nil
}

type named struct{ name, value string }

// parseNamed parses "NAME=VALUE,NAME=VALUE", in order; a lone VALUE (or
// one that reads as a URL or path) is named "webhook".
func parseNamed(s string) ([]named, error) {
	var out []named
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		name, value, ok := strings.Cut(item, "=")
		if !ok || strings.ContainsAny(name, "/:") {
			name, value = "webhook", item
		}
		if name == "" || value == "" {
			return nil, fmt.Errorf("%q is not NAME=VALUE", item)
		}
		if seen[name] {
			return nil, fmt.Errorf("%q is given twice", name)
		}
		seen[name] = true
		out = append(out, named{name, value})
	}
	return out, nil
}

func namedList(s string) (map[string]string, error) {
	l, err := parseNamed(s)
	m := map[string]string{}
	for _, n := range l {
		m[n.name] = n.value
	}
	return m, err
}

// flagErrors words a channel's validation error in terms of flags,
// without echoing any secret.
func flagErrors(prefix string, err error) error {
	var msgs []string
	for _, d := range vigil.ErrorDetails(err) {
		msgs = append(msgs, "--"+prefix+d.Field+": "+d.Message)
	}
	if len(msgs) == 0 {
		return err
	}
	return errors.New(strings.Join(msgs, "; "))
}

// alertPipeline is the evaluator and the deliverer running beside the
// server.
type alertPipeline struct {
	eval    *sqlite.AlertEvaluator
	deliver *notify.Deliverer
	wg      sync.WaitGroup
}

// startAlerts starts evaluation (as events commit, when findings are stored, and in
// scans) and delivery, and registers their backlog as metrics; stop waits
// for both after ctx ends.
func startAlerts(ctx context.Context, db *embedded.Store, channels []notify.Channel, f *alertFlags, logger *slog.Logger, reg prometheus.Registerer) (*alertPipeline, error) {
	names := channelNames(channels)
	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: db, Channels: channels, Logger: logger})
	if err != nil {
		return nil, err
	}
	p := &alertPipeline{deliver: d}
	p.eval = db.AlertEvaluator(sqlite.AlertOptions{Channels: names, TamperThrottle: f.throttle, OnAlerts: d.Wake, Logger: logger})
	backlog := func(deliveries bool) func() float64 {
		return func() float64 {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			e, d, err := db.AlertBacklog(c)
			if err != nil {
				return -1
			}
			if deliveries {
				return float64(d)
			}
			return float64(e)
		}
	}
	if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_alert_backlog_events",
		Help: "Events committed but not yet evaluated by the alert rules (-1 if unknown)."}, backlog(false))); err != nil {
		return nil, err
	}
	if err := reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_alert_outbox_pending",
		Help: "Alert notifications waiting for delivery or a retry (-1 if unknown)."}, backlog(true))); err != nil {
		return nil, err
	}
	p.wg.Add(2)
	// No polling: commits and ledger findings wake the evaluator; idle, it does nothing.
	go func() { defer p.wg.Done(); p.eval.Run(ctx, 0, f.scanInterval, f.scanWindow) }()
	go func() { defer p.wg.Done(); d.Run(ctx, time.Second) }()
	if len(channels) == 0 {
		logger.Info("alerts are evaluated and stored; no notification channel is configured")
	} else {
		logger.Info("alert notifications are on", "channels", names)
	}
	return p, nil
}

// committed is the store's commit hook: new events are there to evaluate.
func (p *alertPipeline) committed(events int) { p.eval.Committed(events) }

// wake asks for a pass now (a ledger finding was stored).
func (p *alertPipeline) wake() { p.eval.Wake() }

func (p *alertPipeline) stop() { p.wg.Wait() }

func channelNames(channels []notify.Channel) []string {
	names := make([]string, len(channels))
	for i, c := range channels {
		names[i] = c.Name()
	}
	return names
}
