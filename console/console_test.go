package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// TestSignInRecordsEveryAttempt: password and TOTP sign a user in;
// wrong passwords, wrong and replayed codes and unknown accounts are
// refused with one message and recorded as failed sign-ins; past five
// failures the account is throttled, and that is recorded too.
func TestSignInRecordsEveryAttempt(t *testing.T) {
	e := newEnv(t, envOptions{})
	u := e.user("auditor@example.org", vigil.RoleAuditor)
	c := e.client()
	now := time.Now()
	c.mustSignIn(u, now)
	p := c.get("/console/events")
	if p.status != 200 || !strings.Contains(p.body, "auditor@example.org") {
		t.Fatalf("events page after sign-in: %d %.300s", p.status, p.body)
	}
	if h := p.header.Get("Content-Security-Policy"); !strings.Contains(h, "script-src 'self'") || strings.Contains(h, "unsafe") {
		t.Fatalf("CSP %q", h)
	}
	for _, ck := range c.jar.Cookies(mustURL(t, e.srv.URL+"/console/")) {
		if ck.Name == "vigil_session" && len(ck.Value) < 40 {
			t.Fatalf("session id %q is too short", ck.Value)
		}
	}

	other := e.client()
	if p := other.signIn(u, now); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "was used already") {
		t.Fatalf("replayed code: %d %.300s", p.status, p.body)
	}
	wrong := u
	wrong.password = "not the password at all"
	if p := other.signIn(wrong, now.Add(30*time.Second)); p.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", p.status)
	}
	nobody := e.user("nobody@example.org", vigil.RoleAuditor)
	nobody.Email = "ghost@example.org"
	if p := other.signIn(nobody, now); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "The email, password or code is wrong.") {
		t.Fatalf("unknown account: %d", p.status)
	}
	form := other.get("/console/signin")
	if p := other.do("POST", "/console/signin", url.Values{"csrf": {csrf(t, form)}, "email": {u.Email}, "password": {u.password}, "code": {"000000"}}); p.status != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", p.status)
	}
	for range 3 {
		other.signIn(wrong, now)
	}
	if p := other.signIn(u, now.Add(60*time.Second)); p.status != http.StatusTooManyRequests {
		t.Fatalf("sign-in after 5 failures: %d, want 429", p.status)
	}
	reasons := map[string]int{}
	for _, ev := range e.events("vigil.console.signin") {
		var m struct{ Params map[string]string }
		json.Unmarshal(ev.Metadata, &m)
		if ev.Outcome == vigil.OutcomeFailure {
			reasons[m.Params["reason"]]++
		} else if ev.ActorID != u.ID || ev.ActorType != "user" {
			t.Fatalf("successful sign-in recorded as %+v", ev)
		}
	}
	// Five failures for the account (a replay, a wrong code, three wrong
	// passwords), then two attempts refused unchecked.
	want := map[string]int{"replayed_code": 1, "wrong_password": 3, "unknown_user": 1, "wrong_code": 1, "throttled": 2}
	for k, n := range want {
		if reasons[k] != n {
			t.Fatalf("failed sign-ins recorded %v, want %v", reasons, want)
		}
	}
}

