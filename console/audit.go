package console

import (
	"net/http"

	"github.com/vigilhq/vigil"
	vhttp "github.com/vigilhq/vigil/http"
)

// Actions the console records beside those it shares with the API (whose
// names it uses for the same reads: vigil.events.query, vigil.events.read,
// vigil.alerts.updated, ...).
const (
	ActionSignIn        = "vigil.console.signin"
	ActionSignOut       = "vigil.console.signout"
	ActionPageViewed    = "vigil.console.viewed"
	ActionUsersCreated  = "vigil.users.created"
	ActionUsersDisabled = "vigil.users.disabled"

	actionEventsQuery       = "vigil.events.query"
	actionEventsRead        = "vigil.events.read"
	actionEventsProof       = "vigil.events.proof"
	actionLedgerVerify      = "vigil.ledger.verify"
	actionAlertsQuery       = "vigil.alerts.query"
	actionAlertsRead        = "vigil.alerts.read"
	actionAlertsUpdated     = "vigil.alerts.updated"
	actionKeysCreated       = "vigil.keys.created"
	actionKeysRevoked       = "vigil.keys.revoked"
	actionKeysListed        = "vigil.keys.listed"
	actionRulesCreated      = "vigil.alert_rules.created"
	actionRulesEnabled      = "vigil.alert_rules.enabled"
	actionRulesDisabled     = "vigil.alert_rules.disabled"
	actionReportsCreated    = "vigil.reports.created"
	actionReportsRead       = "vigil.reports.read"
	actionReportsListed     = "vigil.reports.listed"
	actionReportsDownloaded = "vigil.reports.downloaded"
	actionExportsCreated    = "vigil.exports.created"
	actionExportsRead       = "vigil.exports.read"
	actionExportsListed     = "vigil.exports.listed"
	actionExportsDownloaded = "vigil.exports.downloaded"

	actorTypeUser   = "user"
	actorTypeViewer = "viewer_token"
)

// metaEvent is the meta-audit event of a user's request, in the API's
// shape with the user as the actor.
func (c *Console) metaEvent(r *http.Request, actorID, actorName, actorType, tenant, action string) vigil.Event {
	e := vigil.Event{ActorID: actorID, ActorName: actorName, ActorType: actorType, Action: action, Resource: "audit_log",
		TenantID: tenant, Source: "vigil", Outcome: vigil.OutcomeSuccess,
		UserAgent: vigil.Sanitize(r.UserAgent(), vigil.Line, vigil.MaxTextLength)}
	if a := vhttp.ClientAddr(r, c.cfg.TrustedProxies); a.IsValid() {
		e.IPAddress = a.String()
	}
	return e
}

// audited runs read and records it as the user's, fail-closed, exactly as
// the API records its reads.
func (c *Console) audited(r *http.Request, p *principal, action string, params map[string]string, read func() error) error {
	e := c.metaEvent(r, p.ID, p.Email, actorTypeUser, "", action)
	return vigil.RecordRead(r.Context(), c.cfg.Events, c.cfg.Workspace, e, r.URL.Path, params, read)
}

// record writes a meta-audit event of the user's action; callers record
// before acting, so an action that cannot be recorded does not happen.
func (c *Console) record(r *http.Request, p *principal, action string, params map[string]string) error {
	return c.recordAs(r, p.User, action, vigil.OutcomeSuccess, params)
}

// recordAs records an action of u (who may be only the email a sign-in
// attempt named) with its outcome.
func (c *Console) recordAs(r *http.Request, u vigil.User, action string, outcome vigil.Outcome, params map[string]string) error {
	id := u.ID
	if id == "" {
		id = vigil.Sanitize(u.Email, vigil.Identifier, vigil.MaxIDLength)
	}
	if id == "" {
		id = "unknown"
	}
	e := c.metaEvent(r, id, vigil.Sanitize(u.Email, vigil.Line, vigil.MaxTextLength), actorTypeUser, "", action)
	e.Outcome = outcome
	e.Metadata = vigil.MetaMetadata(r.URL.Path, params)
	// The server's own record (its actor name is the user's e-mail): not
	// screened by the PHI guard, which screens what clients send.
	if _, err := c.cfg.Events.Append(vigil.ServerRecord(r.Context()), c.cfg.Workspace, []vigil.Event{e}); err != nil {
		c.log.Error("recording a console action failed", "action", action, "err", err)
		return vigil.Unavailable("recording this action in the audit trail failed", err)
	}
	return nil
}
