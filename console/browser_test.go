package console_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/vigilhq/vigil"
	_ "modernc.org/sqlite"
)

// The end-to-end tests drive Debian's chromium headless through the
// console as a person would. They fail (never skip) when chromium or
// axe-core is missing, saying how to install it.

var screenshots = flag.String("screenshots", "", "write the console's screenshots (PNG) to this directory, e.g. ../docs/console")

func chromiumPath(t testing.TB) string {
	for _, p := range []string{os.Getenv("VIGIL_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("headless Chromium is needed for the console's end-to-end tests: apt-get install chromium (or set VIGIL_CHROMIUM)")
	return ""
}

// axeSource is axe-core's script, installed by .ci/run into .ci/node_modules.
func axeSource(t testing.TB) string {
	path := os.Getenv("VIGIL_AXE_CORE")
	if path == "" {
		path = filepath.Join("..", ".ci", "node_modules", "axe-core", "axe.min.js")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("axe-core is needed for the accessibility checks: npm install --prefix .ci (or set VIGIL_AXE_CORE): %v", err)
	}
	return string(b)
}

// browser is one headless Chromium; each tab is its own browser context
// (its own cookies), as a separate person would be.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(chromiumPath(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 860),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true), chromedp.Flag("disable-extensions", true)}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return &browser{t: t, ctx: ctx}
}

// tab is one page of a fresh browser context.
type tab struct {
	t   *testing.T
	ctx context.Context
}

func (b *browser) tab(t *testing.T) *tab {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	tctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancel() })
	return &tab{t: t, ctx: tctx}
}

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v (at %s)", err, tb.location())
	}
}

func (tb *tab) location() string {
	loc, _ := chromedp.Run(tb.ctx, chromedp.Location())
	return loc
}

func (tb *tab) text(css string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		tb.t.Fatalf("text of %s: %v (at %s)", css, err, tb.location())
	}
	return s
}

func eval[T any](tb *tab, js string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluating %.80s: %v (at %s)", js, err, tb.location())
	}
	return v
}

// waitFor polls a JavaScript condition.
func (tb *tab) waitFor(js string, within time.Duration) {
	tb.t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			main, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.querySelector("main") ? document.querySelector("main").innerText.slice(0, 600) : document.body.innerText.slice(0, 600)`))
			tb.t.Fatalf("waited %v for %s (at %s): %s", within, js, tb.location(), main)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signIn fills the sign-in form by its labelled fields.
func (tb *tab) signIn(base string, u user, at time.Time) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(base+"/console/signin"),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), u.Email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), u.password),
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), u.code(tb.t, at)),
		chromedp.Click(chromedp.CSS(`form.signin button[type="submit"]`)))
	tb.waitFor(`!location.pathname.startsWith("/console/signin") && document.readyState === "complete"`, 10*time.Second)
}

// axe runs axe-core on the page and fails on serious or critical
// violations.
func (tb *tab) axe(src, name string) {
	tb.t.Helper()
	if out, n := tb.axeViolations(src); n > 0 {
		tb.t.Errorf("axe-core on %s (%s): %d serious or critical violations: %s", name, tb.location(), n, out)
	}
}

// axeViolations returns the serious and critical violations on the page.
func (tb *tab) axeViolations(src string) (string, int) {
	tb.t.Helper()
	if !eval[bool](tb, `typeof axe !== "undefined"`) {
		if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](src+"\n;true")); err != nil {
			tb.t.Fatalf("injecting axe-core: %v", err)
		}
	}
	out := eval[string](tb, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations
		.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))))`)
	var violations []json.RawMessage
	if err := json.Unmarshal([]byte(out), &violations); err != nil {
		tb.t.Fatal(err)
	}
	return out, len(violations)
}

