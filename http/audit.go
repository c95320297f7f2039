package http

import (
	"net/http"

	"github.com/vigilhq/vigil"
)

// Actions of the meta-audit: reads of the audit trail, recorded in the
// workspace's own log so "who looked at the audit log" is answerable.
const (
	ActionEventsQuery  = "vigil.events.query"
	ActionEventsRead   = "vigil.events.read"
	ActionEventsProof  = "vigil.events.proof"
	ActionLedgerVerify = "vigil.ledger.verify"
	ActionLedgerLeaves = "vigil.ledger.leaves"
	ActionKeysCreated  = "vigil.keys.created"
	ActionKeysRevoked  = "vigil.keys.revoked"
	ActionKeysListed   = "vigil.keys.listed"
	metaAuditSource    = "vigil"
	metaAuditActorType = "api_key"
	metaAuditResource  = "audit_log"
)

// audited runs read and records it through the one write path, with the
// read's outcome: a lookup that found nothing or failed is recorded as a
// failed attempt (probing the trail is what this record exists to show).
// A request the store refuses as invalid read nothing and, like any bad
// input, changes nothing: it is not recorded. Nothing is returned until
// the record is durable: if it cannot be written, the read fails closed.
func (s *Server) audited(r *http.Request, k vigil.APIKey, action string, params map[string]string, read func() error) error {
	return vigil.RecordRead(r.Context(), s.store, k.Workspace, s.metaEvent(r, k, action, nil), r.URL.Path, params, read)
}

// record writes a meta-audit event for an action that is not a read
// (key administration), after it happened.
func (s *Server) record(r *http.Request, k vigil.APIKey, action string, params map[string]string) error {
	_, err := s.store.Append(vigil.ServerRecord(r.Context()), k.Workspace, []vigil.Event{s.metaEvent(r, k, action, params)})
	return err
}

func (s *Server) metaEvent(r *http.Request, k vigil.APIKey, action string, params map[string]string) vigil.Event {
	e := vigil.Event{
		ActorID:   k.ID,
		ActorName: vigil.Sanitize(k.Name, vigil.Line, vigil.MaxTextLength), // a key named before the rule stays usable
		ActorType: metaAuditActorType,
		Action:    action,
		Resource:  metaAuditResource,
		TenantID:  k.TenantID,
		Source:    metaAuditSource,
		Outcome:   vigil.OutcomeSuccess,
		UserAgent: vigil.Sanitize(r.UserAgent(), vigil.Line, vigil.MaxTextLength),
	}
	if a := s.remoteAddr(r); a.IsValid() {
		e.IPAddress, e.IPFromConnection = a.String(), true
	}
	e.Metadata = vigil.MetaMetadata(r.URL.Path, params)
	return e
}