// TestPageViewsAreRecorded: each page an auditor opens is in the audit
// trail with the user as actor, like the API's reads.
func TestPageViewsAreRecorded(t *testing.T) {
	e := newEnv(t, envOptions{})
	ids := e.send(`{"actor_id":"dr-a","action":"patient_record.viewed","patient_id":"pt-1","session_id":"s-1","tenant_id":"t1"}`,
		`{"actor_id":"dr-b","action":"patient_record.disclosed","action_category":"disclosure","patient_id":"pt-1","tenant_id":"t2"}`)
	e.waitCheckpoint(2)
	u := e.user("auditor@example.org", vigil.RoleAuditor)
	c := e.client()
	c.mustSignIn(u, time.Now())
	for _, path := range []string{"/console/dashboard", "/console/events?actor_id=dr-a", "/console/events/" + ids[0],
		"/console/events/" + ids[0] + "/proof.json", "/console/patients?patient_id=pt-1", "/console/sessions?session_id=s-1",
		"/console/disclosures?patient_id=pt-1", "/console/alerts", "/console/reports", "/console/ledger"} {
		p := c.get(path)
		if p.status != 200 {
			t.Fatalf("%s: %d %.400s", path, p.status, p.body)
		}
	}
	if p := c.get("/console/disclosures?patient_id=pt-1"); !strings.Contains(p.body, ids[1]) || strings.Contains(p.body, ids[0]) {
		t.Fatalf("disclosures show the wrong events: %.2000s", p.body)
	}
	wants := map[string]string{"vigil.events.query": "actor_id", "vigil.events.read": "event_id", "vigil.events.proof": "event_id",
		"vigil.alerts.query": "", "vigil.reports.listed": "", "vigil.exports.listed": "", "vigil.console.viewed": "page"}
	for action, param := range wants {
		evs := e.events(action)
		if len(evs) == 0 {
			t.Fatalf("no %s recorded", action)
		}
		found := false
		for _, ev := range evs {
			if ev.ActorID != u.ID || ev.ActorName != u.Email || ev.ActorType != "user" || ev.Outcome != vigil.OutcomeSuccess {
				t.Fatalf("%s recorded as %+v", action, ev)
			}
			found = found || param == "" || strings.Contains(string(ev.Metadata), `"`+param+`"`)
		}
		if !found {
			t.Fatalf("no %s names %s", action, param)
		}
	}
	// A lookup of an event that does not exist is recorded as a failed read.
	if p := c.get("/console/events/01900000-0000-7000-8000-000000000000"); p.status != 404 {
		t.Fatalf("missing event: %d", p.status)
	}
	evs := e.events("vigil.events.read")
	if last := evs[0]; last.Outcome != vigil.OutcomeFailure || !strings.Contains(string(last.Metadata), "not_found") {
		t.Fatalf("failed read recorded as %+v %s", last, last.Metadata)
	}
}

// TestCSRFRefused: a form without the session's token, or with another
// session's, changes nothing.
func TestCSRFRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	po := e.user("po@example.org", vigil.RolePrivacyOfficer)
	c := e.client()
	c.mustSignIn(po, time.Now())
	other := e.client()
	other.mustSignIn(e.user("po2@example.org", vigil.RolePrivacyOfficer), time.Now())
	foreign := csrf(t, other.get("/console/ledger"))
	for name, form := range map[string]url.Values{
		"no token":              {"email": {"x@example.org"}, "role": {"admin"}, "password": {testPassword}},
		"another session's one": {"csrf": {foreign}, "status": {"resolved"}},
	} {
		if p := c.do("POST", "/console/ledger/verify", form); p.status != http.StatusForbidden || !strings.Contains(p.body, "CSRF") {
			t.Fatalf("%s: %d %.300s", name, p.status, p.body)
		}
	}
	if n := len(e.events("vigil.ledger.verify")); n != 0 {
		t.Fatalf("%d verifications ran without a valid token", n)
	}
	// The same form with the right token works.
	if p := c.do("POST", "/console/ledger/verify", url.Values{"csrf": {csrf(t, c.get("/console/ledger"))}}); p.status != 200 {
		t.Fatalf("with the token: %d %.300s", p.status, p.body)
	}
	// A cross-site request is refused even with a token.
	if p := c.do("POST", "/console/ledger/verify", url.Values{"csrf": {csrf(t, c.get("/console/ledger"))}}, "Sec-Fetch-Site", "cross-site"); p.status != http.StatusForbidden {
		t.Fatalf("cross-site: %d", p.status)
	}
	// The sign-in form has its own token.
	if p := e.client().do("POST", "/console/signin", url.Values{"email": {po.Email}, "password": {po.password}, "code": {po.code(t, time.Now().Add(30*time.Second))}}); p.status != http.StatusForbidden {
		t.Fatalf("sign-in without its token: %d", p.status)
	}
}

