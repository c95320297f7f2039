package http_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/geoip"
	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/notify"
	"github.com/vigilhq/vigil/sqlite"
)

// alertEnv is a server over a real SQLite file with the alert pipeline
// around it: the evaluator, a deliverer, a real SMTP server (go-smtp) and
// a webhook receiver that verifies every signature.
type alertEnv struct {
	*env
	dir     string
	mmdb    string
	eval    *sqlite.AlertEvaluator
	deliver *notify.Deliverer
	mail    *mailbox
	hooks   *hookReceiver
	smtp    int // port
	secret  []byte
	closeFn func()
}

var alertChannels = []string{"email", "webhook"}

func newAlertEnv(t *testing.T) *alertEnv {
	t.Helper()
	a := &alertEnv{dir: t.TempDir(), mail: &mailbox{}, secret: []byte("0123456789abcdef0123456789abcdef")}
	a.mmdb = writeGeoFixture(t, a.dir)
	a.smtp = startSMTP(t, a.mail)
	a.hooks = newHookReceiver(t, a.secret)
	a.open(t)
	return a
}

// open opens (or reopens) the store, the server and the pipeline over the
// same files.
func (a *alertEnv) open(t *testing.T) {
	t.Helper()
	geo, err := geoip.Open(a.mmdb)
	if err != nil {
		t.Fatal(err)
	}
	db, err := embedded.Open(context.Background(), embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{
		Path: filepath.Join(a.dir, "vigil.db"), LogName: "test.vigil", SigningKey: testKey,
		WitnessPath: filepath.Join(a.dir, "ledger.witness")},
		Enrich: func(e *vigil.Event) {
			if ip, err := netip.ParseAddr(e.IPAddress); err == nil {
				l := geo.Lookup(ip)
				e.IPCountry, e.IPCity, e.IPRegion = l.Country, l.City, l.Region
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(vhttp.NewServer(vhttp.Config{Store: db, VerifierKey: testVKey, AlertChannels: alertChannels}))
	closed := false
	a.closeFn = func() {
		if !closed {
			closed = true
			srv.Close()
			db.Close()
		}
	}
	t.Cleanup(a.closeFn)
	fresh := a.env == nil
	a.env = &env{t: t, db: db, srv: srv, dbPath: filepath.Join(a.dir, "vigil.db")}
	if fresh {
		if _, err := db.EnsureWorkspace(context.Background(), "default"); err != nil {
			t.Fatal(err)
		}
		a.ingest = a.key("default", vigil.RoleIngest, "")
		a.auditor = a.key("default", vigil.RoleAuditor, "")
		a.admin = a.key("default", vigil.RoleAdmin, "")
	}
	a.eval = db.AlertEvaluator(sqlite.AlertOptions{Channels: alertChannels, TamperThrottle: time.Hour})
	email, err := notify.NewEmail(notify.EmailConfig{Host: "127.0.0.1", Port: a.smtp, TLS: notify.TLSNone,
		From: "Vigil <vigil@clinic.test>", To: []string{"privacy@clinic.test", "security@clinic.test"}})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := notify.NewWebhook(notify.WebhookConfig{URL: a.hooks.srv.URL, Secret: notify.Secret(a.secret)})
	if err != nil {
		t.Fatal(err)
	}
	a.deliver, err = notify.NewDeliverer(notify.DelivererConfig{Outbox: db, Channels: []notify.Channel{email, hook}})
	if err != nil {
		t.Fatal(err)
	}
}

// reopen closes the store and the server and opens them again: a restart.
func (a *alertEnv) reopen(t *testing.T) {
	t.Helper()
	keys := [3]string{a.ingest, a.auditor, a.admin}
	a.closeFn()
	a.open(t)
	a.ingest, a.auditor, a.admin = keys[0], keys[1], keys[2]
}

// pass runs the evaluator to the end of the log and returns the new
// alerts' count.
func (a *alertEnv) pass(t *testing.T) int {
	t.Helper()
	n, err := a.eval.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (a *alertEnv) deliverDue(t *testing.T) int {
	t.Helper()
	n, err := a.deliver.DeliverDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rule creates an alert rule and returns its id.
func (a *alertEnv) rule(t *testing.T, body string) string {
	t.Helper()
	r := a.post("/api/v1/alert-rules", a.admin, body)
	wantStatus(t, r, 201)
	var out struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	r.json(t, &out)
	return out.Data.ID
}

// send ingests events and returns their ids.
func (a *alertEnv) send(t *testing.T, events ...string) []string {
	t.Helper()
	body := `{"events":[`
	for i, e := range events {
		if i > 0 {
			body += ","
		}
		body += e
	}
	r := a.post("/api/v1/events/batch", a.ingest, body+"]}")
	wantStatus(t, r, 201)
	var out struct {
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	r.json(t, &out)
	ids := make([]string, len(out.Events))
	for i, e := range out.Events {
		ids[i] = e.ID
	}
	return ids
}

type apiAlert struct {
	ID          string  `json:"id"`
	RuleID      *string `json:"rule_id"`
	RuleVersion int     `json:"rule_version"`
	RuleName    string  `json:"rule_name"`
	RuleType    string  `json:"rule_type"`
	Reason      string  `json:"reason"`
	Subject     *string `json:"subject"`
	Event       *struct {
		ID       *string `json:"id"`
		Action   *string `json:"action"`
		ActorID  *string `json:"actor_id"`
		Sequence int64   `json:"sequence"`
	} `json:"event"`
	TenantID    *string `json:"tenant_id"`
	Status      string  `json:"status"`
	Notes       *string `json:"notes"`
	Suppressed  int     `json:"suppressed"`
	TriggeredAt string  `json:"triggered_at"`
	NotifiedAt  *string `json:"notified_at"`
}

// alerts lists alerts with a query string, newest first.
func (a *alertEnv) alerts(t *testing.T, key, query string) []apiAlert {
	t.Helper()
	r := a.get("/api/v1/alerts"+query, key)
	wantStatus(t, r, 200)
	var out struct {
		Data []apiAlert `json:"data"`
	}
	r.json(t, &out)
	return out.Data
}

// eventIDs returns the triggering event ids of alerts, oldest alert first.
func eventIDs(as []apiAlert) []string {
	var out []string
	for i := len(as) - 1; i >= 0; i-- {
		if as[i].Event != nil && as[i].Event.ID != nil {
			out = append(out, *as[i].Event.ID)
		}
	}
	return out
}

// writeGeoFixture writes a GeoLite2-City-shaped database placing one IPv4
// and two IPv6 networks.
func writeGeoFixture(t *testing.T, dir string) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-City", RecordSize: 24, IPVersion: 6})
	if err != nil {
		t.Fatal(err)
	}
	en := func(s string) mmdbtype.Map { return mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(s)}} }
	for _, p := range []struct{ cidr, country, city string }{
		{"81.2.69.0/24", "GB", "London"},
		{"2a02:8100::/32", "DE", "Berlin"},
		{"2600:1700::/28", "US", "San Francisco"},
	} {
		_, network, err := net.ParseCIDR(p.cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Insert(network, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(p.country)}, "city": en(p.city)}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "city.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return path
}

// mailbox is a go-smtp backend keeping what it receives.
type mailbox struct {
	mu   sync.Mutex
	msgs []mail
}

type mail struct {
	from string
	to   []string
	data string
}

func (b *mailbox) messages() []mail {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mail(nil), b.msgs...)
}

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{box: b}, nil }

type smtpSession struct {
	box *mailbox
	msg mail
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error { s.msg.from = from; return nil }
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.msg.to = append(s.msg.to, to)
	return nil
}
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.msg.data = string(b)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.msg)
	s.box.mu.Unlock()
	return nil
}
func (s *smtpSession) Reset()        { s.msg = mail{} }
func (s *smtpSession) Logout() error { return nil }