// shot saves a screenshot when -screenshots is set.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	if *screenshots == "" {
		return
	}
	png, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatal(err)
	}
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*screenshots, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// tamper changes a stored event the way an intruder with the database
// file would: around the append-only triggers.
func tamper(t *testing.T, dir, eventID string) {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "vigil.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")
	if err != nil {
		t.Fatal(err)
	}
	var names, defs []string
	for rows.Next() {
		var n, d string
		rows.Scan(&n, &d)
		names, defs = append(names, n), append(defs, d)
	}
	rows.Close()
	for _, n := range names {
		if _, err := raw.Exec("DROP TRIGGER " + n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec("UPDATE events SET actor_id = 'someone-else' WHERE id = ?", eventID); err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if _, err := raw.Exec(d); err != nil {
			t.Fatal(err)
		}
	}
}

// seed records a month of accesses by a few actors, two tenants, a
// session and a disclosure, and returns the id of one access.
func seed(t *testing.T, e *env) (id string) {
	now := time.Now().UTC()
	var bodies []string
	actors := []string{"dr-alice", "dr-bob", "nurse-carol", "clerk-dan"}
	for i := range 60 {
		at := now.Add(-time.Duration(i*11+3) * time.Hour)
		bodies = append(bodies, fmt.Sprintf(`{"actor_id":%q,"actor_name":"%s","action":"patient_record.viewed","resource":"Patient",`+
			`"resource_id":"rec-%d","patient_id":"pt-%d","tenant_id":"clinic-%d","session_id":"sess-%d","purpose_of_use":"TREAT","occurred_at":%q}`,
			actors[i%4], strings.ToUpper(actors[i%4][:1])+actors[i%4][1:], i%9, i%5, i%2+1, i%6, at.Format(time.RFC3339)))
	}
	bodies = append(bodies, `{"actor_id":"clerk-dan","action":"patient_record.disclosed","action_category":"disclosure","patient_id":"pt-1",`+
		`"tenant_id":"clinic-1","purpose_of_use":"HPAYMT","metadata":{"recipient":"Acme Insurance"}}`)
	ids := e.send(bodies...)
	e.waitCheckpoint(int64(len(ids)))
	return ids[0]
}