// TestIdleLogoff: a session ends after the idle timeout without a user
// action; background polling does not extend it, page views do; the end
// is recorded; and the absolute lifetime ends it whatever the activity.
func TestIdleLogoff(t *testing.T) {
	e := newEnv(t, envOptions{idle: 15 * time.Minute})
	u := e.user("auditor@example.org", vigil.RoleAuditor)
	c := e.client()
	c.mustSignIn(u, time.Now())
	ids := e.send(`{"actor_id":"dr-a","action":"read","patient_id":"pt-1"}`)
	e.waitCheckpoint(1)
	for range 3 {
		e.clock.advance(5 * time.Minute)
		if p := c.get("/console/events"); p.status != 200 {
			t.Fatalf("page view within the timeout: %d", p.status)
		}
	}
	for range 3 {
		e.clock.advance(5*time.Minute - time.Second)
		if p := c.get("/console/events/"+ids[0]+"/proof.json", "X-Vigil-Background", "1"); p.status != 200 {
			t.Fatalf("background poll within the timeout: %d %s", p.status, p.body)
		}
	}
	e.clock.advance(4 * time.Second)
	p := c.get("/console/events")
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/signin?reason=idle" {
		t.Fatalf("after 15 idle minutes of polling: %d %q", p.status, p.header.Get("Location"))
	}
	if p := c.get("/console/signin?reason=idle"); !strings.Contains(p.body, "period of inactivity") {
		t.Fatalf("sign-in page after idle logoff: %.400s", p.body)
	}
	if p := c.get("/console/events"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/signin" {
		t.Fatalf("the session came back: %d %q", p.status, p.header.Get("Location"))
	}
	ends := e.events("vigil.console.signout")
	if len(ends) != 1 || !strings.Contains(string(ends[0].Metadata), `"reason":"idle"`) || ends[0].ActorID != u.ID {
		t.Fatalf("idle logoff recorded as %+v", ends)
	}

	c.mustSignIn(u, e.clock.now())
	var elapsed time.Duration
	for {
		e.clock.advance(15*time.Minute - time.Second)
		elapsed += 15*time.Minute - time.Second
		p := c.get("/console/events")
		if p.status == 200 {
			if elapsed > 12*time.Hour {
				t.Fatalf("the session outlived its 12 h lifetime: %v", elapsed)
			}
			continue
		}
		if elapsed < 12*time.Hour || p.header.Get("Location") != "/console/signin?reason=expired" {
			t.Fatalf("after %v of activity: %d %q", elapsed, p.status, p.header.Get("Location"))
		}
		break
	}
}