// startSMTP runs a go-smtp server on a loopback port until the test ends.
func startSMTP(t *testing.T, box *mailbox) int {
	t.Helper()
	s := smtp.NewServer(box)
	s.Domain = "mx.test"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// hookReceiver is a webhook endpoint that accepts only deliveries whose
// signature notify.VerifyWebhook accepts.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies []notify.Payload
	bad    int
	fail   int  // answer 503 to this many deliveries first
	reject bool // answer 400 to every delivery
	seen   int  // deliveries that reached the handler with a good signature
}

func newHookReceiver(t *testing.T, secret []byte) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		body, err := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if err != nil || notify.VerifyWebhook(secret, r.Header, body, time.Now(), 5*time.Minute) != nil {
			h.bad++
			w.WriteHeader(nethttp.StatusUnauthorized)
			return
		}
		h.seen++
		if h.reject {
			w.WriteHeader(nethttp.StatusBadRequest)
			return
		}
		if h.fail > 0 {
			h.fail--
			w.WriteHeader(nethttp.StatusServiceUnavailable)
			return
		}
		var p notify.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			h.bad++
			w.WriteHeader(nethttp.StatusBadRequest)
			return
		}
		h.bodies = append(h.bodies, p)
		w.WriteHeader(nethttp.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) received() []notify.Payload {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]notify.Payload(nil), h.bodies...)
}