// TestBrowser drives the console end to end.
func TestBrowser(t *testing.T) {
	b := newBrowser(t)
	axeJS := axeSource(t)
	e := newEnv(t, envOptions{})
	id := seed(t, e)
	auditor := e.user("auditor@example.org", "auditor")
	po := e.user("officer@example.org", "privacy_officer")
	admin := e.user("admin@example.org", "admin")
	e.watch("dr-bob")
	base := e.srv.URL

	t.Run("sign in with password and TOTP, search and open an event, proof verified", func(t *testing.T) {
		tb := b.tab(t)
		tb.do(chromedp.Navigate(base + "/console/signin"))
		tb.axe(axeJS, "sign-in")
		tb.shot("signin")
		tb.signIn(base, auditor, time.Now())
		if h := tb.text("h1"); h != "Dashboard" {
			t.Fatalf("after sign-in: %q", h)
		}
		tb.shot("dashboard")
		tb.do(chromedp.Navigate(base+"/console/events"),
			chromedp.SendKeys(chromedp.CSS(`#f-search`), "nurse"),
			chromedp.SendKeys(chromedp.CSS(`#f-tenant_id`), "clinic-1"),
			chromedp.Click(chromedp.CSS(`form.search button[type="submit"]`)))
		tb.waitFor(`location.search.includes("search=nurse")`, 10*time.Second)
		if loc := tb.location(); !strings.Contains(loc, "tenant_id=clinic-1") {
			t.Fatalf("the search's URL %s does not carry its filters", loc)
		}
		if n := eval[int](tb, `document.querySelectorAll("main table tbody tr").length`); n != 15 {
			t.Fatalf("%d results, want 15", n)
		}
		tb.shot("events")
		tb.do(chromedp.Click(chromedp.CSS(`main table tbody tr:first-child a`)))
		tb.waitFor(`document.getElementById("proof-status") && document.getElementById("proof-status").dataset.result === "valid"`, 15*time.Second)
		if s := tb.text("#proof-status"); !strings.Contains(s, "Verified in your browser") {
			t.Fatalf("proof status %q", s)
		}
		if n := eval[int](tb, `document.querySelectorAll("#proof-steps li").length`); n != 4 {
			t.Fatalf("%d proof steps shown, want 4", n)
		}
		for _, view := range []string{"Vigil view", "FHIR R4 AuditEvent view", "CADF view"} {
			if !strings.Contains(tb.text("main"), view) {
				t.Fatalf("the event page lacks its %s", view)
			}
		}
		tb.shot("event")
	})

	t.Run("the proof check turns red for a tampered event", func(t *testing.T) {
		tb := b.tab(t)
		tb.signIn(base, e.user("auditor2@example.org", "auditor"), time.Now())
		tb.do(chromedp.Navigate(base + "/console/events/" + id))
		tb.waitFor(`document.getElementById("proof-status").dataset.result === "valid"`, 15*time.Second)
		tamper(t, e.dir, id)
		tb.do(chromedp.Reload())
		tb.waitFor(`document.getElementById("proof-status").dataset.result === "invalid"`, 15*time.Second)
		s := tb.text("#proof-status")
		if !strings.Contains(s, "Verification failed") || !strings.Contains(s, "changed after it was recorded") {
			t.Fatalf("proof status after tampering: %q", s)
		}
		if cls := eval[string](tb, `document.getElementById("proof-status").className`); cls != "bad" {
			t.Fatalf("class %q, want bad (red)", cls)
		}
		tb.shot("event-tampered")
		tb.do(chromedp.Navigate(base+"/console/ledger"), chromedp.Click(chromedp.CSS(`form[action="/console/ledger/verify"] button`)))
		// Wait for the answer to the form, not the page it was sent from
		// (which may show the breaks already): a node of the old page is
		// gone once the new one loads.
		tb.waitFor(`location.pathname === "/console/ledger/verify" && document.readyState === "complete" && `+
			`document.getElementById("verification") && document.getElementById("verification").className === "bad" && `+
			`document.querySelector("table.breaks") !== null`, 15*time.Second)
		if !strings.Contains(tb.text("table.breaks"), "modified") {
			t.Fatalf("ledger breaks: %s", tb.text("main"))
		}
		tb.shot("ledger")
	})

	t.Run("axe-core finds no serious violation on any page", func(t *testing.T) {
		// The check itself finds what it is there to find.
		bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `<!doctype html><html><title>x</title><form><input name="q"></form><p style="color:#bbb;background:#fff">faint</p></html>`)
		}))
		defer bad.Close()
		probe := b.tab(t)
		probe.do(chromedp.Navigate(bad.URL))
		if out, n := probe.axeViolations(axeJS); n == 0 || !strings.Contains(out, "label") || !strings.Contains(out, "color-contrast") {
			t.Fatalf("axe-core missed a page's violations: %s", out)
		}
		tb := b.tab(t)
		tb.signIn(base, po, time.Now())
		alerts, err := e.db.Alerts(context.Background(), vigil.AlertQuery{Workspace: "default", Limit: 1})
		if err != nil || len(alerts.Alerts) == 0 {
			t.Fatalf("no alert to show: %v", err)
		}
		alertID := alerts.Alerts[0].ID
		for _, p := range []struct{ name, path, ready string }{
			{"dashboard", "/console/dashboard", ""},
			{"events", "/console/events?actor_id=dr-alice", ""},
			{"event", "/console/events/" + id, `!!document.getElementById("proof-status").dataset.result`},
			{"patient access", "/console/patients?patient_id=pt-1", ""},
			{"patient access form", "/console/patients", ""},
			{"session timeline", "/console/sessions?session_id=sess-2", ""},
			{"disclosures", "/console/disclosures?patient_id=pt-1", ""},
			{"alerts", "/console/alerts", ""},
			{"alert", "/console/alerts/" + alertID, ""},
			{"reports", "/console/reports", ""},
			{"ledger", "/console/ledger", ""},
			{"not found", "/console/nothing-here", ""},
		} {
			tb.do(chromedp.Navigate(base + p.path))
			if p.ready != "" {
				tb.waitFor(p.ready, 15*time.Second)
			}
			tb.axe(axeJS, p.name)
			switch p.name {
			case "alert":
				tb.shot("alert")
			case "session timeline":
				tb.shot("session")
			case "patient access":
				tb.shot("patient")
			case "reports":
				tb.shot("reports")
			}
		}
		ad := b.tab(t)
		ad.signIn(base, admin, time.Now())
		for _, p := range []string{"/console/admin/keys", "/console/admin/rules", "/console/admin/users"} {
			ad.do(chromedp.Navigate(base + p))
			ad.axe(axeJS, p)
		}
		ad.shot("users")
		tok := e.mint(e.key(vigil.RoleIssuer, ""), `{"tenant_id":"clinic-1"}`)
		v := b.tab(t)
		v.do(chromedp.Navigate(base + "/viewer?token=" + url.QueryEscape(tok.Token)))
		v.axe(axeJS, "viewer")
		v.shot("viewer")
	})

	t.Run("a privacy officer works an alert; a report is requested, followed and downloaded", func(t *testing.T) {
		tb := b.tab(t)
		tb.signIn(base, e.user("officer2@example.org", "privacy_officer"), time.Now())
		tb.do(chromedp.Navigate(base+"/console/alerts?status=open"),
			chromedp.Click(chromedp.CSS(`main table tbody tr:first-child a`)))
		tb.waitFor(`location.pathname.startsWith("/console/alerts/")`, 10*time.Second)
		tb.do(chromedp.Click(chromedp.CSS(`#st-investigating`)),
			chromedp.SendKeys(chromedp.CSS(`#notes`), "Asked dr-bob's manager."),
			chromedp.Click(chromedp.CSS(`form.workflow button[type="submit"]`)))
		tb.waitFor(`location.search.includes("updated=1")`, 10*time.Second)
		if s := tb.text("#alert-status"); s != "investigating" {
			t.Fatalf("alert status %q", s)
		}
		tb.do(chromedp.Navigate(base+"/console/reports"),
			chromedp.SetValue(chromedp.CSS(`#r-type`), "patient_access"),
			chromedp.SetValue(chromedp.CSS(`#r-format`), "csv"),
			chromedp.SendKeys(chromedp.CSS(`#r-patient_id`), "pt-1"),
			chromedp.Click(chromedp.CSS(`form[action="/console/reports"] button[type="submit"]`)))
		tb.waitFor(`location.search.includes("created=")`, 10*time.Second)
		// The page follows the job by itself and offers its file when done.
		tb.waitFor(`document.querySelector("tr.followed .job-file a") !== null`, 20*time.Second)
		status := eval[int](tb, `fetch(document.querySelector("tr.followed .job-file a").href).then(r => r.status)`)
		body := eval[string](tb, `fetch(document.querySelector("tr.followed .job-file a").href).then(r => r.text())`)
		if status != 200 || !strings.Contains(body, "dr-") {
			t.Fatalf("download: %d %.200s", status, body)
		}
		if n := len(e.events("vigil.reports.downloaded")); n != 2 {
			t.Fatalf("%d downloads recorded, want 2", n)
		}
	})

	t.Run("a CSRF form from another site is refused", func(t *testing.T) {
		tb := b.tab(t)
		tb.signIn(base, e.user("officer3@example.org", "privacy_officer"), time.Now())
		before := len(e.events("vigil.ledger.verify"))
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><html lang="en"><title>win a prize</title><form id="f" method="post" action="%s/console/ledger/verify">`+
				`<input name="csrf" value="guessed"></form><script>document.getElementById("f").submit()</script></html>`, base)
		}))
		defer evil.Close()
		tb.do(chromedp.Navigate(evil.URL))
		tb.waitFor(`location.href.startsWith("`+base+`")`, 10*time.Second)
		tb.waitFor(`document.readyState === "complete"`, 10*time.Second)
		if s := tb.text("main"); !strings.Contains(s, "CSRF") {
			t.Fatalf("the forged form's answer: %q", s)
		}
		if after := len(e.events("vigil.ledger.verify")); after != before {
			t.Fatal("the forged form ran a verification")
		}
	})

	t.Run("a viewer token sees its tenant only, and nothing after expiry", func(t *testing.T) {
		issuer := e.key(vigil.RoleIssuer, "clinic-2")
		tok := e.mint(issuer, `{"tenant_id":"clinic-2","ttl":3}`)
		tb := b.tab(t)
		tb.do(chromedp.Navigate(base + "/viewer?token=" + url.QueryEscape(tok.Token)))
		page := tb.text("main")
		if !strings.Contains(page, "tenant clinic-2") || strings.Count(page, "patient_record.viewed") != 30 {
			t.Fatalf("viewer page: %.500s", page)
		}
		// The web component, embedded in another site's page.
		saas := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Your access log</title><main><h1>Access log</h1>`+
				`<vigil-viewer token="%s"></vigil-viewer></main><script src="%s/viewer.js"></script></html>`, tok.Token, base)
		}))
		defer saas.Close()
		em := b.tab(t)
		em.do(chromedp.Navigate(saas.URL))
		em.waitFor(`(document.querySelector("vigil-viewer").shadowRoot?.querySelectorAll("tbody tr").length || 0) > 0`, 10*time.Second)
		shadow := eval[string](em, `document.querySelector("vigil-viewer").shadowRoot.textContent`)
		if strings.Contains(shadow, "clinic-1") || strings.Count(shadow, "patient_record.viewed") != 30 {
			t.Fatalf("web component: %.500s", shadow)
		}
		// After the expiry the element empties itself, and no page shows anything.
		em.waitFor(`document.querySelector("vigil-viewer").shadowRoot.querySelectorAll("tbody tr").length === 0`, 10*time.Second)
		time.Sleep(time.Until(time.Unix(tok.ExpiresAt, 0)))
		tb.do(chromedp.Reload())
		if s := tb.text("main"); !strings.Contains(s, "expired") || strings.Contains(s, "patient_record") {
			t.Fatalf("viewer page after expiry: %q", s)
		}
		em.do(chromedp.Reload())
		em.waitFor(`document.querySelector("vigil-viewer").shadowRoot?.querySelector("p.error") != null`, 10*time.Second)
		if s := eval[string](em, `document.querySelector("vigil-viewer").shadowRoot.textContent`); strings.Contains(s, "patient_record") {
			t.Fatalf("web component after expiry: %q", s)
		}
	})
}