// TestConsoleRoles: auditors read, privacy officers also work alerts,
// admins administer and read no events; each refusal changes nothing.
func TestConsoleRoles(t *testing.T) {
	e := newEnv(t, envOptions{})
	if _, err := e.db.CreateRule(context.Background(), vigil.AlertRule{Workspace: "default", Name: "watch dr-x", Type: vigil.RuleWatchlist,
		Conditions: json.RawMessage(`{"actors":["dr-x"]}`), Enabled: true}); err != nil {
		t.Fatal(err)
	}
	e.send(`{"actor_id":"dr-x","action":"patient_record.viewed","patient_id":"pt-9"}`)
	if n, err := e.db.AlertEvaluator(sqliteAlertOptions()).Pass(context.Background()); err != nil || n != 1 {
		t.Fatalf("%d alerts, %v", n, err)
	}
	alerts, err := e.db.Alerts(context.Background(), vigil.AlertQuery{Workspace: "default", Limit: 10})
	if err != nil || len(alerts.Alerts) != 1 {
		t.Fatal(err)
	}
	id := alerts.Alerts[0].ID
	auditor, po, admin := e.client(), e.client(), e.client()
	auditor.mustSignIn(e.user("a@example.org", vigil.RoleAuditor), time.Now())
	po.mustSignIn(e.user("p@example.org", vigil.RolePrivacyOfficer), time.Now())
	admin.mustSignIn(e.user("ad@example.org", vigil.RoleAdmin), time.Now())

	form := func(c *client, path string, kv ...string) url.Values {
		v := url.Values{"csrf": {csrf(t, c.get(path))}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	if p := auditor.do("POST", "/console/alerts/"+id, form(auditor, "/console/alerts/"+id, "status", "resolved")); p.status != 403 {
		t.Fatalf("auditor working an alert: %d", p.status)
	}
	if p := po.do("POST", "/console/alerts/"+id, form(po, "/console/alerts/"+id, "status", "investigating", "notes", "called dr-x")); p.status != 303 {
		t.Fatalf("privacy officer working an alert: %d %.300s", p.status, p.body)
	}
	if p := po.get("/console/alerts/" + id + "?updated=1"); !strings.Contains(p.body, "called dr-x") || !strings.Contains(p.body, `id="alert-status" class="status-investigating"`) {
		t.Fatalf("alert after the update: %.1500s", p.body)
	}
	if len(e.events("vigil.alerts.updated")) != 1 {
		t.Fatal("the alert update was not recorded")
	}
	for _, path := range []string{"/console/events", "/console/dashboard", "/console/ledger", "/console/alerts"} {
		if p := admin.get(path); p.status != 403 {
			t.Fatalf("admin on %s: %d", path, p.status)
		}
	}
	for _, path := range []string{"/console/admin/keys", "/console/admin/rules", "/console/admin/users"} {
		if p := auditor.get(path); p.status != 403 {
			t.Fatalf("auditor on %s: %d", path, p.status)
		}
		if p := admin.get(path); p.status != 200 {
			t.Fatalf("admin on %s: %d %.300s", path, p.status, p.body)
		}
	}
	// Admin: a key, a rule and a user, each recorded.
	if p := admin.do("POST", "/console/admin/keys", form(admin, "/console/admin/keys", "role", "issuer", "name", "embed")); p.status != 201 || !strings.Contains(p.body, "vgl_") {
		t.Fatalf("key: %d %.300s", p.status, p.body)
	}
	if p := admin.do("POST", "/console/admin/rules", form(admin, "/console/admin/rules", "name", "nights", "rule_type", "off_hours",
		"conditions", `{"timezone":"UTC","start_hour":8,"end_hour":18,"action_pattern":"patient_record.*"}`)); p.status != 201 {
		t.Fatalf("rule: %d %s", p.status, problem(p.body))
	}
	if p := admin.do("POST", "/console/admin/rules", form(admin, "/console/admin/rules", "name", "bad", "rule_type", "off_hours",
		"conditions", `{"timezone":"Mars/Olympus"}`)); p.status != 422 || !strings.Contains(p.body, "timezone") {
		t.Fatalf("bad rule: %d %.600s", p.status, p.body)
	}
	p := admin.do("POST", "/console/admin/users", form(admin, "/console/admin/users", "email", "new@example.org", "role", "privacy_officer", "password", testPassword))
	if p.status != 201 || !strings.Contains(p.body, "otpauth://totp/Vigil:new@example.org") {
		t.Fatalf("user: %d %.600s", p.status, p.body)
	}
	for _, a := range []string{"vigil.keys.created", "vigil.alert_rules.created", "vigil.users.created"} {
		if len(e.events(a)) != 1 {
			t.Fatalf("%s not recorded", a)
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// problem is a page's error message, for failure output.
func problem(body string) string {
	if i := strings.Index(body, `role="alert">`); i >= 0 {
		rest := body[i+len(`role="alert">`):]
		if j := strings.Index(rest, "<"); j >= 0 {
			return rest[:j]
		}
	}
	if len(body) > 300 {
		return body[:300]
	}
	return body
}