// TestBrowserIdleLogoff: with nothing done for the idle timeout, the page
// leaves itself for the sign-in page, and the session is gone.
func TestBrowserIdleLogoff(t *testing.T) {
	b := newBrowser(t)
	e := newEnv(t, envOptions{idle: 3 * time.Second})
	u := e.user("auditor@example.org", "auditor")
	tb := b.tab(t)
	tb.signIn(e.srv.URL, u, time.Now())
	start := time.Now()
	tb.waitFor(`location.pathname === "/console/signin"`, 10*time.Second)
	if waited := time.Since(start); waited < 2*time.Second {
		t.Fatalf("signed out after %v, before the 3 s timeout", waited)
	}
	// The address changes when the navigation commits, before the page
	// is parsed: wait for the page itself.
	tb.waitFor(`document.querySelector("#signin-message") !== null`, 10*time.Second)
	if s := tb.text("#signin-message"); !strings.Contains(s, "inactivity") {
		t.Fatalf("sign-in page says %q", s)
	}
	tb.do(chromedp.Navigate(e.srv.URL + "/console/events"))
	tb.waitFor(`document.readyState === "complete"`, 5*time.Second)
	if loc := tb.location(); !strings.HasSuffix(loc, "/console/signin") {
		t.Fatalf("after idle logoff /console/events is at %s", loc)
	}
	if n := len(e.events("vigil.console.signout")); n != 1 {
		t.Fatalf("%d sign-outs recorded, want 1", n)
	}
}
